/**
 * An in-memory PGlite (with pgvector) served over the Postgres wire protocol, so the `pg` driver
 * path of src/store/db.ts can be tested without a Postgres server that has pgvector.
 *
 * What pglite-socket 0.2.17 does (read from its dist and checked here):
 *  - It accepts any user, password and database name and ignores them: every connection is
 *    `postgres` on database `postgres`.
 *  - `maxConnections` defaults to 1. A further concurrent connection gets the bytes
 *    "Too many connections\n" and is closed, which `pg` reports as `read ECONNRESET`. openDb's
 *    default pool (max 4) therefore breaks against a default server under concurrency, so this
 *    helper raises the limit (default 8) instead of shrinking the pool.
 *  - All connections multiplex ONE PGlite session: queries are queued one at a time, and while a
 *    transaction is open only that connection's queries run. Session state (SET, temp tables,
 *    prepared statements) is shared. Fine for plain-query wire tests; not a concurrency test bed.
 */
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface PgliteServer {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  url: string;
  close(): Promise<void>;
}

export async function startPgliteServer(options: { maxConnections?: number } = {}): Promise<PgliteServer> {
  const db = await PGlite.create({ extensions: { vector } });
  // Port 0: the OS picks a free port; start() reads the real one back from the listening socket.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: options.maxConnections ?? 8 });
  try {
    await server.start();
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  const conn = server.getServerConn(); // "127.0.0.1:PORT"
  const port = Number(conn.slice(conn.lastIndexOf(':') + 1));
  if (!Number.isInteger(port) || port <= 0) {
    await server.stop();
    await db.close();
    throw new Error(`pglite-socket did not report a port (${conn})`);
  }
  let closed = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async close() {
      if (closed) return;
      closed = true;
      await server.stop();
      await db.close();
    },
  };
}
