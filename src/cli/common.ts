/** Helpers every CLI command file shares. */
import type { Config } from '../config.js';
import { openDb, type Db } from '../store/db.js';
import { migrate } from '../store/migrations.js';

/** Open the configured database, bring its schema up to date, run `fn`, close it. */
export async function withDb<T>(config: Config, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDb({ databaseUrl: config.databaseUrl, home: config.home });
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
