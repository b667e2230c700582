/** `itemvec status`: per namespace and version, what is embedded, pending and failed; and what is running. */
import type { Command } from 'commander';
import { listRuns } from '../../store/runs.js';
import { versionStatus } from '../../store/status.js';
import { print, withDb } from '../common.js';
import { formatStatus } from '../format-ops.js';
import type { CliIO } from '../io.js';
import { type CommonOptions, configFrom, EXIT_CODES, withCommon } from '../options.js';

export function addStatusCommand(program: Command, io: CliIO): void {
  withCommon(program.command('status'))
    .description('per namespace and version of the org: catalog items, embedded, pending (no vector yet), dead letters, open batches; and running runs')
    .addHelpText('after', `\nExamples:\n  itemvec status\n  itemvec status --namespace electronics --json\n${EXIT_CODES}`)
    .action(async (opts: CommonOptions) => {
      const config = configFrom(opts, io.env);
      const result = await withDb(config, async (db) => ({
        versions: await versionStatus(db, { orgId: config.orgId, namespace: opts.namespace }),
        running: await listRuns(db, { status: 'running', limit: 100 }),
      }));
      print(io, opts.json, result, () => formatStatus(result.versions, result.running));
    });
}
