/**
 * The one Prometheus registry of the process (prom-client). The HTTP service exposes it at
 * /metrics; the embedding worker registers its own metrics here too, so one scrape sees both.
 * Metric names start with `itemvec_`; labels never carry item ids, org ids or keys, which would
 * explode the series count (and, for keys, leak a secret).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Pushgateway, Registry } from 'prom-client';
import type { RunCounts, RunMetrics } from './pipeline/meter.js';

export const registry = new Registry();

let processMetrics = false;
/** Process metrics (CPU, memory, event-loop lag, GC), once per process. */
export function collectProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  collectDefaultMetrics({ register: registry, prefix: 'itemvec_' });
}

/** `route` is the route pattern (`/v1/namespaces/:ns/items/:id/similar`), never the raw URL. */
export const httpRequestDuration = new Histogram({
  name: 'itemvec_http_request_duration_seconds',
  help: 'HTTP request duration, from the request arriving to the response being sent.',
  labelNames: ['method', 'route', 'status_code'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

export const httpRequests = new Counter({
  name: 'itemvec_http_requests_total',
  help: 'HTTP requests answered, by route pattern and status code.',
  labelNames: ['method', 'route', 'status_code'] as const,
  registers: [registry],
});

export const authFailures = new Counter({
  name: 'itemvec_http_auth_failures_total',
  help: 'Requests refused for a missing or unknown API key.',
  labelNames: ['reason'] as const,
  registers: [registry],
});

export const retrievalCandidates = new Counter({
  name: 'itemvec_retrieval_candidates_total',
  help: 'Candidates returned, by the signals whose lists held them (e.g. dense+lexical).',
  labelNames: ['operation', 'signals'] as const,
  registers: [registry],
});

export const retrievalRequests = new Counter({
  name: 'itemvec_retrieval_requests_total',
  help: 'Retrievals answered, by operation and mode (fused, dense, lexical, tags).',
  labelNames: ['operation', 'mode'] as const,
  registers: [registry],
});

// ---- The embedding job (`itemvec run`, the shards of `itemvec worker`) ---------------------------

export const embedItems = new Counter({
  name: 'itemvec_embed_items_total',
  help: 'Catalog items finished by embedding runs, by outcome: embedded, skipped (unchanged), cache_hit, failed, rejected, sampled_out.',
  labelNames: ['modality', 'outcome'] as const,
  registers: [registry],
});

export const embedFailures = new Counter({
  name: 'itemvec_embed_failures_total',
  help: 'Items and rows that could not be embedded (dead letters), by stage and error code.',
  labelNames: ['modality', 'stage', 'code'] as const,
  registers: [registry],
});

export const embedTokens = new Counter({
  name: 'itemvec_embed_tokens_total',
  help: 'Tokens billed by the embedding provider.',
  labelNames: ['modality'] as const,
  registers: [registry],
});

export const embedCost = new Counter({
  name: 'itemvec_embed_cost_usd_total',
  help: 'Estimated embedding cost in USD (tokens × the model price; models without a known price add nothing).',
  labelNames: ['modality'] as const,
  registers: [registry],
});

export const embedRequestDuration = new Histogram({
  name: 'itemvec_embed_request_duration_seconds',
  help: 'Latency of one embedding request (or image model call), successful or not, retries counted separately.',
  labelNames: ['modality'] as const,
  buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [registry],
});

export const embedRequestInputs = new Histogram({
  name: 'itemvec_embed_request_inputs',
  help: 'Inputs per embedding request (the batch size; OpenAI allows up to 2,048).',
  labelNames: ['modality'] as const,
  buckets: [1, 4, 16, 64, 128, 256, 512, 1024, 2048],
  registers: [registry],
});

export const embedRetries = new Counter({
  name: 'itemvec_embed_retries_total',
  help: 'Embedding requests retried after a transient failure, by error code (RATE_LIMITED, UNAVAILABLE, TIMEOUT…).',
  labelNames: ['modality', 'code'] as const,
  registers: [registry],
});

export const embedRuns = new Counter({
  name: 'itemvec_embed_runs_total',
  help: 'Runs finished, by status: succeeded, alert (finished above the failure-rate threshold), failed.',
  labelNames: ['modality', 'status'] as const,
  registers: [registry],
});

export const embedRunFailureRate = new Gauge({
  name: 'itemvec_embed_run_failure_rate',
  help: 'Failure rate of the last run finished by this process (failed + rejected over items attempted).',
  labelNames: ['modality'] as const,
  registers: [registry],
});

export const embedRunLastFinished = new Gauge({
  name: 'itemvec_embed_run_last_finished_timestamp_seconds',
  help: 'When the last run finished by this process ended, by status (alert when a run stops arriving).',
  labelNames: ['modality', 'status'] as const,
  registers: [registry],
});

export const queueJobs = new Counter({
  name: 'itemvec_queue_jobs_total',
  help: 'Jobs of the distributed mode handled by this worker, by queue and outcome (completed, failed, dead_letter).',
  labelNames: ['queue', 'outcome'] as const,
  registers: [registry],
});

const OUTCOMES: Array<[keyof RunCounts, string]> = [
  ['embedded', 'embedded'],
  ['skipped', 'skipped'],
  ['cacheHits', 'cache_hit'],
  ['failed', 'failed'],
  ['rejected', 'rejected'],
  ['sampledOut', 'sampled_out'],
];

/** The Prometheus sink of one run (RunOptions.metrics): adds to the process's counters as the run goes. */
export function runMetrics(modality: string): RunMetrics {
  let last: RunCounts = { embedded: 0, skipped: 0, cacheHits: 0, failed: 0, rejected: 0, sampledOut: 0, tokens: 0, costUsd: 0 };
  const grew = (now: number | null, before: number | null) => Math.max(0, (now ?? 0) - (before ?? 0));
  return {
    request(latencyMs, inputs) {
      embedRequestDuration.observe({ modality }, latencyMs / 1000);
      embedRequestInputs.observe({ modality }, inputs);
    },
    retry(code) {
      embedRetries.inc({ modality, code });
    },
    failure(stage, code) {
      embedFailures.inc({ modality, stage, code });
    },
    progress(counts) {
      for (const [key, outcome] of OUTCOMES) {
        const n = grew(counts[key], last[key]);
        if (n > 0) embedItems.inc({ modality, outcome }, n);
      }
      const tokens = grew(counts.tokens, last.tokens);
      if (tokens > 0) embedTokens.inc({ modality }, tokens);
      const cost = grew(counts.costUsd, last.costUsd);
      if (cost > 0) embedCost.inc({ modality }, cost);
      last = { ...counts };
    },
  };
}

/** A run (one-shot, or the close of a distributed one) is over; `failureRate` is null for a run that failed. */
export function recordRunEnd(modality: string, status: 'succeeded' | 'alert' | 'failed', failureRate: number | null): void {
  embedRuns.inc({ modality, status });
  embedRunLastFinished.set({ modality, status }, Date.now() / 1000);
  if (failureRate !== null) embedRunFailureRate.set({ modality }, failureRate);
}

/**
 * Push the registry to a Prometheus Pushgateway (a one-shot `itemvec run`, which ends before any
 * scrape). PUT replaces the group's metrics, so each push is one run's totals; the group is the
 * namespace, version and modality, so runs of different versions do not overwrite each other.
 */
export async function pushMetrics(url: string, group: { namespace: string; version: string; modality: string }, timeoutMs = 10_000): Promise<void> {
  await new Pushgateway(url, { timeout: timeoutMs }, registry).push({ jobName: 'itemvec_run', groupings: group });
}
