/** A progress bar on a terminal (cli-progress); a structured log line every 10 s otherwise. */
import cliProgress from 'cli-progress';
import type { Logger } from '../log.js';
import type { RunProgress } from '../pipeline/run.js';

export function createProgressReporter(logger: Logger, enabled: boolean): { update(p: RunProgress): void; stop(): void } {
  const started = performance.now();
  const rate = (p: RunProgress) => Math.round(p.done / Math.max(0.001, (performance.now() - started) / 1000));
  const payload = (p: RunProgress) => ({ items: p.done, rate: rate(p), embedded: p.embedded, skipped: p.skipped, failed: p.failed, tokens: p.tokens });
  if (enabled && process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: ' {bar} {percentage}% | {items} items | {rate} items/s | embedded {embedded} · skipped {skipped} · failed {failed} | tokens {tokens} | ETA {eta_formatted}',
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 50,
        // The model keeps the event loop busy, so the bar redraws on updates rather than on its timer.
        forceRedraw: true,
      },
      cliProgress.Presets.shades_classic,
    );
    let running = false;
    return {
      update(p) {
        // Unknown size (a stream of rows): the bar tracks items, growing its total as they come.
        const total = p.total ?? p.itemsSeen + 1;
        const value = p.total === null ? p.done : p.position;
        if (!running) {
          bar.start(total, value, payload(p));
          running = true;
        }
        bar.setTotal(total);
        bar.update(value, payload(p));
        bar.render();
      },
      stop() {
        if (running) bar.stop();
      },
    };
  }
  let last = 0;
  return {
    update(p) {
      const now = performance.now();
      if (!enabled || now - last < 10_000) return;
      last = now;
      logger.info({ ...payload(p), items_seen: p.itemsSeen, position: p.position, total: p.total, unit: p.unit }, 'progress');
    },
    stop() {},
  };
}
