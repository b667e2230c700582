/**
 * The one database access layer. Two drivers behind one small interface:
 *  - `pg` (a Pool) when DATABASE_URL points at a Postgres server with pgvector;
 *  - PGlite (Postgres in WebAssembly, in-process) with its pgvector extension as the embedded
 *    default, its data folder under ITEMVEC_HOME.
 * Everything above this file speaks plain SQL with `$n` parameters and gets plain rows back.
 */
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Config } from '../config.js';
import { DatabaseError, errorMessage } from '../errors.js';
import { redactUrl } from '../log.js';
import { makeDir } from '../make-dir.js';
import { lockFolder } from './folder-lock.js';

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Several statements, no parameters (migrations). */
  exec(sql: string): Promise<void>;
  /**
   * `COPY table FROM … WITH (FORMAT binary)` with `data` as the whole stream (binary.ts builds it):
   * the fastest way rows reach Postgres on either driver (bench/README.md, "Loading"). Present where
   * one session runs every statement: PGlite, and a pg transaction. A pooled pg handle has none,
   * since a staging table written on one pooled connection is invisible on the next.
   */
  copyBinary?(table: string, data: Uint8Array): Promise<void>;
}

export interface Db extends Queryable {
  readonly driver: 'pg' | 'pglite';
  /** Where the data lives, safe to log (the password is masked). */
  readonly location: string;
  /**
   * Whether transactions on separate connections run at once: true on a Postgres server. PGlite is
   * one session, in-process or served over the wire (pglite-socket), so parallel loads there would
   * only queue, or, over the wire, interleave one another's protocol messages and stall.
   */
  readonly parallelTransactions: boolean;
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
  /** Embedded database: how long to wait for another process to let go of it (default 0: fail at once, DB_LOCKED). */
  lockWaitSeconds?: number;
}

export async function openDb(options: OpenDbOptions): Promise<Db> {
  return options.databaseUrl
    ? openPg(options.databaseUrl, options.maxConnections ?? 4)
    : openPglite(path.join(options.home, 'pgdata'), options.lockWaitSeconds ?? 0);
}

/** The database a config names. */
export function openConfiguredDb(config: Pick<Config, 'databaseUrl' | 'home' | 'lockWaitSeconds'>, options: { maxConnections?: number } = {}): Promise<Db> {
  return openDb({ databaseUrl: config.databaseUrl, home: config.home, lockWaitSeconds: config.lockWaitSeconds, ...options });
}

async function openPg(url: string, max: number): Promise<Db> {
  const location = redactUrl(url);
  const pool = new pg.Pool({ connectionString: url, max, application_name: 'itemvec' });
  // An idle client's error (server restart) must not crash the process; the next query reports it.
  pool.on('error', () => {});
  let pgliteOverWire: boolean;
  try {
    const client = await pool.connect();
    // PGlite served over the wire (pglite-socket, tests) answers one protocol message at a time and
    // loses sync on COPY FROM STDIN; it gets the binary-parameter path. Real servers take COPY.
    pgliteOverWire = /PGlite/.test((await client.query<{ v: string }>('SELECT version() AS v')).rows[0]?.v ?? '');
    client.release();
  } catch (err) {
    await pool.end().catch(() => {});
    throw new DatabaseError('DB_CONNECT', `cannot connect to ${location}: ${errorMessage(err)}`, { location }, { cause: err });
  }
  // A server that stops answering mid-run is a database error (exit 4), like one that never answered.
  const lost = (err: unknown) =>
    isConnectionLoss(err)
      ? new DatabaseError('DB_CONNECTION_LOST', `lost the connection to ${location}: ${errorMessage(err)}`, { location }, { cause: err })
      : err;
  const wrap = (run: (sql: string, params?: unknown[]) => Promise<pg.QueryResult>, client?: pg.PoolClient): Queryable => ({
    ...(client && {
      async copyBinary(table: string, data: Uint8Array) {
        try {
          // pg-copy-streams speaks COPY's sub-protocol on the transaction's own connection.
          await pipeline(Readable.from([data]), client.query(copyFrom(`COPY ${table} FROM STDIN WITH (FORMAT binary)`)));
        } catch (err) {
          throw lost(err);
        }
      },
    }),
    async query<R>(sql: string, params?: unknown[]) {
      try {
        return (await run(sql, params)).rows as R[];
      } catch (err) {
        throw lost(err);
      }
    },
    async exec(sql: string) {
      try {
        await run(sql);
      } catch (err) {
        throw lost(err);
      }
    },
  });
  const base = wrap((sql, params) => pool.query(sql, params));
  return {
    driver: 'pg',
    location,
    parallelTransactions: !pgliteOverWire,
    ...base,
    async transaction(fn) {
      const client = await pool.connect().catch((err: unknown) => {
        throw lost(err);
      });
      try {
        await client.query('BEGIN');
        const result = await fn(wrap((sql, params) => client.query(sql, params), pgliteOverWire ? undefined : client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw lost(err);
      } finally {
        client.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
}

async function openPglite(dataDir: string, lockWaitSeconds: number): Promise<Db> {
  try {
    await makeDir(dataDir);
  } catch (err) {
    throw new DatabaseError(
      'DB_OPEN',
      `cannot create the embedded database folder ${dataDir}: ${errorMessage(err)} (ITEMVEC_HOME must be writable)`,
      { dataDir },
      { cause: err },
    );
  }
  const lock = await lockFolder(dataDir, lockWaitSeconds);
  const [{ PGlite }, { vector }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-pgvector')]);
  let db: PGlite;
  try {
    db = await PGlite.create(dataDir, { extensions: { vector } });
  } catch (err) {
    await lock.release();
    throw new DatabaseError('DB_OPEN', `cannot open the embedded database in ${dataDir}: ${errorMessage(err)}`, { dataDir }, { cause: err });
  }
  // Refused rather than risked: another process holds the folder now (proper-lockfile saw its lock taken).
  const held = () => {
    if (lock.lost)
      throw new DatabaseError(
        'DB_LOCK_LOST',
        `the lock on ${dataDir} was taken by another process: stopping before two writers corrupt it`,
        { dataDir },
        { cause: lock.lost },
      );
  };
  const wrap = (target: PGlite | Transaction): Queryable => ({
    async query<R>(sql: string, params?: unknown[]) {
      held();
      return (await target.query<R>(sql, params)).rows;
    },
    async exec(sql: string) {
      held();
      await target.exec(sql);
    },
    async copyBinary(table: string, data: Uint8Array) {
      held();
      // PGlite reads COPY input from a virtual file, not from the wire.
      await target.query(`COPY ${table} FROM '/dev/blob' WITH (FORMAT binary)`, [], { blob: new Blob([data]) });
    },
  });
  return {
    driver: 'pglite',
    location: dataDir,
    parallelTransactions: false,
    pglite: db,
    ...wrap(db),
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
    async close() {
      try {
        await db.close();
      } finally {
        await lock.release();
      }
    },
  };
}

/**
 * Errors that mean the server went away rather than that a statement was wrong: the socket's own
 * errors, node-postgres's "Connection terminated", SQLSTATE class 08 (connection exception) and
 * the server shutting down (57P01–57P03).
 */
function isConnectionLoss(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (/^(08|57P0[1-3])/.test(code) || ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTCONN'].includes(code)))
    return true;
  return /Connection terminated|not queryable|connection error/i.test(errorMessage(err));
}

/** Quote a value as an SQL string literal. Only for names already checked against NAME_PATTERN. */
export function sqlLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
