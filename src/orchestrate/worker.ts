/**
 * `itemvec worker`: takes jobs from the queue (src/orchestrate/queue.ts) until stopped. Any number
 * of workers may run on any number of machines; pg-boss hands each job to one of them (SKIP LOCKED).
 *
 *   plan    a cron occurrence: record the run and queue its shards and close job (plan.ts)
 *   shard   runEmbeddingJob on one range of the stable item hash, without a run row of its own; its
 *           summary becomes the job's output. A worker that dies mid-shard stops its heartbeat, and
 *           pg-boss retries the shard elsewhere after `queue.heartbeatSeconds`; what the dead attempt
 *           loaded is kept (each load is a transaction) and skipped by change detection.
 *   close   runs once every shard has completed: aggregates their outputs into the run's row,
 *           builds the HNSW index, logs the summary and alerts above the failure-rate threshold
 *   failed  a job out of retries: the run is marked failed, its queued jobs are cancelled, an alert goes out
 *
 * Retries use pg-boss's exponential backoff (`queue.retry*`); errors that another attempt cannot
 * fix (bad config, bad API key, no quota) skip them and go to the dead letters at once.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JobWithMetadata } from 'pg-boss';
import { runFailedAlert, sendAlert } from '../alert.js';
import type { Config } from '../config.js';
import { ConfigError, errorMessage, NotFoundError, ProviderError } from '../errors.js';
import type { Logger } from '../log.js';
import { collectProcessMetrics, queueJobs, recordRunEnd, registry, runMetrics } from '../metrics.js';
import { runEmbeddingJob } from '../pipeline/run.js';
import { logSummary, type RunSummary } from '../pipeline/summary.js';
import { type Db, openConfiguredDb } from '../store/db.js';
import type { VectorStorage } from '../store/keys.js';
import { migrate } from '../store/migrations.js';
import { finishRun, getRun } from '../store/runs.js';
import { ensureVectorIndex } from '../store/versions.js';
import { aggregateSummaries } from './aggregate.js';
import { reportRunEnd } from './outcome.js';
import { planRun } from './plan.js';
import { openQueue, QUEUES, type Queue } from './queue.js';
import { type CloseData, jobConfig, type RunSpec, type ShardData } from './spec.js';

export interface WorkerOptions {
  config: Config;
  logger: Logger;
  /** The data database when the caller holds it; otherwise opened from the config and closed on stop. */
  db?: Db;
  /** Serve GET /metrics (and /healthz) on config.metrics.host:port; default true. */
  serveMetrics?: boolean;
}

export interface Worker {
  queue: Queue;
  /** `http://host:port/metrics`, or null when not served. */
  metricsUrl: string | null;
  /** Stop taking jobs, give running ones `graceMs` to finish (a shard cut short is retried elsewhere), close. */
  stop(graceMs?: number): Promise<void>;
}

/** Errors a retry cannot fix: the job goes to the dead letters at once. */
export function isPermanent(err: unknown): boolean {
  if (err instanceof ConfigError || err instanceof NotFoundError) return true;
  if (err instanceof ProviderError) return err.fatal;
  const code = (err as { code?: unknown }).code;
  return code === 'PGVECTOR_MISSING' || code === 'PGVECTOR_TOO_OLD' || code === 'PGVECTOR_PERMISSION';
}

/** A dead letter carries the data of the job that failed: a plan's, a shard's or a close's. */
type FailedData = Partial<ShardData> & { spec?: RunSpec };

const failure = (err: unknown) => ({
  message: errorMessage(err),
  code: typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'ERROR',
});

export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const { config: base, logger } = options;
  const db = options.db ?? (await openConfiguredDb(base));
  const ownsDb = !options.db;
  let queue: Queue;
  let server: http.Server | null = null;
  try {
    await migrate(db);
    // Before the queue: a port already in use fails the start before any job is taken.
    if (options.serveMetrics ?? true) {
      collectProcessMetrics();
      server = await serveMetrics(base.metrics.host, base.metrics.port);
    }
    queue = await openQueue(base, db, logger, { worker: true });
  } catch (err) {
    server?.close();
    if (ownsDb) await db.close().catch(() => {});
    throw err;
  }
  const { boss } = queue;
  const polling = { pollingIntervalSeconds: base.queue.pollingIntervalSeconds };

  await boss.work<{ spec: RunSpec; trigger?: string }>(QUEUES.plan, polling, async ([job]) => {
    // The plan job's id is the run's id, so a retried plan job finds what it already created.
    const planned = await planRun(queue, db, job!.data.spec, { runId: job!.id, trigger: job!.data.trigger ?? 'schedule', logger });
    queueJobs.inc({ queue: 'plan', outcome: 'completed' });
    return { run_id: planned.runId, created: planned.created };
  });

  await boss.work<ShardData>(QUEUES.shard, { ...polling, localConcurrency: base.queue.concurrency, perJobResults: true }, async ([job]) => {
    const { runId, index, from, to, spec } = job!.data;
    // The shard's own runEmbeddingJob logs its run_id (dead letters and Parquet parts are filed under it).
    const log = logger.child({ distributed_run_id: runId, shard: index });
    log.info({ from, to, attempt: job!.retryCount + 1, of: spec.shards }, 'shard started');
    try {
      const config = jobConfig(base, spec, 'shard');
      const summary = await runEmbeddingJob({
        config,
        source: spec.source,
        db,
        logger: log,
        shard: { from, to },
        recordRun: false,
        trigger: 'worker',
        metrics: runMetrics(spec.modality),
      });
      queueJobs.inc({ queue: 'shard', outcome: 'completed' });
      return [{ id: job!.id, status: 'completed', output: summary }];
    } catch (err) {
      const permanent = isPermanent(err);
      log.error(
        { err: errorMessage(err), code: failure(err).code, retry: !permanent },
        permanent ? 'shard failed; retrying cannot fix this' : 'shard failed; pg-boss retries it',
      );
      queueJobs.inc({ queue: 'shard', outcome: permanent ? 'dead_letter' : 'failed' });
      return [{ id: job!.id, status: permanent ? 'deadletter' : 'failed', output: failure(err) }];
    }
  });

  await boss.work<CloseData>(QUEUES.close, polling, async ([job]) => {
    const { runId, spec } = job!.data;
    const config = jobConfig(base, spec, 'close');
    const shards = await boss.findJobs<ShardData>(QUEUES.shard, { data: { runId }, limit: spec.shards + 1 });
    const outputs = shards.filter((s) => s.state === 'completed').map((s) => s.output as unknown as RunSummary);
    if (outputs.length !== spec.shards) throw new Error(`only ${outputs.length} of ${spec.shards} shards of run ${runId} have a result`);
    const run = await getRun(db, runId);
    const wallS = run ? (Date.now() - new Date(run.started_at).getTime()) / 1000 : 0;
    const summary = aggregateSummaries(runId, outputs, { threshold: config.run.alertFailureRate, wallS });
    if (config.run.createIndex) {
      // Once for the run, after every shard has loaded, rather than by each shard on a growing table.
      const versions = await db.query<{ namespace: string; version: string; modality: 'text' | 'image'; dims: number; storage: VectorStorage }>(
        'SELECT DISTINCT namespace, version, modality, dims, storage FROM embedding_versions WHERE version = $1 AND modality = $2',
        [spec.version, spec.modality],
      );
      for (const v of versions) await ensureVectorIndex(db, v, { concurrently: db.driver === 'pg' });
    }
    await finishRun(db, runId, 'succeeded', summary, summary);
    logSummary(logger, summary, config.run.alertFailureRate);
    await reportRunEnd(config, summary, logger, { namespace: spec.namespace, shards: spec.shards });
    queueJobs.inc({ queue: 'close', outcome: 'completed' });
    return { run_id: runId, failure_rate: summary.failure_rate, alert: summary.alert };
  });

  await boss.work(QUEUES.failed, { ...polling, includeMetadata: true }, async ([job]: Array<JobWithMetadata<FailedData>>) => {
    await failRun(queue, db, base, logger, job!);
    queueJobs.inc({ queue: 'failed', outcome: 'completed' });
  });

  const address = server?.address() as AddressInfo | undefined;
  const metricsUrl = address ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}/metrics` : null;
  logger.info({ queue: queue.location, database: db.location, concurrency: base.queue.concurrency, metrics: metricsUrl }, 'worker started');

  return {
    queue,
    metricsUrl,
    async stop(graceMs = 30_000) {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await queue.stop({ graceful: true, timeoutMs: graceMs });
      if (ownsDb) await db.close();
      logger.info('worker stopped');
    },
  };
}

/** A job out of retries (or failed for good): its run ends `failed` and the rest of it is cancelled. */
async function failRun(queue: Queue, db: Db, base: Config, logger: Logger, job: JobWithMetadata<FailedData>): Promise<void> {
  // A plan job's id is its run's id; shard and close jobs carry theirs.
  const runId = job.data.runId ?? (job.sourceName === QUEUES.plan ? job.sourceId : null);
  const cause = (job.sourceOutput ?? {}) as { message?: string };
  const what =
    job.sourceName === QUEUES.shard && job.data.index !== undefined
      ? `shard ${job.data.index + 1} of ${job.data.spec?.shards}`
      : `the ${String(job.sourceName).replace('itemvec-', '')} job`;
  const reason = `${what} failed after ${(job.sourceRetryCount ?? 0) + 1} attempt(s): ${cause.message ?? 'no error recorded'}`;
  const run = runId ? await getRun(db, runId) : null;
  if (run && run.status !== 'running') return;
  if (run) {
    await finishRun(db, run.run_id, 'failed', null, null, reason);
    // The run cannot succeed any more: stop paying for its other shards. What they loaded is kept.
    for (const name of [QUEUES.shard, QUEUES.close]) {
      const queued = await queue.boss.findJobs(name, { data: { runId: run.run_id }, queued: true, limit: 10_000 });
      if (queued.length > 0)
        await queue.boss.cancel(
          name,
          queued.map((j) => j.id),
        );
    }
  }
  const spec = job.data.spec;
  const modality = run?.modality ?? spec?.modality ?? 'text';
  logger.error({ run_id: runId, reason }, `distributed run failed: ${reason}`);
  recordRunEnd(modality, 'failed', null);
  await sendAlert(
    base.alert,
    runFailedAlert(
      { run_id: runId ?? job.id, namespace: run?.namespace ?? spec?.namespace ?? null, version: run?.version ?? spec?.version ?? '?', modality },
      reason,
    ),
    logger,
  );
}

async function serveMetrics(host: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err) => res.writeHead(500).end(errorMessage(err)),
      );
    } else if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
