import type { CatalogReader } from '../catalog/reader.js';
import type { RunCounts } from './meter.js';

export interface RunProgress {
  itemsSeen: number;
  /** Items finished one way or another: embedded, skipped as unchanged, failed or rejected. */
  done: number;
  embedded: number;
  skipped: number;
  failed: number;
  tokens: number;
  /** What the tokens so far cost (null: the model's price is unknown). */
  costUsd: number | null;
  /** How far through the source the finished items are (bytes or rows, estimated), and its size when known. */
  position: number;
  total: number | null;
  unit: 'bytes' | 'rows';
}

/** Per-run counters and request latencies. */
export class RunStats {
  itemsSeen = 0;
  rejected = 0;
  duplicates = 0;
  /** Rows kept after removing invalid characters from their text (catalog.invalidText "clean"). */
  cleaned = 0;
  /** Items whose prompt was cut to embed.maxTokensPerItem tokens (embed.tooLong "truncate"). */
  truncated = 0;
  /** Failures whose dead-letter row could not be written (logged instead). */
  deadLettersUnwritten = 0;
  /** Items loaded into Postgres. */
  embedded = 0;
  /** Items whose vectors have arrived (loaded or waiting in the load buffer): what progress counts. */
  vectorsReady = 0;
  skippedUnchanged = 0;
  /** Changed items whose vector was copied from the content cache instead of embedded. */
  cacheHits = 0;
  /** Unchanged items whose lexical document was missing or stale and was written without a model call. */
  lexicalIndexed = 0;
  /** Items outside the --sample share. */
  sampledOut = 0;
  failed = 0;
  chunks = 0;
  apiCalls = 0;
  tokens = 0;
  parquetParts = 0;
  /** Batch API mode: batches submitted by this run, loaded by it (its own or earlier runs'), still running. */
  batchesSubmitted = 0;
  batchesLoaded = 0;
  batchesPending = 0;
  /** Changed items not submitted because an unfinished batch already holds them. */
  inOpenBatches = 0;
  /** Retried requests, by the error that caused the retry (RATE_LIMITED, UNAVAILABLE, TIMEOUT…). */
  readonly retries: Record<string, number> = {};
  private readonly latencies: number[] = [];

  recordRetry(code: string): void {
    this.retries[code] = (this.retries[code] ?? 0) + 1;
  }

  get retryCount(): number {
    return Object.values(this.retries).reduce((a, b) => a + b, 0);
  }

  recordCall(ms: number): void {
    this.apiCalls += 1;
    this.latencies.push(ms);
  }

  latency(): { mean: number; p95: number } {
    if (this.latencies.length === 0) return { mean: 0, p95: 0 };
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const mean = sorted.reduce((s, x) => s + x, 0) / sorted.length;
    const p95 = sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)] ?? 0;
    return { mean: Math.round(mean * 10) / 10, p95: Math.round(p95 * 10) / 10 };
  }

  /** Cumulative counts for a metrics sink (RunOptions.metrics). */
  counts(costUsd: number | null): RunCounts {
    return {
      embedded: this.embedded,
      skipped: this.skippedUnchanged,
      cacheHits: this.cacheHits,
      failed: this.failed,
      rejected: this.rejected,
      sampledOut: this.sampledOut,
      tokens: this.tokens,
      costUsd,
    };
  }

  /** Where the run stands, for a progress bar. */
  progress(reader: Pick<CatalogReader, 'position' | 'total' | 'unit'>, costUsd: number | null): RunProgress {
    const done = this.vectorsReady + this.skippedUnchanged + this.cacheHits + this.sampledOut + this.failed + this.rejected;
    // The reader runs ahead of the model; scale its position by the share of read items that are done.
    const position = this.itemsSeen === 0 ? 0 : Math.round(reader.position() * (done / this.itemsSeen));
    return {
      itemsSeen: this.itemsSeen,
      done,
      embedded: this.vectorsReady,
      skipped: this.skippedUnchanged,
      failed: this.failed + this.rejected,
      tokens: this.tokens,
      costUsd,
      position,
      total: reader.total,
      unit: reader.unit,
    };
  }
}
