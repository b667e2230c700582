/** Helpers every CLI command file shares. */
import type { Command } from 'commander';
import type { Config } from '../config.js';
import { createLogger, type Logger } from '../log.js';
import { openConfiguredDb, type Db } from '../store/db.js';
import { migrate } from '../store/migrations.js';

/** Open the configured database, bring its schema up to date, run `fn`, close it. */
export async function withDb<T>(config: Config, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openConfiguredDb(config);
  try {
    await migrate(db);
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** Results go to stdout: one JSON object with --json, text otherwise. */
export const print = (json: boolean | undefined, value: unknown, text: () => string) => {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text()}\n`);
};

/** A command's logger: on a terminal only warnings (the output says the rest); for schedulers (no TTY) every info line. */
export const cliLogger = (): Logger => createLogger({ level: process.env.ITEMVEC_LOG_LEVEL ?? (process.stderr.isTTY ? 'warn' : 'info') });

/** --config, --home and --json, for commands that need no org, namespace or provider. */
export const withFiles = (cmd: Command): Command =>
  cmd
    .option('--config <file>', 'JSON config file (also ITEMVEC_CONFIG)')
    .option('--home <dir>', 'data folder (also ITEMVEC_HOME)')
    .option('--json', 'print JSON instead of text');
