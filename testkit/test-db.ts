/**
 * A migrated database of the test's own, in a fresh home folder, closed and removed afterwards:
 *  - useTestDb(): one per file or describe(), opened in a before() hook;
 *  - openTestDb(t): one for a single test, cleaned up by t.after().
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, type TestContext } from 'node:test';
import { type Db, openDb } from '../src/store/db.js';
import { migrate } from '../src/store/migrations.js';
import { type PgliteServer, startPgliteServer } from './pglite-server.js';

export interface TestDbOptions {
  /**
   * 'pglite' (default): the embedded database, in-process, under home/pgdata.
   * 'pg': the `pg` driver over the wire, as with DATABASE_URL, to an in-memory PGlite served by
   * pglite-socket (pgvector included, no Postgres server needed).
   */
  driver?: Db['driver'];
  /** false: an empty database, for tests of migrate() itself. */
  migrate?: boolean;
}

export interface TestDb {
  db: Db;
  /** A folder of the fixture's own, for ITEMVEC_HOME, config and catalog files; removed with the database. */
  home: string;
}

const HOME_PREFIX = 'itemvec-test-';

/**
 * One database for the enclosing describe() (or the whole file at top level), opened by a before()
 * hook. The returned `db` stands in for it from that hook on: its queries and transactions wait for
 * the database to open, because at the top level of a file node:test starts each before() as it is
 * registered, without waiting for earlier ones. Its properties (driver, location, pglite,
 * copyBinary) are there once it is open.
 *
 * node:test runs after() hooks in the order they were registered, so an after() that still needs
 * the database (stopping a worker that polls it) must be registered before this call.
 */
export function useTestDb(options: TestDbOptions = {}): TestDb {
  // The path is known now so callers can destructure it; the folder is made by the hook, so a
  // skipped suite leaves nothing behind.
  const home = path.join(tmpdir(), `${HOME_PREFIX}${randomUUID()}`);
  let opening: Promise<OpenedDb> | undefined;
  let opened: OpenedDb | undefined;
  before(async () => {
    // Synchronously: a before() registered next may start at once and write into the folder.
    mkdirSync(home, { mode: 0o700 });
    opening = openIn(home, options);
    opened = await opening;
  });
  after(async () => {
    const closing = opened;
    opening = opened = undefined;
    await closing?.close();
  });
  const notOpen = () => new Error('useTestDb(): the database is open only from its before() hook until its after() hook; use it inside hooks and tests');
  const whenOpen = async () => {
    if (!opening) throw notOpen();
    return (await opening).db;
  };
  const now = () => {
    if (!opened) throw notOpen();
    return opened.db;
  };
  return { db: forwardingDb(whenOpen, now), home };
}

/** A database for this test alone, removed when it ends. */
export async function openTestDb(t: TestContext, options: TestDbOptions = {}): Promise<TestDb> {
  const home = await mkdtemp(path.join(tmpdir(), HOME_PREFIX));
  const { db, close } = await openIn(home, options);
  t.after(close);
  return { db, home };
}

interface OpenedDb {
  db: Db;
  /** Closes the database and its server and removes the home folder. */
  close(): Promise<void>;
}

async function openIn(home: string, options: TestDbOptions): Promise<OpenedDb> {
  let server: PgliteServer | undefined;
  let db: Db | undefined;
  const close = async () => {
    await db?.close();
    await server?.close();
    await rm(home, { recursive: true, force: true });
  };
  try {
    if (options.driver === 'pg') server = await startPgliteServer();
    db = await openDb({ home, databaseUrl: server?.url });
    if (options.migrate !== false) await migrate(db);
    return { db, close };
  } catch (err) {
    // No after() will know about a half-open database: undo it here.
    await close().catch(() => undefined);
    throw err;
  }
}

/** A Db that can be handed out before the real one exists: calls wait for it, properties read it. */
function forwardingDb(whenOpen: () => Promise<Db>, now: () => Db): Db {
  return {
    get driver() {
      return now().driver;
    },
    get location() {
      return now().location;
    },
    get parallelTransactions() {
      return now().parallelTransactions;
    },
    get pglite() {
      return now().pglite;
    },
    // A getter, not a method: callers test for it to choose the COPY path.
    get copyBinary() {
      const db = now();
      return db.copyBinary?.bind(db);
    },
    query: async (sql, params) => (await whenOpen()).query(sql, params),
    exec: async (sql) => (await whenOpen()).exec(sql),
    transaction: async (fn) => (await whenOpen()).transaction(fn),
    close: async () => (await whenOpen()).close(),
  };
}
