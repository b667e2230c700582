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
import { ensureVectorIndex, ensureVersion, type VersionRecord } from '../store/versions.js';
import { findChanges, type ChangedItem } from './changes.js';
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
  chunks: number;
  api_calls: number;
  tokens: number;
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
    const db = options.db ?? (await openDb({ databaseUrl: config.databaseUrl, home: config.home }));
    if (!options.db) owned.push(() => db.close());
    await migrate(db);
    const provider = options.provider ?? (await createProvider(config.embed.provider, { ...config.embed }));
    if (!options.provider) owned.push(() => provider.close());
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
        versions.set(
          id,
          await ensureVersion(db, {
            orgId,
            namespace,
            modality: config.modality,
            version: config.version,
            provider: provider.name,
            model: provider.model,
            dims: provider.dims,
            promptTemplate: config.prompt.template,
          }),
        );
      }
      return { orgId, namespace, modality: config.modality, version: config.version };
    };

    const deadLetters = new DeadLetters(db, runId, logger, { orgId: config.orgId, namespace: config.namespace, modality: config.modality, version: config.version });
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
    const scheduler = new EmbedScheduler<ChangedItem & { key: VersionKey }>(provider, {
      onCall(latencyMs, tokens) {
        stats.recordCall(latencyMs);
        stats.tokens += tokens;
        report();
      },
      onEmbedded(p) {
        const { item, key, metadataHash, attributesHash } = p.item;
        const tokenCounts = p.chunks.map((c) => c.tokens);
        const vectors = p.vectors as Float32Array[];
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
      },
      onFailed(p, error) {
        fail(p.item.key, p.item.item, 'embed', error.code, error.message);
      },
    });

    const processBatch = async (items: CatalogItem[]) => {
      const { groups, duplicates } = groupByTenant(items, (i) => i);
      stats.duplicates += duplicates;
      for (const group of groups) {
        const key = await versionFor(group[0]!.orgId, group[0]!.namespace);
        const { changed, unchanged, attributesOnly } = await findChanges(db, key, group, render, provider);
        stats.skippedUnchanged += unchanged;
        await upsertCatalogItems(db, key.orgId, key.namespace, attributesOnly);
        for (const change of changed) {
          const chunks = chunkText(change.prompt, provider.tokenizer, provider.maxInputTokens);
          if (chunks.some((c) => c.tokens === 0)) {
            fail(key, change.item, 'transform', 'EMPTY_PROMPT', 'the rendered prompt has no tokens');
            continue;
          }
          stats.chunks += chunks.length;
          await scheduler.add({ ...change, key }, chunks);
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
    } finally {
      // Whatever happened, keep what was embedded and what failed: nothing is lost.
      await loader.flush(true);
      await deadLetters.flush();
      report();
    }

    if (config.run.createIndex) {
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
      chunks: stats.chunks,
      api_calls: stats.apiCalls,
      tokens: stats.tokens,
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
