/**
 * The job against Postgres over the wire: `DATABASE_URL` through the `pg` driver (PGlite served by
 * pglite-socket, so pgvector is there), and a staging table on this machine's PostgreSQL server.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createLocalUseProvider } from '../src/embed/local-use.js';
import type { EmbeddingProvider } from '../src/embed/provider.js';
import { runEmbeddingJob } from '../src/pipeline/run.js';
import { similar } from '../src/retrieve/similar.js';
import { type Db, openDb } from '../src/store/db.js';
import { listFailures } from '../src/store/failures.js';
import { quietLogger, sampleItems, tempDir, testConfig, writeJsonl } from '../testkit/fixtures.js';
import { connectTestPostgres, needServer, TEST_PG_URL } from '../testkit/local-postgres.js';
import { startPgliteServer } from '../testkit/pglite-server.js';

let local: EmbeddingProvider;
const logger = quietLogger();
before(async () => {
  local = await createLocalUseProvider();
});
after(() => local.close());

test('with DATABASE_URL the job runs unchanged through the pg driver', async () => {
  const server = await startPgliteServer();
  after(() => server.close());
  const home = await tempDir();
  const file = await writeJsonl(path.join(home, 'c.jsonl'), sampleItems(12, 'wire'));
  const config = testConfig(home, { databaseUrl: server.url });
  const first = await runEmbeddingJob({ config, source: { kind: 'file', path: file }, provider: local, logger });
  assert.equal(first.database, server.url);
  assert.equal(first.embedded, 12);
  const second = await runEmbeddingJob({ config, source: { kind: 'file', path: file }, provider: local, logger });
  assert.deepEqual([second.embedded, second.api_calls], [0, 0]);

  const db = await openDb({ databaseUrl: server.url, home });
  try {
    assert.equal(db.driver, 'pg');
    assert.equal(db.parallelTransactions, false, 'PGlite over the wire is one session');
    const { candidates } = await similar(db, { orgId: config.orgId, namespace: 'default', itemId: 'wire-0002', k: 2 });
    assert.deepEqual(
      candidates.map((c) => c.category),
      ['Kitchen > Espresso Machines', 'Kitchen > Espresso Machines'],
    );
  } finally {
    await db.close();
  }
});

test('loads run one transaction at a time where the database is one session, several where it is a server', async () => {
  const server = await startPgliteServer();
  after(() => server.close());
  const home = await tempDir();
  /** The most transactions open at once while a run loads slices of 3 with four load connections. */
  const peakTransactions = async (namespace: string, parallelTransactions: boolean) => {
    const file = await writeJsonl(path.join(home, `${namespace}.jsonl`), sampleItems(24, namespace));
    const db = await openDb({ databaseUrl: server.url, home });
    let open = 0;
    let peak = 0;
    const counting: Db = {
      ...db,
      parallelTransactions,
      async transaction(fn) {
        peak = Math.max(peak, ++open);
        try {
          return await db.transaction(fn);
        } finally {
          open -= 1;
        }
      },
    };
    try {
      const config = testConfig(home, { databaseUrl: server.url, namespace, run: { loadBatchSize: 3, loadConnections: 4 } });
      const summary = await runEmbeddingJob({ config, source: { kind: 'file', path: file }, provider: local, logger, db: counting });
      assert.equal(summary.embedded, 24);
      return peak;
    } finally {
      await db.close();
    }
  };
  // Over the wire, two transactions at once interleave their protocol messages in PGlite's single
  // session and can stall for good (a 5,000-item run did): the job must not try.
  assert.equal(await peakTransactions('one-session', false), 1);
  // The same run on what claims to be a server does use the connections, so the first figure is the
  // job's choice, not an accident of timing.
  assert.ok((await peakTransactions('server', true)) > 1);
});

test('the job reads a staging table on a Postgres server', async (t) => {
  const conn = await connectTestPostgres();
  if (!needServer(t, conn.unreachable) || !conn.client) return;
  const admin = conn.client;
  const table = `analytics.catalog_features_raw_${randomBytes(5).toString('hex')}`;
  after(async () => {
    await admin.query(`DROP TABLE IF EXISTS ${table}`);
    await admin.end();
  });
  await admin.query('CREATE SCHEMA IF NOT EXISTS analytics');
  await admin.query(`CREATE TABLE ${table} (item_id text, description text, brand text, category text, image_url text, tags text[], metadata_version int)`);
  const items = sampleItems(8, 'stage');
  for (const i of items) {
    await admin.query(`INSERT INTO ${table} VALUES ($1, $2, $3, $4, $5, $6, 1)`, [i.item_id, i.description, i.brand, i.category, i.image_url, i.tags]);
  }
  await admin.query(`INSERT INTO ${table} VALUES ('stage-bad', NULL, 'b', 'c', 'https://x/1.jpg', NULL, 1)`);

  const home = await tempDir();
  const config = testConfig(home);
  const summary = await runEmbeddingJob({ config, source: { kind: 'postgres', url: TEST_PG_URL, table }, provider: local, logger });
  assert.equal(summary.items_seen, 9);
  assert.equal(summary.embedded, 8);
  assert.equal(summary.rejected, 1);
  const db = await openDb({ home });
  try {
    const [failure] = await listFailures(db, { orgId: config.orgId });
    assert.equal(failure?.item_id, 'stage-bad');
    assert.equal(failure?.field, 'description');
    const [tags] = await db.query<{ tags: string[]; metadata_version: string }>(
      "SELECT tags, metadata_version FROM catalog_items WHERE item_id = 'stage-0001'",
    );
    assert.deepEqual(tags, { tags: items[0]!.tags, metadata_version: '1' });
  } finally {
    await db.close();
  }
});
