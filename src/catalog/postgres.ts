/**
 * Postgres staging-table reader: `SELECT * FROM "schema"."table"` streamed through a server-side cursor
 * (pg-query-stream) in batches, inside one read-only REPEATABLE READ transaction so the row count used for
 * progress and the rows streamed come from the same snapshot. The connection is opened when iteration
 * starts and closed when it ends, fails, or the consumer stops early (`return()` on the iterator).
 *
 * Errors never echo the password of the connection URL.
 */
import pg from 'pg';
import QueryStream from 'pg-query-stream';
import { errorMessage, SourceError } from '../errors.js';
import { redactUrl } from '../log.js';
import type { RowDefaults, RowResult } from './item.js';
import type { CatalogReader } from './reader.js';
import { validateRow } from './validate.js';

export const TABLE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;
export const DEFAULT_BATCH_SIZE = 500;

export interface PostgresReadOptions {
  /** Rows fetched per cursor round trip (default 500). */
  batchSize?: number;
  /** Give up connecting after this long (default 10 s). */
  connectionTimeoutMillis?: number;
}

/** `schema.table` or `table` → `"schema"."table"`; SourceError for anything else. */
export function quoteTableName(table: string): string {
  if (!TABLE_NAME_PATTERN.test(table)) {
    throw new SourceError(
      `invalid table name ${JSON.stringify(table)}: expected "table" or "schema.table" made of letters, digits and underscores, not starting with a digit`,
      { table },
    );
  }
  return table
    .split('.')
    .map((part) => `"${part}"`)
    .join('.');
}

/** Remove every form of the URL's password (and the raw URL itself) from a message. */
function scrub(message: string, connectionString: string): string {
  let out = message.split(connectionString).join(redactUrl(connectionString));
  const secrets = new Set<string>();
  try {
    const url = new URL(connectionString);
    if (url.password) {
      secrets.add(url.password);
      try {
        secrets.add(decodeURIComponent(url.password));
      } catch {
        // malformed percent-encoding: the raw form is enough
      }
    }
  } catch {
    // not a URL: also hide anything that looks like `user:password@`
    out = out.replace(/\/\/([^:/@\s]*):[^@\s]*@/g, '//$1:***@');
  }
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join('***');
  return out;
}

interface PgLikeError {
  code?: string;
}

export function readPostgresTable(connectionString: string, table: string, defaults: RowDefaults, options: PostgresReadOptions = {}): CatalogReader {
  const quoted = quoteTableName(table);
  const where = redactUrl(connectionString);
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const connectionTimeoutMillis = options.connectionTimeoutMillis ?? 10_000;
  let total: number | null = null;
  let done = 0;

  const sourceError = (what: string, err: unknown, detail = true): SourceError => {
    if (err instanceof SourceError) return err;
    const code = (err as PgLikeError | null)?.code;
    const message = scrub(detail ? `${what}: ${errorMessage(err)}` : what, connectionString);
    // The cause is kept only when it is a server error (no connection details in it).
    const cause = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? { cause: err } : undefined;
    return new SourceError(message, { table, url: where, ...(code ? { errorCode: code } : {}) }, cause);
  };

  async function* rows(): AsyncGenerator<RowResult> {
    done = 0;
    let client: pg.Client;
    try {
      client = new pg.Client({ connectionString, connectionTimeoutMillis, application_name: 'itemvec' });
    } catch (err) {
      throw sourceError(`cannot connect to PostgreSQL at ${where}`, err);
    }
    // An idle client that loses its connection emits 'error'; without a listener that would crash the process.
    let lostConnection: unknown;
    client.on('error', (err) => {
      lostConnection = err;
    });
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw sourceError(`cannot connect to PostgreSQL at ${where}`, err);
    }

    let stream: QueryStream | undefined;
    try {
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const count = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${quoted}`);
        total = Number(count.rows[0]?.n ?? 0);
      } catch (err) {
        if ((err as PgLikeError).code === '42P01' || (err as PgLikeError).code === '3F000') {
          throw sourceError(`table ${table} does not exist in ${where}`, err, false);
        }
        throw sourceError(`cannot read table ${table} from ${where}`, err);
      }

      stream = new QueryStream(`SELECT * FROM ${quoted}`, [], { batchSize, highWaterMark: batchSize });
      client.query(stream);
      try {
        for await (const row of stream as AsyncIterable<Record<string, unknown>>) {
          done++;
          yield validateRow(row, { source: table, line: done }, defaults);
        }
      } catch (err) {
        throw sourceError(`cannot read table ${table} from ${where}`, lostConnection ?? err);
      }
    } finally {
      if (stream) {
        // Closing the cursor may fail once the client is ending; that must not surface as an unhandled 'error'.
        stream.on('error', () => undefined);
        if (!stream.destroyed) stream.destroy();
      }
      await client.end().catch(() => undefined);
    }
  }

  return {
    rows: { [Symbol.asyncIterator]: () => rows() },
    get total() {
      return total;
    },
    position: () => done,
    unit: 'rows',
    repeatable: true,
  };
}
