/**
 * A progress bar on a terminal (cli-progress: items/s, ETA, tokens, cost); otherwise — a scheduler,
 * a container log — a structured log line every `intervalSeconds` (config run.progressIntervalSeconds,
 * ITEMVEC_PROGRESS_INTERVAL; default 10).
 */
import cliProgress from 'cli-progress';
import type { Logger } from '../log.js';
import type { RunProgress } from '../pipeline/run.js';

export interface ProgressOptions {
  intervalSeconds?: number;
  /** Draw a bar (default: when stderr is a terminal). */
  tty?: boolean;
}

export function createProgressReporter(logger: Logger, enabled: boolean, options: ProgressOptions = {}): { update(p: RunProgress): void; stop(): void } {
  const started = performance.now();
  const intervalMs = (options.intervalSeconds ?? 10) * 1000;
  const rate = (p: RunProgress) => Math.round(p.done / Math.max(0.001, (performance.now() - started) / 1000));
  const payload = (p: RunProgress) => ({
    items: p.done,
    rate: rate(p),
    embedded: p.embedded,
    skipped: p.skipped,
    failed: p.failed,
    tokens: p.tokens,
    cost_usd: p.costUsd,
  });
  if (enabled && (options.tty ?? process.stderr.isTTY)) {
    const bar = new cliProgress.SingleBar(
      {
        format:
          ' {bar} {percentage}% | {items} items | {rate} items/s | embedded {embedded} · skipped {skipped} · failed {failed} | tokens {tokens} · {cost} | ETA {eta_formatted}',
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
        // An unknown price shows as "$?" rather than a made-up $0.
        const fields = { ...payload(p), cost: p.costUsd === null ? '$?' : `$${p.costUsd.toFixed(4)}` };
        if (!running) {
          bar.start(total, value, fields);
          running = true;
        }
        bar.setTotal(total);
        bar.update(value, fields);
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
      if (!enabled || now - last < intervalMs) return;
      last = now;
      const elapsedS = (now - started) / 1000;
      const etaS = p.total !== null && p.position > 0 ? Math.round(((p.total - p.position) * elapsedS) / p.position) : null;
      logger.info({ ...payload(p), items_seen: p.itemsSeen, position: p.position, total: p.total, unit: p.unit, eta_s: etaS }, 'progress');
    },
    stop() {},
  };
}
