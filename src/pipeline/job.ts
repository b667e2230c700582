/**
 * The skeleton every embedding job shares (text: `text-job.ts`, images: `image-job.ts`): owned
 * resources, migrations, the run record with its heartbeat and interrupted-run detection, the
 * version check, dead letters, the loader, the read loop, after-load work and the summary.
 *
 * A job only brings its stages: how to open its model, and what to do with each batch of items
 * read. Everything an operator relies on (run records, dead letters, `--dry-run`, resuming after a
 * kill, `failures retry`) therefore behaves the same for every modality.
 */
import { randomUUID } from 'node:crypto';
import type { CatalogItem } from '../catalog/item.js';
import { type CatalogSource, openCatalog } from '../catalog/open.js';
import type { Config } from '../config.js';
import type { ImageEmbeddingProvider } from '../embed/image-provider.js';
import type { EmbeddingProvider } from '../embed/provider.js';
import { errorMessage } from '../errors.js';
import type { Resolver } from '../images/ssrf.js';
import { createLogger, type Logger } from '../log.js';
import { openConfiguredObjectStore } from '../objects/open.js';
import type { ObjectStore } from '../objects/store.js';
import { type Db, openConfiguredDb } from '../store/db.js';
import type { FailureStage } from '../store/failures.js';
import type { VersionKey } from '../store/keys.js';
import { migrate } from '../store/migrations.js';
import { finishRun, heartbeat, markInterrupted, startRun } from '../store/runs.js';
import { assertSameSettings, ensureVersion, getVersion, type VersionRecord } from '../store/versions.js';
import { afterLoad } from './after-load.js';
import { DeadLetters } from './dead-letters.js';
import { type LexicalIndexing, Loader } from './loader.js';
import type { RunMetrics } from './meter.js';
import { itemBatches } from './read.js';
import { type RunProgress, RunStats } from './stats.js';
import { logSummary, type RunSummary, summarize } from './summary.js';

export interface RunOptions {
  config: Config;
  source: CatalogSource;
  /** Shared resources a caller already holds; otherwise opened from the config and closed at the end. */
  db?: Db;
  provider?: EmbeddingProvider;
  /** An image model the caller already holds (tests count its calls); otherwise from config.images. */
  imageProvider?: ImageEmbeddingProvider;
  /** Host name resolution for the image fetcher (tests play DNS); the system resolver otherwise. */
  resolve?: Resolver;
  objects?: ObjectStore;
  logger?: Logger;
  onProgress?: (progress: RunProgress) => void;
  /** Rows read per change-detection query. */
  readBatchSize?: number;
  /** Count what would be embedded (and for text its tokens, requests and cost) without calling a model or writing anything. */
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

/** What a job has opened before the shared part starts: its model and what its version records. */
export interface JobModel {
  /** `embedding_runs.job`. */
  job: 'embed-text' | 'embed-image';
  name: string;
  model: string;
  dims: number;
  /** What turns an item into the model's input, kept with the version: the prompt template, or the image preprocessing. */
  inputSettings: string;
  /** Text jobs also write each item's lexical document. */
  lexical?: LexicalIndexing;
  /** What the tokens so far cost (null: unknown price). */
  cost(tokens: number): number | null;
}

/** What the skeleton hands a job's stages. */
export interface JobContext {
  config: Config;
  db: Db;
  objects: ObjectStore;
  logger: Logger;
  runId: string;
  stats: RunStats;
  dryRun: boolean;
  /** Undefined in a dry run. */
  metrics?: RunMetrics;
  loader: Loader;
  deadLetters: DeadLetters;
  /** The version of this run for a tenant: created on first use (checked only, in a dry run). */
  versionFor(orgId: string, namespace: string): Promise<VersionKey>;
  /** One item failed: counted, metered and dead-lettered; the run goes on. */
  fail(key: VersionKey, item: CatalogItem, stage: FailureStage, code: string, message: string): void;
  /** Progress to the metrics sink and the progress bar. */
  report(): void;
}

/** The stages of one job, built once the shared resources exist. */
export interface JobStages<Extra extends object> {
  processBatch(items: CatalogItem[]): Promise<void>;
  /** After each batch: start or wait for loads. */
  afterBatch(): Promise<void>;
  /** After the last batch: wait for the model work still in flight. */
  drain(): Promise<void>;
  /** Always, even after an error: load what was embedded and record what failed, so nothing is lost. */
  settle(): Promise<void>;
  /** Fields a job adds to the summary. */
  summary?(): Extra;
}

export interface JobDefinition<Extra extends object> {
  /** Open the job's model (registering what must be closed with `own`); checked before anything is read. */
  open(setup: { config: Config; db: Db; logger: Logger; dryRun: boolean; own(close: () => Promise<void>): void }): Promise<JobModel>;
  stages(context: JobContext): Promise<JobStages<Extra>>;
}

/** How often a running job touches its run record, and after how long without it a run counts as dead. */
const RUN_HEARTBEAT_MS = 10_000;
const RUN_STALE_AFTER_MS = 60_000;

export async function runJob<Extra extends object>(options: RunOptions, definition: JobDefinition<Extra>): Promise<RunSummary & Extra> {
  const { config } = options;
  const logger = options.logger ?? createLogger();
  const dryRun = options.dryRun ?? false;
  const startedAt = performance.now();
  const runId = randomUUID();
  const stats = new RunStats();
  const owned: Array<() => Promise<void>> = [];
  const own = (close: () => Promise<void>) => void owned.push(close);
  /** The database holding this run's `embedding_runs` row, once written. */
  let runRecord: Db | undefined;

  try {
    // The loader's connections, and one for change detection and dead letters beside them.
    const db = options.db ?? (await openConfiguredDb(config, { maxConnections: config.run.loadConnections + 2 }));
    if (!options.db) own(() => db.close());
    await migrate(db);
    const model = await definition.open({ config, db, logger, dryRun, own });
    const objects = options.objects ?? openConfiguredObjectStore(config);
    logger.info(
      {
        run_id: runId,
        modality: config.modality,
        provider: model.name,
        model: model.model,
        dims: model.dims,
        version: config.version,
        database: db.location,
        objects: objects.url,
      },
      'run started',
    );
    if (!dryRun && options.recordRun !== false) {
      // A previous run of this version that was killed: its loads are kept (each one was a
      // transaction), change detection skips what it loaded, and only the rest is embedded again.
      const interrupted = await markInterrupted(db, { version: config.version, modality: config.modality }, RUN_STALE_AFTER_MS);
      for (const r of interrupted)
        logger.warn({ interrupted_run: r.run_id, started_at: r.started_at }, 'resuming after an interrupted run: what it loaded is kept');
      await startRun(
        db,
        {
          runId,
          job: model.job,
          trigger: options.trigger,
          namespace: config.namespace,
          version: config.version,
          modality: config.modality,
          sample: config.run.sample,
        },
        interrupted[0]?.run_id ?? null,
      );
      runRecord = db;
      const beat = setInterval(() => {
        void heartbeat(db, runId, { items_seen: stats.itemsSeen, embedded: stats.embedded, failed: stats.failed + stats.rejected }).catch(() => {});
      }, RUN_HEARTBEAT_MS);
      beat.unref();
      own(async () => clearInterval(beat));
    }

    const versions = new Map<string, VersionRecord>();
    const versionFor = async (orgId: string, namespace: string): Promise<VersionKey> => {
      const id = `${orgId}|${namespace}`;
      if (!versions.has(id)) {
        const spec = {
          orgId,
          namespace,
          modality: config.modality,
          version: config.version,
          provider: model.name,
          model: model.model,
          dims: model.dims,
          promptTemplate: model.inputSettings,
          textSearchConfig: config.prompt.textSearchConfig,
          storage: config.embed.storage,
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

    const deadLetters = new DeadLetters(dryRun ? null : db, runId, logger, {
      orgId: config.orgId,
      namespace: config.namespace,
      modality: config.modality,
      version: config.version,
    });
    const reader = openCatalog(options.source, { orgId: config.orgId, namespace: config.namespace, invalidText: config.catalog.invalidText });
    const metrics = dryRun ? undefined : options.metrics;
    const report = () => {
      const cost = model.cost(stats.tokens);
      metrics?.progress(stats.counts(cost));
      options.onProgress?.(stats.progress(reader, cost));
    };
    const loader = new Loader({
      db,
      objects,
      runId,
      version: config.version,
      modality: config.modality,
      model: model.model,
      batchSize: config.run.loadBatchSize,
      connections: db.parallelTransactions ? config.run.loadConnections : 1,
      stats,
      lexical: model.lexical,
    });
    const fail = (key: VersionKey, item: CatalogItem, stage: FailureStage, code: string, message: string) => {
      stats.failed += 1;
      metrics?.failure(stage, code);
      deadLetters.failItem(key, item, stage, code, message);
    };
    const stages = await definition.stages({ config, db, objects, logger, runId, stats, dryRun, metrics, loader, deadLetters, versionFor, fail, report });

    const batches = itemBatches(reader, {
      size: options.readBatchSize ?? 256,
      shard: options.shard,
      stats,
      logger,
      reject: (rejection) => {
        metrics?.failure('extract', 'ROW_REJECTED');
        deadLetters.rejectRow(rejection);
      },
    });
    try {
      for await (const batch of batches) {
        await stages.processBatch(batch);
        await stages.afterBatch();
      }
      await stages.drain();
    } finally {
      await stages.settle();
    }

    if (!dryRun)
      await afterLoad(db, versions.values(), { loaded: stats.embedded + stats.cacheHits + stats.lexicalIndexed, createIndex: config.run.createIndex, logger });

    stats.deadLettersUnwritten = deadLetters.unwritten;
    const summary = {
      ...summarize({
        runId,
        config,
        provider: model,
        stats,
        startedAt,
        objectsUrl: objects.url,
        database: db.location,
        dryRun,
        cost: model.cost(stats.tokens),
      }),
      ...(stages.summary?.() ?? ({} as Extra)),
    };
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
