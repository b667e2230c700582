/**
 * A distributed run's summary, from its shards' summaries (each shard job's pg-boss output).
 * Counts add up; the failure rate is recomputed from the sums, so a big clean shard and a small bad
 * one weigh what they should; the mean latency is weighted by each shard's calls.
 *
 * What it cannot see: a shard attempt that was killed left no summary. The items it loaded appear
 * as `skipped_unchanged` in the attempt that finished the shard, and its requests and tokens are not
 * counted (the provider's own usage page has them).
 */
import type { RunSummary } from '../pipeline/summary.js';

export interface DistributedSummary extends RunSummary {
  shards: number;
  /** Each shard attempt's own run id: its dead letters and Parquet parts are filed under it. */
  shard_run_ids: string[];
}

export function aggregateSummaries(runId: string, shards: RunSummary[], options: { threshold: number; wallS: number }): DistributedSummary {
  if (shards.length === 0) throw new Error('a distributed run has at least one shard');
  const sum = (pick: (s: RunSummary) => number) => shards.reduce((n, s) => n + pick(s), 0);
  const first = shards[0]!;
  const itemsSeen = sum((s) => s.items_seen);
  const sampledOut = sum((s) => s.sampled_out);
  const failed = sum((s) => s.failed);
  const rejected = sum((s) => s.rejected);
  const attempted = itemsSeen - sampledOut;
  const failureRate = attempted === 0 ? 0 : (failed + rejected) / attempted;
  const apiCalls = sum((s) => s.api_calls);
  const retriesByCause: Record<string, number> = {};
  for (const s of shards) for (const [cause, n] of Object.entries(s.retries_by_cause)) retriesByCause[cause] = (retriesByCause[cause] ?? 0) + n;
  const costs = shards.map((s) => s.cost_usd);
  return {
    ...first,
    run_id: runId,
    items_seen: itemsSeen,
    rejected,
    duplicates: sum((s) => s.duplicates),
    cleaned: sum((s) => s.cleaned ?? 0),
    truncated: sum((s) => s.truncated ?? 0),
    dead_letters_unwritten: sum((s) => s.dead_letters_unwritten ?? 0),
    embedded: sum((s) => s.embedded),
    skipped_unchanged: sum((s) => s.skipped_unchanged),
    cache_hits: sum((s) => s.cache_hits),
    lexical_indexed: sum((s) => s.lexical_indexed ?? 0),
    sampled_out: sampledOut,
    failed,
    failure_rate: Math.round(failureRate * 10_000) / 10_000,
    alert: failureRate > options.threshold,
    dry_run: false,
    chunks: sum((s) => s.chunks),
    api_calls: apiCalls,
    retries: sum((s) => s.retries),
    retries_by_cause: retriesByCause,
    tokens: sum((s) => s.tokens),
    // Unknown for one shard (a model without a price) means unknown for the run.
    cost_usd: costs.some((c) => c === null) ? null : Math.round(costs.reduce<number>((n, c) => n + (c ?? 0), 0) * 1e6) / 1e6,
    batches: {
      submitted: sum((s) => s.batches.submitted),
      loaded: sum((s) => s.batches.loaded),
      pending: sum((s) => s.batches.pending),
      items_in_open_batches: sum((s) => s.batches.items_in_open_batches),
    },
    latency_ms_mean: apiCalls === 0 ? 0 : Math.round((sum((s) => s.latency_ms_mean * s.api_calls) / apiCalls) * 10) / 10,
    // Shards keep no latency samples, only their p95: the highest is an upper bound of the run's.
    latency_ms_p95: Math.max(...shards.map((s) => s.latency_ms_p95)),
    wall_s: Math.round(options.wallS * 100) / 100,
    items_per_s: options.wallS > 0 ? Math.round((itemsSeen / options.wallS) * 10) / 10 : 0,
    parquet_parts: sum((s) => s.parquet_parts),
    shards: shards.length,
    shard_run_ids: shards.map((s) => s.run_id),
  };
}
