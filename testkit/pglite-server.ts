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
 *  - "One at a time" is per protocol MESSAGE, not per query: two connections' extended-protocol
 *    exchanges (Parse, Bind, Execute … Sync; what `pg` sends for any query with parameters)
 *    interleave and break each other ("bind message supplies 3 parameters, but prepared statement
 *    "" requires 5"). Measured with two processes loading at once. `wholeExchanges: true` keeps
 *    the session with one connection from its first message to its Sync or simple Query, as
 *    pglite-socket itself does for an open transaction (opt-in, so other tests run as before).
 */
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface PgliteServer {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  url: string;
  close(): Promise<void>;
}

export async function startPgliteServer(options: { maxConnections?: number; wholeExchanges?: boolean } = {}): Promise<PgliteServer> {
  const db = await PGlite.create({ extensions: { vector } });
  // Port 0: the OS picks a free port; start() reads the real one back from the listening socket.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: options.maxConnections ?? 8 });
  if (options.wholeExchanges) serializeExchanges(server, db);
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

/** pglite-socket 0.2.17's queue, as its dist has it (the fields are private in its types). */
interface QueueItem {
  handlerId: number;
  message: Uint8Array;
  resolve(bytes: number): void;
  reject(err: unknown): void;
  onData(data: Uint8Array): void;
}
interface QueryQueue {
  queue: QueueItem[];
  processing: boolean;
  lastHandlerId: number | null;
  processQueue(): Promise<void>;
  clearTransactionIfNeeded(handlerId: number): Promise<void>;
}

/** Message types after which a connection's exchange is over: Sync, simple Query, Terminate. */
const EXCHANGE_ENDS = new Set(['S', 'Q', 'X'].map((c) => c.charCodeAt(0)));
const SYNC = new Uint8Array([0x53, 0, 0, 0, 4]);

/**
 * Replace the queue's scheduling so that a connection keeps the session from its first message
 * to the end of its exchange (or of its transaction). A connection that goes away mid-exchange (a
 * killed process) gets a Sync sent on its behalf, so the session leaves the "skip until Sync"
 * state an error would have put it in, and the others go on.
 */
function serializeExchanges(server: PGLiteSocketServer, db: PGlite): void {
  const q = (server as unknown as { queryQueue: QueryQueue }).queryQueue;
  let owner: number | null = null;
  q.processQueue = async function processQueue(this: QueryQueue) {
    if (this.processing) return;
    this.processing = true;
    try {
      while (this.queue.length > 0) {
        const holder = owner ?? (db.isInTransaction() ? this.lastHandlerId : null);
        const index = holder === null ? 0 : this.queue.findIndex((item) => item.handlerId === holder);
        // The holder's next message has not arrived yet: wait for it (its enqueue calls us again).
        if (index === -1) break;
        const [item] = this.queue.splice(index, 1);
        let bytes = 0;
        try {
          await db.runExclusive(() =>
            db.execProtocolRawStream(item!.message, {
              onRawData: (data: Uint8Array) => {
                bytes += data.length;
                item!.onData(data);
              },
            }),
          );
        } catch (err) {
          item!.reject(err);
          continue;
        }
        // A startup packet has no type byte; its first byte is 0 (the length's high byte).
        owner = item!.message[0] === 0 || EXCHANGE_ENDS.has(item!.message[0]!) ? null : item!.handlerId;
        this.lastHandlerId = item!.handlerId;
        item!.resolve(bytes);
      }
    } finally {
      this.processing = false;
    }
  };
  const clearTransaction = q.clearTransactionIfNeeded.bind(q);
  q.clearTransactionIfNeeded = async function clearTransactionIfNeeded(handlerId: number) {
    if (owner === handlerId) {
      owner = null;
      await db.runExclusive(() => db.execProtocolRawStream(SYNC, { onRawData: () => {} }));
    }
    await clearTransaction(handlerId);
    await q.processQueue();
  };
}
