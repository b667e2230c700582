/** A progress bar on a terminal (cli-progress); a structured log line every 10 s otherwise. */
import cliProgress from 'cli-progress';
import type { Logger } from '../log.js';
import type { RunProgress } from '../pipeline/run.js';

export function createProgressReporter(logger: Logger, enabled: boolean): { update(p: RunProgress): void; stop(): void } {
  const started = performance.now();
  const rate = (p: RunProgress) => Math.round(p.itemsSeen / Math.max(0.001, (performance.now() - started) / 1000));
  if (enabled && process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: ' {bar} {percentage}% | {items} items | {rate} items/s | embedded {embedded} · skipped {skipped} · failed {failed} | tokens {tokens} | ETA {eta_formatted}',
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    let startedBar = false;
    return {
      update(p) {
        const payload = { items: p.itemsSeen, rate: rate(p), embedded: p.embedded, skipped: p.skipped, failed: p.failed, tokens: p.tokens };
        if (!startedBar) {
          bar.start(p.total ?? Math.max(p.position, 1), 0, payload);
          startedBar = true;
        }
        if (p.total === null) bar.setTotal(Math.max(p.position, 1));
        bar.update(p.position, payload);
      },
      stop() {
        if (startedBar) bar.stop();
      },
    };
  }
  let last = 0;
  return {
    update(p) {
      const now = performance.now();
      if (!enabled || now - last < 10_000) return;
      last = now;
      logger.info({ items_seen: p.itemsSeen, embedded: p.embedded, skipped: p.skipped, failed: p.failed, tokens: p.tokens, items_per_s: rate(p), position: p.position, total: p.total, unit: p.unit }, 'progress');
    },
    stop() {},
  };
}
