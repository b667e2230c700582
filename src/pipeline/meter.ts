/**
 * What a run tells a metrics backend while it goes (RunOptions.metrics). The pipeline only calls
 * this interface; src/metrics.ts implements it with Prometheus counters and histograms, and a
 * library user can plug in another backend. Counts are cumulative for the run, so a sink adds what
 * grew since its last call and a repeated call adds nothing.
 */
export interface RunCounts {
  /** Items loaded into Postgres. */
  embedded: number;
  skipped: number;
  cacheHits: number;
  failed: number;
  rejected: number;
  sampledOut: number;
  tokens: number;
  /** null when the model's price is unknown. */
  costUsd: number | null;
}

export interface RunMetrics {
  /** One embedding request (or image model call), successful or not: its latency and the inputs it carried. */
  request(latencyMs: number, inputs: number): void;
  /** A request is retried after a transient failure with this error code. */
  retry(code: string): void;
  /** One item or row could not be embedded (a dead letter). */
  failure(stage: string, code: string): void;
  progress(counts: RunCounts): void;
}
