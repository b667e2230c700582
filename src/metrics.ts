/**
 * The one Prometheus registry of the process (prom-client). The HTTP service exposes it at
 * /metrics; the embedding worker registers its own metrics here too, so one scrape sees both.
 * Metric names start with `itemvec_`; labels never carry item ids, org ids or keys, which would
 * explode the series count (and, for keys, leak a secret).
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

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
  help: 'Candidates returned, by where they came from (embedding, tags, blend).',
  labelNames: ['operation', 'source'] as const,
  registers: [registry],
});

export const retrievalRequests = new Counter({
  name: 'itemvec_retrieval_requests_total',
  help: 'Retrievals answered, by operation and mode (blend, fill, embedding).',
  labelNames: ['operation', 'mode'] as const,
  registers: [registry],
});
