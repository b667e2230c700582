/** The run summary every job returns and logs: counts, rates, cost, timing. */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { RunStats } from './stats.js';

export interface RunSummary {
  run_id: string;
  version: string;
  modality: string;
  provider: string;
  model: string;
  dims: number;
  items_seen: number;
  rejected: number;
  duplicates: number;
  /** Rows kept after removing invalid characters from their text (catalog.invalidText "clean"). */
  cleaned: number;
  /** Items embedded from the first embed.maxTokensPerItem tokens of a longer prompt (embed.tooLong "truncate"). */
  truncated: number;
  /** Failures whose dead letter could not be written: each is an error line in the log instead. */
  dead_letters_unwritten: number;
  embedded: number;
  skipped_unchanged: number;
  /** Changed items whose vector was copied from another version or namespace with the same model and prompt. */
  cache_hits: number;
  /** Unchanged items whose lexical document was written without a model call (e.g. a version loaded before lexical retrieval). */
  lexical_indexed: number;
  /** The --sample share (1 = every item) and the items it left out. */
  sample: number;
  sampled_out: number;
  failed: number;
  failure_rate: number;
  alert: boolean;
  /** A dry run calls no model and writes nothing: `embedded`, `api_calls`, `tokens` and `cost_usd` are what a real run would do. */
  dry_run: boolean;
  chunks: number;
  api_calls: number;
  /** Requests retried after a transient failure, in all and by cause. */
  retries: number;
  retries_by_cause: Record<string, number>;
  tokens: number;
  /** Estimated from `tokens` and the model's price (config `prices` or the built-in table; half in batch mode); null when unknown. */
  cost_usd: number | null;
  mode: 'sync' | 'batch';
  /** Batch API mode: batches this run submitted, loaded (its own or earlier runs'), left running; items skipped because a running batch holds them. */
  batches: { submitted: number; loaded: number; pending: number; items_in_open_batches: number };
  latency_ms_mean: number;
  latency_ms_p95: number;
  wall_s: number;
  items_per_s: number;
  parquet_parts: number;
  objects_url: string;
  database: string;
}

export interface SummaryInput {
  runId: string;
  config: Config;
  provider: { name: string; model: string; dims: number };
  stats: RunStats;
  /** performance.now() at the start of the run. */
  startedAt: number;
  objectsUrl: string;
  database: string;
  dryRun?: boolean;
  cost: number | null;
}

export function summarize({ runId, config, provider, stats, startedAt, objectsUrl, database, dryRun = false, cost }: SummaryInput): RunSummary {
  const wall = (performance.now() - startedAt) / 1000;
  const failed = stats.failed + stats.rejected;
  // Items left out by --sample were not attempted: they do not dilute the failure rate.
  const attempted = stats.itemsSeen - stats.sampledOut;
  const failureRate = attempted === 0 ? 0 : failed / attempted;
  const latency = stats.latency();
  return {
    run_id: runId,
    version: config.version,
    modality: config.modality,
    provider: provider.name,
    model: provider.model,
    dims: provider.dims,
    items_seen: stats.itemsSeen,
    rejected: stats.rejected,
    duplicates: stats.duplicates,
    cleaned: stats.cleaned,
    truncated: stats.truncated,
    dead_letters_unwritten: stats.deadLettersUnwritten,
    embedded: stats.embedded,
    skipped_unchanged: stats.skippedUnchanged,
    cache_hits: stats.cacheHits,
    lexical_indexed: stats.lexicalIndexed,
    sample: config.run.sample,
    sampled_out: stats.sampledOut,
    failed: stats.failed,
    failure_rate: Math.round(failureRate * 10_000) / 10_000,
    alert: failureRate > config.run.alertFailureRate,
    dry_run: dryRun,
    chunks: stats.chunks,
    api_calls: stats.apiCalls,
    retries: stats.retryCount,
    retries_by_cause: stats.retries,
    tokens: stats.tokens,
    cost_usd: cost,
    mode: config.run.mode,
    batches: { submitted: stats.batchesSubmitted, loaded: stats.batchesLoaded, pending: stats.batchesPending, items_in_open_batches: stats.inOpenBatches },
    latency_ms_mean: latency.mean,
    latency_ms_p95: latency.p95,
    wall_s: Math.round(wall * 100) / 100,
    items_per_s: wall > 0 ? Math.round((stats.itemsSeen / wall) * 10) / 10 : 0,
    parquet_parts: stats.parquetParts,
    objects_url: objectsUrl,
    database,
  };
}

/** `run finished` at info, or the alert at error when the failure rate is above the threshold. */
export function logSummary(logger: Logger, summary: RunSummary, threshold: number): void {
  if (summary.alert) {
    logger.error({ ...summary }, `failure rate ${(summary.failure_rate * 100).toFixed(1)}% is above the ${(threshold * 100).toFixed(1)}% threshold`);
  } else {
    logger.info({ ...summary }, 'run finished');
  }
}
