/**
 * Runs one async write at a time in the background, coalescing requests that arrive while it
 * runs into one more pass. The job uses it to load each finished embedding request at once (so a
 * crash re-embeds at most what was in flight) while the next requests are still on the wire.
 */
export class Flusher {
  private running: Promise<void> | null = null;
  private again = false;
  private failure: unknown;

  constructor(private readonly write: () => Promise<void>) {}

  /** Ask for a pass; returns at once. */
  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = null;
    });
  }

  /** Wait until no pass is running or asked for; rethrows the first failure of any pass. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
    if (this.failure !== undefined) throw this.failure;
  }

  /** Rethrow a failed pass without waiting for the one running. */
  check(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.write();
      } catch (err) {
        this.failure ??= err;
        return;
      }
    } while (this.again);
  }
}
