/** `itemvec worker`: take shard, close and scheduled jobs from the queue until SIGTERM. */
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { ExitCode } from '../../errors.js';
import { startWorker } from '../../orchestrate/worker.js';
import { print, serviceLogger } from '../common.js';
import type { CliIO } from '../io.js';
import { EXIT_CODES, portNumber, positiveInt } from '../options.js';

interface WorkerFlags {
  config?: string;
  home?: string;
  concurrency?: number;
  metricsHost?: string;
  metricsPort?: number;
  grace: number;
  json?: boolean;
}

export function addWorkerCommand(program: Command, io: CliIO): void {
  program
    .command('worker')
    .description('take shard, close and scheduled jobs from the queue until SIGTERM; run any number of them, anywhere')
    .option('--config <file>', 'JSON config file (also ITEMVEC_CONFIG)')
    .option('--home <dir>', 'data folder (also ITEMVEC_HOME)')
    .option('--concurrency <n>', 'shards this worker runs at once (also ITEMVEC_WORKER_CONCURRENCY; default 1)', positiveInt('--concurrency'))
    .option('--metrics-host <address>', 'where /metrics listens (also ITEMVEC_METRICS_HOST; default 127.0.0.1)')
    .option('--metrics-port <n>', 'port of /metrics (also ITEMVEC_METRICS_PORT; default 9464; 0 picks a free one)', portNumber('--metrics-port'))
    .option(
      '--grace <seconds>',
      'on SIGTERM, how long running shards may take to finish before the worker exits (they are retried elsewhere)',
      positiveInt('--grace'),
      30,
    )
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
${EXIT_CODES}`,
    )
    .action(async (opts: WorkerFlags) => {
      const config = loadConfig({
        file: opts.config,
        env: io.env,
        overrides: { home: opts.home, queue: { concurrency: opts.concurrency }, metrics: { host: opts.metricsHost, port: opts.metricsPort } },
      });
      const worker = await startWorker({ config, logger: serviceLogger(io) });
      print(
        io,
        opts.json,
        { queue: worker.queue.location, metrics_url: worker.metricsUrl },
        () => `itemvec worker on ${worker.queue.location}; metrics at ${worker.metricsUrl}; stop with SIGTERM`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      await worker.stop(opts.grace * 1000);
      // A shard still running after the grace period is abandoned here and retried by another worker
      // once its heartbeat lapses; its timers must not keep this process alive.
      io.exit(io.exitCode ?? ExitCode.ok);
    });
}
