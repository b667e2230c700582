/** Helpers every CLI command file shares. */
import type { Config } from '../config.js';
import { createLogger, type Logger } from '../log.js';
import { type Db, openConfiguredDb } from '../store/db.js';
import { migrate } from '../store/migrations.js';
import type { CliIO } from './io.js';

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
export const print = (io: CliIO, json: boolean | undefined, value: unknown, text: () => string) => {
  io.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text()}\n`);
};

/** A command's logger: on a terminal only warnings (the output says the rest); for schedulers (no TTY) every info line. */
export const cliLogger = (io: CliIO): Logger => createLogger({ level: io.env.ITEMVEC_LOG_LEVEL ?? (io.stderrIsTTY ? 'warn' : 'info'), destination: io.logs });

/** A service's logger (serve, worker): it runs unattended, so its info lines are its record, terminal or not. */
export const serviceLogger = (io: CliIO): Logger => createLogger({ level: io.env.ITEMVEC_LOG_LEVEL ?? 'info', destination: io.logs });
