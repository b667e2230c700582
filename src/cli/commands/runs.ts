/** `itemvec runs list | show`: the run records (embedding_runs). */
import { type Command, Option } from 'commander';
import { loadConfig } from '../../config.js';
import { ConfigError, NotFoundError } from '../../errors.js';
import { getRun, listRuns, type RunStatus } from '../../store/runs.js';
import { print, withDb } from '../common.js';
import { formatRun, formatRuns } from '../format-ops.js';
import type { CliIO } from '../io.js';
import { EXIT_CODES, type FileOptions, positiveInt, withFiles } from '../options.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function addRunsCommand(program: Command, io: CliIO): void {
  const runs = program.command('runs').description('run records (embedding_runs): what ran, when, how it ended, counts, cost');
  withFiles(runs.command('list'))
    .description('recent runs, newest first (one-shot and distributed)')
    .option('--version <name>', 'only this version')
    .addOption(new Option('--status <status>', 'only runs in this state').choices(['running', 'succeeded', 'failed', 'interrupted']))
    .option('--limit <n>', 'at most this many', positiveInt('--limit'), 20)
    .addHelpText('after', `\nExamples:\n  itemvec runs list\n  itemvec runs list --status failed --json\n${EXIT_CODES}`)
    .action(async (opts: FileOptions & { version?: string; status?: RunStatus; limit: number }) => {
      const config = loadConfig({ file: opts.config, env: io.env, overrides: { home: opts.home } });
      const list = await withDb(config, (db) => listRuns(db, { version: opts.version, status: opts.status, limit: opts.limit }));
      print(io, opts.json, list, () => formatRuns(list));
    });

  withFiles(runs.command('show'))
    .description('one run: status, error, counts, failure rate, tokens, cost, latency, and its full summary with --json')
    .argument('<run_id>', 'as `runs list` prints it')
    .addHelpText(
      'after',
      `\nExamples:\n  itemvec runs show 1b4e28ba-2fa1-4d3b-8c5e-0f6a3e2d9c71\n  itemvec runs show 1b4e28ba-2fa1-4d3b-8c5e-0f6a3e2d9c71 --json\n${EXIT_CODES}`,
    )
    .action(async (runId: string, opts: FileOptions) => {
      if (!UUID.test(runId)) throw new ConfigError(`a run id is a UUID, e.g. 1b4e28ba-2fa1-4d3b-8c5e-0f6a3e2d9c71; got "${runId}"`);
      const config = loadConfig({ file: opts.config, env: io.env, overrides: { home: opts.home } });
      const run = await withDb(config, (db) => getRun(db, runId));
      if (!run) throw new NotFoundError(`no run ${runId} (itemvec runs list)`, { runId });
      print(io, opts.json, run, () => formatRun(run));
    });
}
