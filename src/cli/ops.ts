/**
 * Operations commands: the distributed mode (`enqueue`, `worker`, `schedule`; src/orchestrate)
 * and what an operator reads (`runs list|show`, `status`).
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { CatalogSource } from '../catalog/open.js';
import { loadConfig, type Config } from '../config.js';
import { ConfigError, ExitCode, ItemvecError, NotFoundError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { planRun } from '../orchestrate/plan.js';
import { openQueue } from '../orchestrate/queue.js';
import { listSchedules, registerSchedules, removeSchedule } from '../orchestrate/schedule.js';
import { runSpec } from '../orchestrate/spec.js';
import { startWorker } from '../orchestrate/worker.js';
import { openConfiguredDb, type Db } from '../store/db.js';
import { migrate } from '../store/migrations.js';
import { getRun, listRuns, type RunDetail, type RunStatus } from '../store/runs.js';
import { versionStatus } from '../store/status.js';
import { cliLogger, print, withDb, withFiles } from './common.js';
import { formatRun, formatRuns, formatSchedules, formatStatus } from './format-ops.js';
import type { ConfigFlags } from './main.js';

/** What main.ts shares with these commands (main.ts cannot be imported: it runs the program). */
export interface OpsHelpers {
  exitCodes: string;
  withCommon(cmd: Command): Command;
  withProvider(cmd: Command): Command;
  configFrom(opts: ConfigFlags): Config;
  sampleOption(value: string): number;
  positiveInt(name: string): (value: string) => number;
}

interface SourceFlags {
  catalog?: string;
  source?: string;
  table?: string;
}

/** --catalog FILE, or --source URL with --table NAME: exactly one. */
export function sourceFromFlags(opts: SourceFlags): CatalogSource {
  if (Boolean(opts.catalog) === Boolean(opts.source)) throw new ConfigError('give either --catalog FILE or --source URL --table NAME');
  if (opts.source && !opts.table) throw new ConfigError('--source needs --table (e.g. analytics.catalog_features_raw)');
  return opts.catalog ? { kind: 'file', path: opts.catalog } : { kind: 'postgres', url: opts.source!, table: opts.table! };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Wait until the run's record leaves `running`; null when `timeoutS` passes first. */
async function waitForRun(db: Db, runId: string, timeoutS: number): Promise<RunDetail | null> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const run = await getRun(db, runId);
    if (run && run.status !== 'running') return run;
    if (Date.now() >= deadline) return null;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The exit code of a finished distributed run: 0, 6 above the failure-rate threshold, 8 failed. */
function exitCodeOf(run: RunDetail, threshold: number): number {
  if (run.status !== 'succeeded') return ExitCode.runFailed;
  return run.failure_rate !== null && run.failure_rate > threshold ? ExitCode.failureRate : ExitCode.ok;
}

type RunFlags = ConfigFlags & SourceFlags & { shards?: number; trigger: string; wait?: boolean; timeout: number };

export function addOpsCommands(program: Command, h: OpsHelpers): void {
  const withRunFlags = (cmd: Command) =>
    h
      .withProvider(h.withCommon(cmd))
      .option('--catalog <file>', 'catalog file every worker can read (a shared volume): .jsonl, .csv or .parquet')
      .option('--source <url>', 'postgres:// staging database; its password is not stored in the queue: workers use PGPASSWORD or ~/.pgpass')
      .option('--table <name>', 'staging table, e.g. analytics.catalog_features_raw')
      .option('--version <name>', 'embedding version to write (also ITEMVEC_VERSION; default v1)')
      .option('--shards <n>', 'shards of each run: ranges of the stable item hash, one job each (config queue.shards, default 16)', h.positiveInt('--shards'))
      .option('--sample <percent>', 'staged rollout: only this stable share of items, e.g. 5%', h.sampleOption)
      .option('--no-index', 'do not build the HNSW index when the run closes')
      .option('--no-cache', 'embed changed items even when the same model already embedded the same prompt elsewhere in the org')
      .option('--image-model-dir <dir>', 'image runs: a CLIP-style model folder on every worker (default MobileNetV2)');

  withRunFlags(program.command('enqueue'))
    .description('queue a distributed run now: one job per shard and a close job, taken by `itemvec worker` processes')
    .addOption(new Option('--modality <m>', 'text or image').choices(['text', 'image']))
    .option('--trigger <name>', 'recorded in the run\'s row, e.g. airflow', 'cli')
    .option('--wait', 'wait until the run ends; exit 0, 6 (failure rate above threshold) or 8 (failed). Embedded database: this process works the run itself')
    .option('--timeout <seconds>', 'with --wait: give up waiting after this long (exit 8; the run goes on)', h.positiveInt('--timeout'), 24 * 3600)
    .addHelpText(
      'after',
      `
Examples:
  DATABASE_URL=postgres://app@db/catalog itemvec enqueue --catalog /shared/catalog.jsonl --shards 32
  itemvec enqueue --source postgres://etl@warehouse/analytics --table analytics.catalog_features_raw --wait --json
  itemvec enqueue --catalog samples/catalog.jsonl --shards 4 --wait      # embedded: works the shards here
${h.exitCodes}`,
    )
    .action(async (opts: RunFlags) => {
      const config = h.configFrom(opts);
      const spec = runSpec(config, sourceFromFlags(opts), opts.shards);
      const logger = cliLogger();
      const db = await openConfiguredDb(config);
      let run: RunDetail | null = null;
      let runId: string;
      let queueLocation: string;
      try {
        await migrate(db);
        if (opts.wait && !config.queue.url && !config.databaseUrl) {
          // The embedded database admits one process: this one queues the run and works it.
          const worker = await startWorker({ config, logger, db, serveMetrics: false });
          try {
            runId = (await planRun(worker.queue, db, spec, { trigger: opts.trigger, logger })).runId;
            queueLocation = worker.queue.location;
            run = await waitForRun(db, runId, opts.timeout);
          } finally {
            await worker.stop();
          }
        } else {
          const queue = await openQueue(config, db, logger);
          try {
            runId = (await planRun(queue, db, spec, { trigger: opts.trigger, logger })).runId;
            queueLocation = queue.location;
          } finally {
            await queue.stop();
          }
          if (opts.wait) run = await waitForRun(db, runId, opts.timeout);
        }
      } finally {
        await db.close();
      }
      if (!opts.wait) {
        print(opts.json, { run_id: runId, shards: spec.shards, queue: queueLocation, status: 'queued' }, () =>
          `run ${runId} queued in ${spec.shards} shards on ${queueLocation}\nfollow it with: itemvec runs show ${runId}`,
        );
        return;
      }
      if (!run) throw new ItemvecError('RUN_WAIT_TIMEOUT', `run ${runId} is still running after ${opts.timeout} s (it goes on; itemvec runs show ${runId})`, ExitCode.runFailed, { runId });
      print(opts.json, run, () => formatRun(run));
      process.exitCode = exitCodeOf(run, config.run.alertFailureRate);
    });

  program
    .command('worker')
    .description('take shard, close and scheduled jobs from the queue until SIGTERM; run any number of them, anywhere')
    .option('--config <file>', 'JSON config file (also ITEMVEC_CONFIG)')
    .option('--home <dir>', 'data folder (also ITEMVEC_HOME)')
    .option('--concurrency <n>', 'shards this worker runs at once (also ITEMVEC_WORKER_CONCURRENCY; default 1)', h.positiveInt('--concurrency'))
    .option('--metrics-host <address>', 'where /metrics listens (also ITEMVEC_METRICS_HOST; default 127.0.0.1)')
    .option('--metrics-port <n>', 'port of /metrics (also ITEMVEC_METRICS_PORT; default 9464; 0 picks a free one)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('--metrics-port must be an integer from 0 to 65535');
      return n;
    })
    .option('--grace <seconds>', 'on SIGTERM, how long running shards may take to finish before the worker exits (they are retried elsewhere)', h.positiveInt('--grace'), 30)
    .option('--json', 'print one JSON line when ready: {"queue", "metrics_url"}')
    .addHelpText(
      'after',
      `
Each worker evaluates the cron schedules (one occurrence starts one run, however many workers), takes
shards one at a time (--concurrency), heartbeats them, and serves Prometheus metrics on /metrics.
A worker killed mid-shard loses nothing: pg-boss retries the shard after queue.heartbeatSeconds on
another worker, and what the shard had loaded is skipped. The queue lives in queue.url (ITEMVEC_QUEUE_URL),
else DATABASE_URL, else the embedded database (then run exactly one worker).

Examples:
  DATABASE_URL=postgres://app@db/catalog OPENAI_API_KEY=… itemvec worker
  ITEMVEC_QUEUE_URL=postgres://queue@pg/ops DATABASE_URL=postgres://app@db/catalog itemvec worker --concurrency 2 --metrics-host 0.0.0.0
${h.exitCodes}`,
    )
    .action(async (opts: { config?: string; home?: string; concurrency?: number; metricsHost?: string; metricsPort?: number; grace: number; json?: boolean }) => {
      const config = loadConfig({ file: opts.config, overrides: { home: opts.home, queue: { concurrency: opts.concurrency }, metrics: { host: opts.metricsHost, port: opts.metricsPort } } });
      // A worker runs unattended: info lines (shard started, run finished) are its record.
      const logger = createLogger();
      const worker = await startWorker({ config, logger });
      print(opts.json, { queue: worker.queue.location, metrics_url: worker.metricsUrl }, () => `itemvec worker on ${worker.queue.location}; metrics at ${worker.metricsUrl}; stop with SIGTERM`);
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      await worker.stop(opts.grace * 1000);
      // A shard still running after the grace period is abandoned here and retried by another worker
      // once its heartbeat lapses; its timers must not keep this process alive.
      process.exit(process.exitCode ?? ExitCode.ok);
    });

  withRunFlags(program.command('schedule'))
    .description('register the cron schedules of the text (nightly) and image (weekly) jobs; workers run them')
    .option('--text-cron <cron>', 'text job, e.g. "0 2 * * *" (also ITEMVEC_TEXT_CRON; "off" removes it)')
    .option('--image-cron <cron>', 'image job, e.g. "0 3 * * 0" (also ITEMVEC_IMAGE_CRON; "off" removes it)')
    .option('--tz <zone>', 'time zone of the cron expressions, e.g. Europe/Berlin (also ITEMVEC_SCHEDULE_TZ; default UTC)')
    .option('--list', 'only list the registered schedules')
    .option('--remove <key>', 'remove one schedule by its key (see --list)')
    .addHelpText(
      'after',
      `
A schedule is stored in the queue; the workers evaluate it, so at least one \`itemvec worker\` must run.
Keys are <modality>.<namespace>.<version>; registering again updates them.

Examples:
  itemvec schedule --catalog /shared/catalog.jsonl                        # text 02:00 daily, images 03:00 Sundays (UTC)
  itemvec schedule --source postgres://etl@warehouse/analytics --table analytics.catalog_features_raw --text-cron "30 1 * * *" --image-cron off --shards 32
  itemvec schedule --list --json
  itemvec schedule --remove image.default.v1
${h.exitCodes}`,
    )
    .action(async (opts: RunFlags & { textCron?: string; imageCron?: string; tz?: string; list?: boolean; remove?: string }) => {
      const config = h.configFrom(opts);
      const scheduled = { ...config, schedule: { text: opts.textCron ?? config.schedule.text, image: opts.imageCron ?? config.schedule.image, tz: opts.tz ?? config.schedule.tz } };
      const logger = cliLogger();
      await withQueue(config, logger, async (queue) => {
        if (opts.remove) {
          if (!(await removeSchedule(queue, opts.remove))) throw new NotFoundError(`no schedule with key ${opts.remove} (see itemvec schedule --list)`);
        } else if (!opts.list) {
          await registerSchedules(queue, scheduled, sourceFromFlags(opts), opts.shards);
        }
        const list = await listSchedules(queue);
        print(opts.json, list, () => formatSchedules(list));
      });
    });

  const runs = program.command('runs').description('run records (embedding_runs): what ran, when, how it ended, counts, cost');
  withFiles(runs.command('list'))
    .description('recent runs, newest first (one-shot and distributed)')
    .option('--version <name>', 'only this version')
    .addOption(new Option('--status <status>', 'only runs in this state').choices(['running', 'succeeded', 'failed', 'interrupted']))
    .option('--limit <n>', 'at most this many', h.positiveInt('--limit'), 20)
    .addHelpText('after', `\nExamples:\n  itemvec runs list\n  itemvec runs list --status failed --json\n${h.exitCodes}`)
    .action(async (opts: { config?: string; home?: string; json?: boolean; version?: string; status?: RunStatus; limit: number }) => {
      const config = loadConfig({ file: opts.config, overrides: { home: opts.home } });
      const list = await withDb(config, (db) => listRuns(db, { version: opts.version, status: opts.status, limit: opts.limit }));
      print(opts.json, list, () => formatRuns(list));
    });

  withFiles(runs.command('show'))
    .description('one run: status, error, counts, failure rate, tokens, cost, latency, and its full summary with --json')
    .argument('<run_id>', 'as `runs list` prints it')
    .addHelpText('after', `\nExamples:\n  itemvec runs show 1b4e28ba-2fa1-4d3b-8c5e-0f6a3e2d9c71\n  itemvec runs show 1b4e28ba-2fa1-4d3b-8c5e-0f6a3e2d9c71 --json\n${h.exitCodes}`)
    .action(async (runId: string, opts: { config?: string; home?: string; json?: boolean }) => {
      if (!UUID.test(runId)) throw new ConfigError(`a run id is a UUID, e.g. 1b4e28ba-2fa1-4d3b-8c5e-0f6a3e2d9c71; got "${runId}"`);
      const config = loadConfig({ file: opts.config, overrides: { home: opts.home } });
      const run = await withDb(config, (db) => getRun(db, runId));
      if (!run) throw new NotFoundError(`no run ${runId} (itemvec runs list)`, { runId });
      print(opts.json, run, () => formatRun(run));
    });

  h.withCommon(program.command('status'))
    .description('per namespace and version of the org: catalog items, embedded, pending (no vector yet), dead letters, open batches; and running runs')
    .addHelpText('after', `\nExamples:\n  itemvec status\n  itemvec status --namespace electronics --json\n${h.exitCodes}`)
    .action(async (opts: ConfigFlags) => {
      const config = h.configFrom(opts);
      const result = await withDb(config, async (db) => ({
        versions: await versionStatus(db, { orgId: config.orgId, namespace: opts.namespace }),
        running: await listRuns(db, { status: 'running', limit: 100 }),
      }));
      print(opts.json, result, () => formatStatus(result.versions, result.running));
    });
}

/** The queue for a command that only reads or writes jobs and schedules (no background loops). */
async function withQueue<T>(config: Config, logger: Logger, fn: (queue: Awaited<ReturnType<typeof openQueue>>) => Promise<T>): Promise<T> {
  // The embedded queue shares the embedded database's session, so that database is opened too.
  const db = config.queue.url || config.databaseUrl ? null : await openConfiguredDb({ ...config, databaseUrl: undefined });
  try {
    const queue = await openQueue(config, db, logger);
    try {
      return await fn(queue);
    } finally {
      await queue.stop();
    }
  } finally {
    await db?.close();
  }
}
