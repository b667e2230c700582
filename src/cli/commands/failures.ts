/** `itemvec failures list | retry`: the rows and items a run could not embed (dead letters). */
import { type Command, Option } from 'commander';
import { ExitCode } from '../../errors.js';
import { retryFailures } from '../../pipeline/retry-failures.js';
import { type FailureStage, listFailures } from '../../store/failures.js';
import { cliLogger, print, withDb } from '../common.js';
import { formatFailures, formatRetries } from '../format.js';
import type { CliIO } from '../io.js';
import { type CommonOptions, configFrom, EXIT_CODES, positiveInt, withCommon } from '../options.js';

export function addFailuresCommand(program: Command, io: CliIO): void {
  const failures = program.command('failures').description('rows and items a run could not embed (dead letters)');
  withCommon(failures.command('list'))
    .description('list recorded failures, newest first: which item or row, which field, why')
    .option('--run <run_id>', 'only failures last seen in this run')
    .option('--version <name>', 'only this version')
    .option('--limit <n>', 'at most this many', positiveInt('--limit'), 100)
    .addHelpText('after', '\nExamples:\n  itemvec failures list\n  itemvec failures list --run 1b4e… --json')
    .action(async (opts: CommonOptions & { run?: string; limit: number }) => {
      const config = configFrom(opts, io.env);
      await withDb(config, async (db) => {
        const list = await listFailures(db, { orgId: config.orgId, namespace: opts.namespace, version: opts.version, runId: opts.run, limit: opts.limit });
        print(io, opts.json, list, () => formatFailures(list));
      });
    });

  withCommon(failures.command('retry'))
    .description('replay recorded failures with the settings of the version they failed in; resolved ones are removed')
    .option('--run <run_id>', 'only failures last seen in this run')
    .option('--version <name>', 'only this version')
    .addOption(new Option('--stage <stage>', 'only failures of this stage').choices(['extract', 'transform', 'embed', 'load']))
    .option('--dry-run', 'count what would be replayed; call no model, write nothing')
    .addHelpText(
      'after',
      `
Examples:
  itemvec failures retry
  itemvec failures retry --stage embed --version v3 --json
  OPENAI_API_KEY=… itemvec failures retry --run 1b4e…
${EXIT_CODES}`,
    )
    .action(async (opts: CommonOptions & { run?: string; stage?: FailureStage; dryRun?: boolean }) => {
      const config = configFrom(opts, io.env);
      const logger = cliLogger(io);
      await withDb(config, async (db) => {
        const results = await retryFailures({
          config,
          db,
          logger,
          dryRun: opts.dryRun,
          filter: { namespace: opts.namespace, version: opts.version, runId: opts.run, stage: opts.stage },
        });
        print(io, opts.json, results, () => formatRetries(results));
        if (results.some((r) => r.summary.alert)) io.exitCode = ExitCode.failureRate;
      });
    });
}
