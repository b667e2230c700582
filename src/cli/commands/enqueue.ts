/** `itemvec enqueue`: queue a distributed run now, and with --wait see it through. */
import { type Command, Option } from 'commander';
import { ExitCode, ItemvecError } from '../../errors.js';
import { planRun } from '../../orchestrate/plan.js';
import { openQueue } from '../../orchestrate/queue.js';
import { runSpec } from '../../orchestrate/spec.js';
import { startWorker } from '../../orchestrate/worker.js';
import { type Db, openConfiguredDb } from '../../store/db.js';
import { migrate } from '../../store/migrations.js';
import { getRun, type RunDetail } from '../../store/runs.js';
import { cliLogger, print } from '../common.js';
import { formatRun } from '../format-ops.js';
import type { CliIO } from '../io.js';
import { type ConfigFlags, configFrom, EXIT_CODES, positiveInt, type SourceFlags, sourceFromFlags, withDistributedRunFlags } from '../options.js';

type EnqueueFlags = ConfigFlags & SourceFlags & { shards?: number; trigger: string; wait?: boolean; timeout: number };

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

export function addEnqueueCommand(program: Command, io: CliIO): void {
  withDistributedRunFlags(program.command('enqueue'))
    .description('queue a distributed run now: one job per shard and a close job, taken by `itemvec worker` processes')
    .addOption(new Option('--modality <m>', 'text or image').choices(['text', 'image']))
    .option('--trigger <name>', "recorded in the run's row, e.g. airflow", 'cli')
    .option('--wait', 'wait until the run ends; exit 0, 6 (failure rate above threshold) or 8 (failed). Embedded database: this process works the run itself')
    .option('--timeout <seconds>', 'with --wait: give up waiting after this long (exit 8; the run goes on)', positiveInt('--timeout'), 24 * 3600)
    .addHelpText(
      'after',
      `
Examples:
  DATABASE_URL=postgres://app@db/catalog itemvec enqueue --catalog /shared/catalog.jsonl --shards 32
  itemvec enqueue --source postgres://etl@warehouse/analytics --table analytics.catalog_features_raw --wait --json
  itemvec enqueue --catalog samples/catalog.jsonl --shards 4 --wait      # embedded: works the shards here
${EXIT_CODES}`,
    )
    .action(async (opts: EnqueueFlags) => {
      const config = configFrom(opts, io.env);
      const spec = runSpec(config, sourceFromFlags(opts), opts.shards);
      const logger = cliLogger(io);
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
        print(
          io,
          opts.json,
          { run_id: runId, shards: spec.shards, queue: queueLocation, status: 'queued' },
          () => `run ${runId} queued in ${spec.shards} shards on ${queueLocation}\nfollow it with: itemvec runs show ${runId}`,
        );
        return;
      }
      if (!run)
        throw new ItemvecError(
          'RUN_WAIT_TIMEOUT',
          `run ${runId} is still running after ${opts.timeout} s (it goes on; itemvec runs show ${runId})`,
          ExitCode.runFailed,
          { runId },
        );
      print(io, opts.json, run, () => formatRun(run));
      io.exitCode = exitCodeOf(run, config.run.alertFailureRate);
    });
}
