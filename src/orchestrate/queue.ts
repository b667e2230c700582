/**
 * The queue of the distributed mode: pg-boss, in Postgres, so it needs no new infrastructure.
 *
 * Where it lives: `queue.url` if set, else the data database (`databaseUrl`), else — with the
 * embedded default — the same PGlite instance as the data, through pg-boss's PGlite adapter. pg-boss
 * keeps its tables in its own schema (`queue.schema`). The queue may sit on another server than the
 * data (pg-boss needs no pgvector; the data does).
 *
 * Queues (each job's data is in src/orchestrate/spec.ts):
 *   itemvec-plan    one job per run a cron schedule starts: it records the run and creates its flow
 *   itemvec-shard   one job per shard: a range of the stable item hash, embedded by runEmbeddingJob
 *   itemvec-close   depends on every shard of its run (a pg-boss flow): aggregates, indexes, alerts
 *   itemvec-failed  dead letters: a plan, shard or close job out of retries fails its run
 */
import { fromPglite, PgBoss } from 'pg-boss';
import type { Config } from '../config.js';
import { DatabaseError, errorMessage } from '../errors.js';
import { type Logger, redactUrl } from '../log.js';
import type { Db } from '../store/db.js';

export const QUEUES = {
  plan: 'itemvec-plan',
  shard: 'itemvec-shard',
  close: 'itemvec-close',
  failed: 'itemvec-failed',
} as const;

export interface Queue {
  boss: PgBoss;
  /** Where the queue lives, safe to log. */
  location: string;
  /** True when it shares the embedded PGlite with the data: one process at a time. */
  embedded: boolean;
  stop(options?: { graceful?: boolean; timeoutMs?: number }): Promise<void>;
}

export interface OpenQueueOptions {
  /** Run the background loops a worker needs: cron schedules, expiry of dead workers' jobs, flow unblocking. */
  worker?: boolean;
}

/**
 * Start pg-boss on the configured database (creating or upgrading its schema) and make sure the
 * queues exist with the current retry, heartbeat and expiry settings. `db` is the data database,
 * needed only for the embedded case (the queue shares its PGlite session).
 */
export async function openQueue(config: Config, db: Db | null, logger: Logger, options: OpenQueueOptions = {}): Promise<Queue> {
  const url = config.queue.url ?? config.databaseUrl;
  const worker = options.worker ?? false;
  const timers = {
    schema: config.queue.schema,
    // A command that only sends or reads jobs needs none of the loops; a worker needs all of them.
    supervise: worker,
    schedule: worker,
    registerInstance: worker,
    superviseIntervalSeconds: config.queue.monitorIntervalSeconds,
    monitorIntervalSeconds: config.queue.monitorIntervalSeconds,
  };
  let boss: PgBoss;
  let location: string;
  if (url) {
    location = `${redactUrl(url)} (schema ${config.queue.schema})`;
    boss = new PgBoss({ ...timers, connectionString: url, application_name: 'itemvec-queue', max: worker ? 4 : 2 });
  } else {
    if (!db?.pglite)
      throw new DatabaseError('QUEUE_EMBEDDED', 'the embedded queue shares the embedded database: open it first (no queue.url or databaseUrl is set)');
    location = `${db.location} (embedded, schema ${config.queue.schema})`;
    boss = new PgBoss({ ...timers, backend: 'pglite', db: fromPglite(db.pglite) });
  }
  // pg-boss reports background-loop failures here; without a listener they would crash the process.
  boss.on('error', (err) => logger.error({ err: errorMessage(err) }, 'queue error'));
  try {
    await boss.start();
    await ensureQueues(boss, config);
  } catch (err) {
    await boss.stop({ graceful: false }).catch(() => {});
    throw new DatabaseError('QUEUE_START', `cannot start the job queue on ${location}: ${errorMessage(err)}`, { location }, { cause: err });
  }
  return {
    boss,
    location,
    embedded: !url,
    // The embedded PGlite belongs to the caller, so pg-boss closes only a pool it opened itself.
    stop: (o = {}) => boss.stop({ graceful: o.graceful ?? true, timeout: o.timeoutMs ?? 30_000, close: Boolean(url) }),
  };
}

/** createQueue leaves an existing queue as it is, so the current settings are applied with updateQueue. */
async function ensureQueues(boss: PgBoss, config: Config): Promise<void> {
  const q = config.queue;
  const retries = { retryLimit: q.retryLimit, retryDelay: q.retryDelaySeconds, retryBackoff: true, retryDelayMax: q.retryDelayMaxSeconds };
  // Shards and closes prove they are alive with heartbeats: a killed worker's job is retried after
  // heartbeatSeconds, not after the hours `expireInSeconds` must allow a big shard.
  const work = { ...retries, heartbeatSeconds: q.heartbeatSeconds, expireInSeconds: q.expireInSeconds, deadLetter: QUEUES.failed };
  const settings: Array<[string, Parameters<PgBoss['updateQueue']>[1]]> = [
    [QUEUES.failed, { ...retries, expireInSeconds: 600 }],
    [QUEUES.plan, { ...retries, expireInSeconds: 600, deadLetter: QUEUES.failed }],
    [QUEUES.shard, work],
    [QUEUES.close, work],
  ];
  for (const [name, options] of settings) {
    await boss.createQueue(name);
    await boss.updateQueue(name, options);
  }
}
