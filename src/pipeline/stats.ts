/** Per-run counters and request latencies. */
export class RunStats {
  itemsSeen = 0;
  rejected = 0;
  duplicates = 0;
  /** Items loaded into Postgres. */
  embedded = 0;
  /** Items whose vectors have arrived (loaded or waiting in the load buffer): what progress counts. */
  vectorsReady = 0;
  skippedUnchanged = 0;
  /** Changed items whose vector was copied from the content cache instead of embedded. */
  cacheHits = 0;
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
}
