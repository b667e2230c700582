/**
 * What a distributed run does, as it travels in queue jobs: the source and the version settings,
 * never a secret. Workers take everything else (database, objects, API keys, limits) from their
 * own config, so the same job runs anywhere a worker is deployed.
 */
import path from 'node:path';
import type { CatalogSource } from '../catalog/open.js';
import { type Config, ConfigSchema } from '../config.js';
import { ConfigError } from '../errors.js';
import { SAMPLE_BUCKETS } from '../pipeline/sample.js';

/** A source every worker can open: a path on a shared volume, or a staging table. */
export type QueueSource = { kind: 'file'; path: string } | { kind: 'postgres'; url: string; table: string };

export interface RunSpec {
  source: QueueSource;
  orgId: string;
  namespace: string;
  version: string;
  modality: 'text' | 'image';
  /**
   * Pinned so every worker embeds with the same model; the version record refuses any other.
   * `storage` is absent from jobs queued before halfvec storage existed: those meant `vector`.
   */
  embed: { provider: Config['embed']['provider']; model?: string; dims?: number; storage?: Config['embed']['storage'] };
  images: { provider: Config['images']['provider']; modelDir?: string };
  sample: number;
  cache: boolean;
  createIndex: boolean;
  shards: number;
}

export interface ShardData {
  runId: string;
  index: number;
  from: number;
  to: number;
  spec: RunSpec;
}

export interface CloseData {
  runId: string;
  spec: RunSpec;
}

/**
 * The source as it may be stored in the queue: a file path made absolute (workers run elsewhere),
 * a staging URL without its password. Workers connect with PGPASSWORD or ~/.pgpass, which `pg`
 * reads when the URL has none, so the password lives in each worker's secrets, not in job rows.
 */
export function queueSource(source: CatalogSource): QueueSource {
  if (source.kind === 'file') return { kind: 'file', path: path.resolve(source.path) };
  if (source.kind === 'postgres') return { kind: 'postgres', url: withoutPassword(source.url), table: source.table };
  throw new ConfigError('a distributed run reads a catalog file or a staging table (--catalog or --source/--table)');
}

export function withoutPassword(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('--source must be a postgres:// URL');
  }
  parsed.password = '';
  parsed.searchParams.delete('password');
  return parsed.toString();
}

/** The spec of a run of `config` over `source` in `shards` shards. */
export function runSpec(config: Config, source: CatalogSource, shards = config.queue.shards): RunSpec {
  if (config.run.mode === 'batch') throw new ConfigError('distributed runs use the embeddings endpoint; run --mode batch as a one-shot `itemvec run`');
  if (!Number.isInteger(shards) || shards < 1 || shards > SAMPLE_BUCKETS) throw new ConfigError(`--shards must be an integer from 1 to ${SAMPLE_BUCKETS}`);
  return {
    source: queueSource(source),
    orgId: config.orgId,
    namespace: config.namespace,
    version: config.version,
    modality: config.modality,
    embed: { provider: config.embed.provider, model: config.embed.model, dims: config.embed.dims, storage: config.embed.storage },
    images: { provider: config.images.provider, modelDir: config.images.modelDir },
    sample: config.run.sample,
    cache: config.run.cache,
    createIndex: config.run.createIndex,
    shards,
  };
}

/**
 * The config a worker runs one job with: its own, with the spec's version settings on top,
 * validated again since job rows come from the database. Shards never build the index: the close
 * job does, once, after every shard has loaded.
 */
export function jobConfig(base: Config, spec: RunSpec, role: 'shard' | 'close'): Config {
  const merged = {
    ...base,
    orgId: spec.orgId,
    namespace: spec.namespace,
    version: spec.version,
    modality: spec.modality,
    embed: { ...base.embed, provider: spec.embed.provider, model: spec.embed.model, dims: spec.embed.dims, storage: spec.embed.storage ?? 'vector' },
    images: { ...base.images, provider: spec.images.provider, modelDir: spec.images.modelDir ?? base.images.modelDir },
    run: { ...base.run, sample: spec.sample, cache: spec.cache, createIndex: role === 'close' && spec.createIndex, mode: 'sync' as const },
  };
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(`the queued run's settings are invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

/** `n` shards covering the 10,000 stable buckets (sample.ts) in contiguous, near-equal ranges. */
export function shardRanges(n: number): Array<{ from: number; to: number }> {
  return Array.from({ length: n }, (_, i) => ({ from: Math.floor((i * SAMPLE_BUCKETS) / n), to: Math.floor(((i + 1) * SAMPLE_BUCKETS) / n) }));
}
