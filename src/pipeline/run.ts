/**
 * The job `generate_product_embeddings` (CLI: `itemvec run`):
 *   extract → keep new or changed items → render prompt, count tokens, chunk → embed → load.
 * Everything streams: rows are read in small batches, requests are bounded by the scheduler,
 * and loads are flushed every `run.loadBatchSize` items, so memory does not grow with the catalog.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CatalogItem } from '../catalog/item.js';
import { openCatalog, type CatalogSource } from '../catalog/open.js';
import type { Config } from '../config.js';
import { createProvider } from '../embed/index.js';
import type { EmbeddingProvider } from '../embed/provider.js';
import { costUsd, pricePerMillion } from '../embed/prices.js';
import { EmbedScheduler } from '../embed/scheduler.js';
import { ConfigError, errorMessage } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { openObjectStore } from '../objects/open.js';
import type { ObjectStore } from '../objects/store.js';
import { chunkText } from '../prompt/chunk.js';
import { compileTemplate } from '../prompt/template.js';
import { openDb, type Db } from '../store/db.js';
import { upsertCatalogItems, type VersionKey } from '../store/embeddings.js';
import type { FailureStage } from '../store/failures.js';
import { migrate } from '../store/migrations.js';
import { assertSameSettings, ensureVectorIndex, ensureVersion, getVersion, type VersionRecord, type VersionSpec } from '../store/versions.js';
import { findChanges, type ChangedItem } from './changes.js';
import { BatchJobs } from './batch.js';
import { DeadLetters } from './dead-letters.js';
import { groupByTenant } from './group.js';
import { Loader } from './loader.js';
import { RunStats } from './stats.js';
import { poolChunkVectors } from './vectors.js';

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
  embedded: number;
  skipped_unchanged: number;
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

export interface RunProgress {
  itemsSeen: number;
  /** Items finished one way or another: embedded, skipped as unchanged, failed or rejected. */
  done: number;
  embedded: number;
  skipped: number;
  failed: number;
  tokens: number;
  /** How far through the source the finished items are (bytes or rows, estimated), and its size when known. */
  position: number;
  total: number | null;
  unit: 'bytes' | 'rows';
}

export interface RunOptions {
  config: Config;
  source: CatalogSource;
  /** Shared resources a caller already holds; otherwise opened from the config and closed at the end. */
  db?: Db;
  provider?: EmbeddingProvider;
  objects?: ObjectStore;
  logger?: Logger;
  onProgress?: (progress: RunProgress) => void;
  /** Rows read per change-detection query. */
  readBatchSize?: number;
  /** Count what would be embedded, its tokens, requests and cost, without calling the model or writing anything. */
  dryRun?: boolean;
}

export async function runEmbeddingJob(options: RunOptions): Promise<RunSummary> {
  const { config, source } = options;
  if (config.modality !== 'text') {
    throw new ConfigError('itemvec run embeds text; the image job (modality "image") is not part of this release yet');
  }
  // Checked before any slow start-up (database, model) so a bad template fails at once.
  const render = compileTemplate(config.prompt.template);
  const logger = options.logger ?? createLogger();
  const startedAt = performance.now();
  const runId = randomUUID();
  const stats = new RunStats();
  const owned: Array<() => Promise<void>> = [];

  try {
    const dryRun = options.dryRun ?? false;
    const batchMode = config.run.mode === 'batch' && !dryRun;
    if (config.run.mode === 'batch' && config.embed.provider !== 'openai') {
      throw new ConfigError(`--mode batch needs --provider openai (the Batch API is OpenAI's); provider is ${config.embed.provider}`);
    }
    const db = options.db ?? (await openDb({ databaseUrl: config.databaseUrl, home: config.home }));
    if (!options.db) owned.push(() => db.close());
    await migrate(db);
    // A dry run only tokenizes, so it needs no API key.
    const providerOptions = { ...config.embed, apiKey: config.embed.apiKey ?? (dryRun ? 'dry-run' : undefined) };
    const provider = options.provider ?? (await createProvider(config.embed.provider, providerOptions));
    if (!options.provider) owned.push(() => provider.close());
    const price = pricePerMillion(provider.name, provider.model, config.prices);
    const objects =
      options.objects ??
      openObjectStore(config.objects.url ?? pathToFileURL(path.join(config.home, 'objects')).href, config.objects);
    logger.info(
      { run_id: runId, provider: provider.name, model: provider.model, dims: provider.dims, version: config.version, database: db.location, objects: objects.url },
      'run started',
    );

    const versions = new Map<string, VersionRecord>();
    const versionFor = async (orgId: string, namespace: string): Promise<VersionKey> => {
      const id = `${orgId}|${namespace}`;
      if (!versions.has(id)) {
        const spec: VersionSpec = {
          orgId,
          namespace,
          modality: config.modality,
          version: config.version,
          provider: provider.name,
          model: provider.model,
          dims: provider.dims,
          promptTemplate: config.prompt.template,
        };
        if (dryRun) {
          // Read-only: a version that does not exist yet simply has no vectors, so everything is new.
          const existing = await getVersion(db, spec);
          if (existing) assertSameSettings(existing, spec);
        } else {
          versions.set(id, await ensureVersion(db, spec));
        }
      }
      return { orgId, namespace, modality: config.modality, version: config.version };
    };

    const deadLetters = new DeadLetters(dryRun ? null : db, runId, logger, { orgId: config.orgId, namespace: config.namespace, modality: config.modality, version: config.version });
    const reader = openCatalog(source, { orgId: config.orgId, namespace: config.namespace });
    const report = () => {
      if (!options.onProgress) return;
      const done = stats.vectorsReady + stats.skippedUnchanged + stats.failed + stats.rejected;
      // The reader runs ahead of the model; scale its position by the share of read items that are done.
      const position = stats.itemsSeen === 0 ? 0 : Math.round(reader.position() * (done / stats.itemsSeen));
      options.onProgress({
        itemsSeen: stats.itemsSeen,
        done,
        embedded: stats.vectorsReady,
        skipped: stats.skippedUnchanged,
        failed: stats.failed + stats.rejected,
        tokens: stats.tokens,
        position,
        total: reader.total,
        unit: reader.unit,
      });
    };

    const loader = new Loader({ db, objects, runId, version: config.version, modality: config.modality, model: provider.model, batchSize: config.run.loadBatchSize, stats });
    const fail = (key: VersionKey, item: CatalogItem, stage: FailureStage, code: string, message: string) => {
      stats.failed += 1;
      deadLetters.failItem(key, item, stage, code, message);
    };
    /** An item's chunk vectors have arrived (from a request or a batch file): pool them and queue the load. */
    const deliver = (change: ChangedItem & { key: VersionKey }, tokenCounts: number[], vectors: Float32Array[]) => {
      const { item, key, metadataHash, attributesHash } = change;
      let vector: Float32Array;
      try {
        vector = poolChunkVectors(vectors, tokenCounts);
      } catch (err) {
        // A zero or non-finite vector from the model: this item fails, its neighbours do not.
        fail(key, item, 'embed', 'BAD_VECTOR', `the model returned an unusable vector: ${errorMessage(err)}`);
        return;
      }
      stats.vectorsReady += 1;
      loader.add({ item, vector, chunkVectors: vectors, chunkTokens: tokenCounts, metadataHash, attributesHash, generatedAt: new Date() });
    };
    const retryPolicy = { maxRetries: config.embed.maxRetries, baseDelayMs: config.embed.retryBaseDelayMs, maxDelayMs: config.embed.retryMaxDelayMs };
    const scheduler = new EmbedScheduler<ChangedItem & { key: VersionKey }>(dryRun ? planningProvider(provider) : provider, {
      onCall(latencyMs, tokens) {
        stats.recordCall(latencyMs);
        stats.tokens += tokens;
        report();
      },
      onRetry(error, retry, delayMs, inputs) {
        stats.recordRetry(error.code);
        logger.warn({ code: error.code, retry, delay_ms: delayMs, inputs, status: error.context.status }, `embedding request failed (${error.code}); retry ${retry} in ${delayMs} ms`);
      },
      onEmbedded(p) {
        if (dryRun) {
          stats.vectorsReady += 1;
          stats.embedded += 1;
          return;
        }
        deliver(p.item, p.chunks.map((c) => c.tokens), p.vectors as Float32Array[]);
      },
      onFailed(p, error) {
        const attempts = typeof error.context.attempt === 'number' && error.context.attempt > 1 ? ` (after ${error.context.attempt} attempts)` : '';
        fail(p.item.key, p.item.item, 'embed', error.code, `${error.message}${attempts}`);
      },
    }, provider.concurrency, retryPolicy);

    // --mode batch: the same extract, change detection and load; the embed stage goes through files.
    const batchJobs = batchMode
      ? new BatchJobs({
          db,
          objects,
          // Imported only in batch mode, like every backend (src/embed/index.ts).
          client: (await import('../embed/openai-batch.js')).createOpenAIBatchClient(providerOptions, retryPolicy),
          config,
          runId,
          provider,
          logger,
          stats,
          hooks: {
            deliver,
            fail: (change, code, message) => fail(change.key, change.item, 'embed', code, message),
            flush: async (all) => {
              await loader.flush(all);
              await deadLetters.flush();
              report();
            },
          },
        })
      : null;
    await batchJobs?.resume();

    const processBatch = async (items: CatalogItem[]) => {
      const { groups, duplicates } = groupByTenant(items, (i) => i);
      stats.duplicates += duplicates;
      for (const group of groups) {
        const key = await versionFor(group[0]!.orgId, group[0]!.namespace);
        const { changed, unchanged, attributesOnly } = await findChanges(db, key, group, render, provider);
        stats.skippedUnchanged += unchanged;
        if (!dryRun) await upsertCatalogItems(db, key.orgId, key.namespace, attributesOnly);
        for (const change of changed) {
          const chunks = chunkText(change.prompt, provider.tokenizer, provider.maxInputTokens);
          if (chunks.some((c) => c.tokens === 0)) {
            fail(key, change.item, 'transform', 'EMPTY_PROMPT', 'the rendered prompt has no tokens');
            continue;
          }
          if (batchJobs?.isPending(change.item, change.metadataHash)) {
            stats.inOpenBatches += 1;
            continue;
          }
          stats.chunks += chunks.length;
          if (batchJobs) await batchJobs.add({ ...change, key }, chunks);
          else await scheduler.add({ ...change, key }, chunks);
        }
      }
    };

    const readBatchSize = options.readBatchSize ?? 256;
    let batch: CatalogItem[] = [];
    try {
      for await (const row of reader.rows) {
        stats.itemsSeen += 1;
        if (row.ok) {
          batch.push(row.item);
        } else {
          stats.rejected += 1;
          deadLetters.rejectRow(row.rejection);
        }
        if (batch.length >= readBatchSize) {
          await processBatch(batch);
          batch = [];
          await loader.flush();
          await deadLetters.flush();
          report();
        }
      }
      if (batch.length > 0) await processBatch(batch);
      await scheduler.drain();
      await batchJobs?.finish();
    } finally {
      // Whatever happened, keep what was embedded and what failed: nothing is lost.
      await loader.flush(true);
      await deadLetters.flush();
      report();
    }

    if (config.run.createIndex && !dryRun) {
      for (const v of versions.values()) {
        if (!(await ensureVectorIndex(db, v))) logger.warn({ version: v.version, dims: v.dims }, 'vectors above 4000 dims cannot be indexed by HNSW; similarity search is exact');
      }
    }

    const wall = (performance.now() - startedAt) / 1000;
    const failed = stats.failed + stats.rejected;
    const failureRate = stats.itemsSeen === 0 ? 0 : failed / stats.itemsSeen;
    const latency = stats.latency();
    const summary: RunSummary = {
      run_id: runId,
      version: config.version,
      modality: config.modality,
      provider: provider.name,
      model: provider.model,
      dims: provider.dims,
      items_seen: stats.itemsSeen,
      rejected: stats.rejected,
      duplicates: stats.duplicates,
      embedded: stats.embedded,
      skipped_unchanged: stats.skippedUnchanged,
      failed: stats.failed,
      failure_rate: Math.round(failureRate * 10_000) / 10_000,
      alert: failureRate > config.run.alertFailureRate,
      dry_run: dryRun,
      chunks: stats.chunks,
      api_calls: stats.apiCalls,
      retries: stats.retryCount,
      retries_by_cause: stats.retries,
      tokens: stats.tokens,
      cost_usd: costUsd(stats.tokens, price, config.run.mode),
      mode: config.run.mode,
      batches: { submitted: stats.batchesSubmitted, loaded: stats.batchesLoaded, pending: stats.batchesPending, items_in_open_batches: stats.inOpenBatches },
      latency_ms_mean: latency.mean,
      latency_ms_p95: latency.p95,
      wall_s: Math.round(wall * 100) / 100,
      items_per_s: wall > 0 ? Math.round((stats.itemsSeen / wall) * 10) / 10 : 0,
      parquet_parts: stats.parquetParts,
      objects_url: objects.url,
      database: db.location,
    };
    if (summary.alert) {
      logger.error({ ...summary }, `failure rate ${(failureRate * 100).toFixed(1)}% is above the ${(config.run.alertFailureRate * 100).toFixed(1)}% threshold`);
    } else {
      logger.info({ ...summary }, 'run finished');
    }
    return summary;
  } finally {
    for (const close of owned.reverse()) await close().catch((err) => logger.warn({ err: errorMessage(err) }, 'close failed'));
  }
}

/**
 * For --dry-run: the real provider's name, limits and tokenizer, but an `embed` that answers
 * with empty vectors and the token count it would bill, so the scheduler packs exactly as a real
 * run would (and counts its requests) without sending anything.
 */
function planningProvider(provider: EmbeddingProvider): EmbeddingProvider {
  return {
    ...provider,
    embed: async (texts, options) => ({
      vectors: texts.map(() => new Float32Array(0)),
      tokens: options?.tokens ?? texts.reduce((n, t) => n + provider.tokenizer.encode(t).length, 0),
    }),
    close: async () => {},
  };
}
