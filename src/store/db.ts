/**
 * The one database access layer. Two drivers behind one small interface:
 *  - `pg` (a Pool) when DATABASE_URL points at a Postgres server with pgvector;
 *  - PGlite (Postgres in WebAssembly, in-process) with its pgvector extension as the embedded
 *    default, its data folder under ITEMVEC_HOME.
 * Everything above this file speaks plain SQL with `$n` parameters and gets plain rows back.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import pg from 'pg';
import { DatabaseError, errorMessage } from '../errors.js';
import { redactUrl } from '../log.js';

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Several statements, no parameters (migrations). */
  exec(sql: string): Promise<void>;
  /**
   * PGlite only: run `COPY … FROM '/dev/blob'` with `data` as the file. PGlite cannot take binary
   * parameters, so bulk vector loads use COPY BINARY instead; the pg driver uses binary parameters.
   */
  copyFromBlob?(sql: string, data: Uint8Array): Promise<void>;
}

export interface Db extends Queryable {
  readonly driver: 'pg' | 'pglite';
  /** Where the data lives, safe to log (the password is masked). */
  readonly location: string;
  /** The embedded instance (PGlite driver only), for code that must share its single session: the pg-boss queue in embedded mode. */
  readonly pglite?: PGlite;
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenDbOptions {
  /** `postgres://…`; when absent the embedded PGlite database under `home` is used. */
  databaseUrl?: string;
  home: string;
  /** pg pool size; the pipeline needs few connections (loads are serialised). */
  maxConnections?: number;
}

export async function openDb(options: OpenDbOptions): Promise<Db> {
  return options.databaseUrl ? openPg(options.databaseUrl, options.maxConnections ?? 4) : openPglite(path.join(options.home, 'pgdata'));
}

async function openPg(url: string, max: number): Promise<Db> {
  const location = redactUrl(url);
  const pool = new pg.Pool({ connectionString: url, max, application_name: 'itemvec' });
  // An idle client's error (server restart) must not crash the process; the next query reports it.
  pool.on('error', () => {});
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => {});
    throw new DatabaseError('DB_CONNECT', `cannot connect to ${location}: ${errorMessage(err)}`, { location }, { cause: err });
  }
  const wrap = (run: (sql: string, params?: unknown[]) => Promise<pg.QueryResult>): Queryable => ({
    async query<R>(sql: string, params?: unknown[]) {
      return (await run(sql, params)).rows as R[];
    },
    async exec(sql: string) {
      await run(sql);
    },
  });
  const base = wrap((sql, params) => pool.query(sql, params));
  return {
    driver: 'pg',
    location,
    ...base,
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(wrap((sql, params) => client.query(sql, params)));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
}

async function openPglite(dataDir: string): Promise<Db> {
  await mkdir(dataDir, { recursive: true });
  const [{ PGlite }, { vector }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-pgvector')]);
  let db: PGlite;
  try {
    db = await PGlite.create(dataDir, { extensions: { vector } });
  } catch (err) {
    throw new DatabaseError('DB_OPEN', `cannot open the embedded database in ${dataDir}: ${errorMessage(err)}`, { dataDir }, { cause: err });
  }
  const wrap = (target: PGlite | Transaction): Queryable => ({
    async query<R>(sql: string, params?: unknown[]) {
      return (await target.query<R>(sql, params)).rows;
    },
    async exec(sql: string) {
      await target.exec(sql);
    },
    async copyFromBlob(sql: string, data: Uint8Array) {
      await target.query(sql, [], { blob: new Blob([data]) });
    },
  });
  return {
    driver: 'pglite',
    location: dataDir,
    pglite: db,
    ...wrap(db),
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
    async close() {
      await db.close();
    },
  };
}

/** Quote a value as an SQL string literal. Only for names already checked against NAME_PATTERN. */
export function sqlLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
