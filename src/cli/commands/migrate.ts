/** `itemvec migrate`: create or upgrade the schema. */
import type { Command } from 'commander';
import { openConfiguredDb } from '../../store/db.js';
import { migrate } from '../../store/migrations.js';
import { print } from '../common.js';
import type { CliIO } from '../io.js';
import { type CommonOptions, configFrom, withCommon } from '../options.js';

export function addMigrateCommand(program: Command, io: CliIO): void {
  withCommon(program.command('migrate'))
    .description('create or upgrade the schema (every command also does this at start)')
    .addHelpText('after', '\nExamples:\n  DATABASE_URL=postgres://app@db/catalog itemvec migrate')
    .action(async (opts: CommonOptions) => {
      const config = configFrom(opts, io.env);
      const db = await openConfiguredDb(config);
      try {
        const applied = await migrate(db);
        print(io, opts.json, { database: db.location, applied }, () => `schema up to date on ${db.location} (applied: ${applied.join(', ') || 'none'})`);
      } finally {
        await db.close();
      }
    });
}
