/**
 * The job `generate_product_embeddings` (CLI: `itemvec run`):
 *   extract → keep new or changed items → render prompt, count tokens, chunk → embed → load.
 * Everything streams: rows are read in small batches, requests are bounded by the scheduler, and
 * each finished request is loaded at once (in slices of `run.loadBatchSize`), so memory does not
 * grow with the catalog and a crash costs at most the requests in flight.
 */
import { randomUUID } from 'node:crypto';
import type { CatalogItem } from '../catalog/item.js';
import { openCatalog, type CatalogSource } from '../catalog/open.js';
import type { Config } from '../config.js';
import { createProvider } from '../embed/index.js';
import type { EmbeddingProvider } from '../embed/provider.js';
import { costUsd, pricePerMillion } from '../embed/prices.js';
import { EmbedScheduler } from '../embed/scheduler.js';
import { ConfigError, errorMessage } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { openConfiguredObjectStore } from '../objects/open.js';
import type { ObjectStore } from '../objects/store.js';
import { chunkText } from '../prompt/chunk.js';
import { compileTemplate } from '../prompt/template.js';
import { openConfiguredDb, type Db } from '../store/db.js';
import { finishRun, heartbeat, markInterrupted, startRun } from '../store/runs.js';
import { reusableHashes, reuseVectors, upsertCatalogItems, type VersionKey } from '../store/embeddings.js';
import { clearFailures, type FailureStage } from '../store/failures.js';
import { writeLexicalDocuments } from '../store/lexical.js';
import { migrate } from '../store/migrations.js';
import { assertSameSettings, ensureVersion, getVersion, type VersionRecord, type VersionSpec } from '../store/versions.js';
import { findChanges, staleAttributes, type ChangedItem } from './changes.js';
import { afterLoad } from './after-load.js';
import { BatchJobs } from './batch.js';
import { DeadLetters } from './dead-letters.js';
import { Flusher } from './flusher.js';
import { groupByTenant } from './group.js';
import { Loader, type LexicalIndexing } from './loader.js';
import { itemBatches } from './read.js';
import { SAMPLE_BUCKETS, inSample } from './sample.js';
import { RunStats, type RunProgress } from './stats.js';
import { logSummary, summarize, type RunSummary } from './summary.js';
import { poolChunkVectors } from './vectors.js';
import type { RunMetrics } from './meter.js';

export type { RunSummary } from './summary.js';

export type { RunProgress } from './stats.js';

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
  /**
   * A shard of a distributed run: only items whose stable bucket (sample.ts, 0–9,999) is in
   * [from, to) are this run's; rows that cannot be parsed belong to the shard starting at 0.
   */
  shard?: { from: number; to: number };
  /** Write this run's row in `embedding_runs` (default true); an orchestrator that records the whole run itself passes false. */
  recordRun?: boolean;
  /** How the run was started, for its record: `cli` (default), `schedule`, `worker`… */
  trigger?: string;
  /** Where counts, failures and request latencies go as the run goes (src/metrics.ts: Prometheus); not fed by a dry run. */
  metrics?: RunMetrics;
}

/** How often a running job touches its run record, and after how long without it a run counts as dead. */
const RUN_HEARTBEAT_MS = 10_000;
const RUN_STALE_AFTER_MS = 60_000;

export async function runEmbeddingJob(options: RunOptions): Promise<RunSummary> {
  const { config, source, shard } = options;
  if (shard && !(Number.isInteger(shard.from) && Number.isInteger(shard.to) && shard.from >= 0 && shard.from < shard.to && shard.to <= SAMPLE_BUCKETS)) {
    throw new ConfigError(`a shard is a bucket range [from, to) within 0–${SAMPLE_BUCKETS}, got [${shard.from}, ${shard.to})`);
  }
  // Imported only for image runs, so a text run never loads sharp, TF.js for images or the fetcher.
  if (config.modality === 'image') return (await import('./image-job.js')).runImageJob(options);
  // Checked before any slow start-up (database, model) so a bad template fails at once.
  const template = compileTemplate(config.prompt.template);
  const logger = options.logger ?? createLogger();
  const startedAt = performance.now();
  const runId = randomUUID();
  const stats = new RunStats();
  const owned: Array<() => Promise<void>> = [];
  /** The database holding this run's `embedding_runs` row, once written. */
  let runRecord: Db | undefined;

  try {
    const dryRun = options.dryRun ?? false;
    const batchMode = config.run.mode === 'batch' && !dryRun;
    if (config.run.mode === 'batch' && config.embed.provider !== 'openai') {
      throw new ConfigError(`--mode batch needs --provider openai (the Batch API is OpenAI's); provider is ${config.embed.provider}`);
    }
    const db = options.db ?? (await openConfiguredDb(config));
    if (!options.db) owned.push(() => db.close());
    await migrate(db);
    // A dry run only tokenizes, so it needs no API key.
    const providerOptions = { ...config.embed, apiKey: config.embed.apiKey ?? (dryRun ? 'dry-run' : undefined) };
    const provider = options.provider ?? (await createProvider(config.embed.provider, providerOptions));
    if (!options.provider) owned.push(() => provider.close());
    const price = pricePerMillion(provider.name, provider.model, config.prices);
    const objects = options.objects ?? openConfiguredObjectStore(config);
    logger.info(
      { run_id: runId, provider: provider.name, model: provider.model, dims: provider.dims, version: config.version, database: db.location, objects: objects.url },
      'run started',
    );
    if (!dryRun && options.recordRun !== false) {
      // A previous run of this version that was killed: its loads are kept (each one was a
      // transaction), change detection skips what it loaded, and only the rest is embedded again.
      const interrupted = await markInterrupted(db, { version: config.version, modality: config.modality }, RUN_STALE_AFTER_MS);
      for (const r of interrupted) logger.warn({ interrupted_run: r.run_id, started_at: r.started_at }, 'resuming after an interrupted run: what it loaded is kept');
      await startRun(db, { runId, job: 'embed-text', trigger: options.trigger, namespace: config.namespace, version: config.version, modality: config.modality, sample: config.run.sample }, interrupted[0]?.run_id ?? null);
      runRecord = db;
      const beat = setInterval(() => {
        void heartbeat(db, runId, { items_seen: stats.itemsSeen, embedded: stats.embedded, failed: stats.failed + stats.rejected }).catch(() => {});
      }, RUN_HEARTBEAT_MS);
      beat.unref();
      owned.push(async () => clearInterval(beat));
    }

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
          textSearchConfig: config.prompt.textSearchConfig,
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
    const reader = openCatalog(source, { orgId: config.orgId, namespace: config.namespace, invalidText: config.catalog.invalidText });
    const metrics = dryRun ? undefined : options.metrics;
    const report = () => {
      const cost = costUsd(stats.tokens, price, config.run.mode);
      metrics?.progress(stats.counts(cost));
      options.onProgress?.(stats.progress(reader, cost));
    };

    const lexical: LexicalIndexing = {
      textSearchConfig: config.prompt.textSearchConfig,
      documents: (items) => items.map((c) => ({ itemId: c.item.itemId, text: template.lexicalText(c.item), metadataHash: c.metadataHash })),
    };
    const loader = new Loader({ db, objects, runId, version: config.version, modality: config.modality, model: provider.model, batchSize: config.run.loadBatchSize, stats, lexical });
    const fail = (key: VersionKey, item: CatalogItem, stage: FailureStage, code: string, message: string) => {
      stats.failed += 1;
      metrics?.failure(stage, code);
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
    // Each finished request is loaded at once, in the background, one load at a time: a crash then
    // re-embeds at most the requests in flight, and loading overlaps the requests still on the wire.
    const loads = new Flusher(async () => {
      await loader.flush(true);
      await deadLetters.flush();
      report();
    });
    const retryPolicy = { maxRetries: config.embed.maxRetries, baseDelayMs: config.embed.retryBaseDelayMs, maxDelayMs: config.embed.retryMaxDelayMs };
    const scheduler = new EmbedScheduler<ChangedItem & { key: VersionKey }>(dryRun ? planningProvider(provider) : provider, {
      onCall(latencyMs, tokens, inputs) {
        stats.recordCall(latencyMs);
        metrics?.request(latencyMs, inputs);
        stats.tokens += tokens;
        report();
      },
      onRequestDone: () => loads.kick(),
      onRetry(error, retry, delayMs, inputs) {
        stats.recordRetry(error.code);
        metrics?.retry(error.code);
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
            flush: async () => {
              loads.kick();
              await loads.idle();
            },
          },
        })
      : null;
    await batchJobs?.resume();

    /**
     * The content cache: changed items whose exact prompt this model already embedded anywhere in
     * the org (another version, another namespace) get that vector copied instead of a model call.
     */
    const fromCache = async (key: VersionKey, changed: ChangedItem[]): Promise<ChangedItem[]> => {
      const candidates = changed.filter((c) => !c.forced);
      if (!config.run.cache || candidates.length === 0) return changed;
      // One read first: a cold run of a new model finds nothing and pays one query, not a transaction.
      const hashes = await reusableHashes(db, key, candidates.map((c) => c.metadataHash));
      const reusable = candidates.filter((c) => hashes.has(c.metadataHash));
      let hits: Set<string>;
      if (dryRun || reusable.length === 0) {
        hits = new Set(reusable.map((c) => c.item.itemId));
      } else {
        hits = await db.transaction(async (tx) => {
          const ids = new Set(await reuseVectors(tx, key, reusable.map((c) => ({ itemId: c.item.itemId, metadataHash: c.metadataHash, metadataVersion: c.item.metadataVersion }))));
          const served = reusable.filter((c) => ids.has(c.item.itemId));
          await upsertCatalogItems(tx, key.orgId, key.namespace, served.map((c) => ({ item: c.item, attributesHash: c.attributesHash })));
          await clearFailures(tx, key, [...ids]);
          await writeLexicalDocuments(tx, key, lexical.textSearchConfig, lexical.documents(served));
          return ids;
        });
      }
      stats.cacheHits += hits.size;
      return hits.size === 0 ? changed : changed.filter((c) => !hits.has(c.item.itemId));
    };

    const processBatch = async (items: CatalogItem[]) => {
      const { groups, duplicates } = groupByTenant(items, (i) => i);
      stats.duplicates += duplicates;
      for (const all of groups) {
        const key = await versionFor(all[0]!.orgId, all[0]!.namespace);
        // Staged rollout: only items whose stable bucket falls in the sample are embedded; the
        // others still update catalog_items, so coverage is measured against the whole catalog.
        const group = config.run.sample < 1 ? all.filter((i) => inSample(i.orgId, i.itemId, config.run.sample)) : all;
        if (group.length < all.length) {
          const outside = all.filter((i) => !inSample(i.orgId, i.itemId, config.run.sample));
          stats.sampledOut += outside.length;
          if (!dryRun) await upsertCatalogItems(db, key.orgId, key.namespace, await staleAttributes(db, key, outside));
          if (group.length === 0) continue;
        }
        const detected = await findChanges(db, key, group, template, provider);
        stats.skippedUnchanged += detected.unchanged;
        if (!dryRun) {
          await upsertCatalogItems(db, key.orgId, key.namespace, detected.attributesOnly);
          if (detected.lexicalOnly.length > 0) {
            await db.transaction((tx) => writeLexicalDocuments(tx, key, lexical.textSearchConfig, lexical.documents(detected.lexicalOnly)));
            stats.lexicalIndexed += detected.lexicalOnly.length;
          }
        }
        // An item with no text would be embedded as the template's own words, the same vector for all of them.
        const empty = detected.changed.filter((c) => template.isEmpty(c.item));
        for (const c of empty) fail(key, c.item, 'transform', 'EMPTY_TEXT', `no text to embed: every field the prompt template uses is empty (${template.contentFields.map((f) => `{${f}}`).join(' ')})`);
        const changed = await fromCache(key, empty.length ? detected.changed.filter((c) => !template.isEmpty(c.item)) : detected.changed);
        for (const change of changed) {
          let chunks = chunkText(change.prompt, provider.tokenizer, provider.maxInputTokens);
          if (chunks.some((c) => c.tokens === 0)) {
            fail(key, change.item, 'transform', 'EMPTY_PROMPT', 'the rendered prompt has no tokens');
            continue;
          }
          const tokens = chunks.reduce((n, c) => n + c.tokens, 0);
          const cap = config.embed.maxTokensPerItem;
          if (tokens > cap && config.embed.tooLong === 'dead-letter') {
            fail(key, change.item, 'transform', 'TEXT_TOO_LONG', `the prompt has ${tokens} tokens, above embed.maxTokensPerItem (${cap}; ITEMVEC_MAX_TOKENS_PER_ITEM): shorten the text, raise the cap, or set embed.tooLong to "truncate"`);
            continue;
          }
          if (tokens > cap) {
            // The head of a product's text carries its name and kind; the tail of a 2-million-token description adds little.
            chunks = chunkText(provider.tokenizer.decode(provider.tokenizer.encode(change.prompt).slice(0, cap)), provider.tokenizer, provider.maxInputTokens);
            stats.truncated += 1;
            logger.warn({ item_id: change.item.itemId, tokens, kept: cap }, `item ${change.item.itemId}: prompt of ${tokens} tokens cut to its first ${cap} (embed.maxTokensPerItem, embed.tooLong "truncate")`);
          }
          if (batchJobs?.isPending(change.item, change.metadataHash)) {
            stats.inOpenBatches += 1;
            continue;
          }
          stats.chunks += chunks.length;
          if (batchJobs) {
            await batchJobs.add({ ...change, key }, chunks);
            continue;
          }
          // Back-pressure: no new request while two finished ones wait to be loaded, so vectors never
          // pile up in memory and a crash re-embeds little more than the requests in flight.
          if (loader.buffered >= 2 * provider.maxBatchInputs) await loads.idle();
          await scheduler.add({ ...change, key }, chunks);
        }
      }
    };

    const batches = itemBatches(reader, {
      size: options.readBatchSize ?? 256,
      shard,
      stats,
      logger,
      reject: (rejection) => {
        metrics?.failure('extract', 'ROW_REJECTED');
        deadLetters.rejectRow(rejection);
      },
    });
    try {
      for await (const batch of batches) {
        await processBatch(batch);
        loads.kick();
        loads.check();
      }
      await scheduler.drain();
      await batchJobs?.finish();
    } finally {
      // Whatever happened, keep what was embedded and what failed: nothing is lost.
      loads.kick();
      await loads.idle();
    }

    if (!dryRun) await afterLoad(db, versions.values(), { loaded: stats.embedded + stats.cacheHits + stats.lexicalIndexed, createIndex: config.run.createIndex, logger });

    stats.deadLettersUnwritten = deadLetters.unwritten;
    const summary = summarize({ runId, config, provider, stats, startedAt, objectsUrl: objects.url, database: db.location, dryRun, cost: costUsd(stats.tokens, price, config.run.mode) });
    report();
    logSummary(logger, summary, config.run.alertFailureRate);
    if (runRecord) await finishRun(runRecord, runId, 'succeeded', summary, summary);
    return summary;
  } catch (err) {
    if (runRecord) await finishRun(runRecord, runId, 'failed', null, null, errorMessage(err)).catch(() => {});
    throw err;
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
