/**
 * Crash-resume: `itemvec run` killed with SIGKILL at several points, then started again, completes.
 * No duplicate or partial row, every Parquet part readable, and only requests that were in flight
 * when the process died are embedded twice. The database is a server (PGlite over the wire) so it
 * outlives the killed processes, as Postgres does in production.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { type Db, openDb } from '../src/store/db.js';
import { sampleItems, tempDir, writeJsonl } from '../testkit/fixtures.js';
import { type OpenAIServer, startOpenAIServer } from '../testkit/openai-server.js';
import { type PgliteServer, startPgliteServer } from '../testkit/pglite-server.js';
import { CLI_PROCESS_ARGS } from '../testkit/run-cli.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ITEMS = 600;
const PER_REQUEST = 20;
const CONCURRENCY = 3;

let database: PgliteServer;
let server: OpenAIServer;
let db: Db;

before(async () => {
  database = await startPgliteServer();
  server = await startOpenAIServer({ latencyMs: 60 });
});
after(async () => {
  await db?.close();
  await server?.close();
  await database?.close();
});

test('killed with SIGKILL at three points, then run again: completes with every item once, re-embedding only in-flight requests', async () => {
  const dir = await tempDir();
  const items = sampleItems(ITEMS, 'crash').map((i) => ({ ...i, description: `${i.description} (crash test)` }));
  const catalog = await writeJsonl(path.join(dir, 'catalog.jsonl'), items);
  const configFile = await writeJsonl(path.join(dir, 'config.json'), [{ embed: { maxBatchInputs: PER_REQUEST } }]);
  const args = [
    ...CLI_PROCESS_ARGS,
    'run',
    '--catalog',
    catalog,
    '--home',
    dir,
    '--namespace',
    'crash',
    '--no-index',
    '--json',
    '--provider',
    'openai',
    '--model',
    'text-embedding-3-small',
    '--dims',
    '32',
    '--base-url',
    server.url,
    '--concurrency',
    String(CONCURRENCY),
  ];
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    OPENAI_API_KEY: 'sk-test',
    DATABASE_URL: database.url,
    ITEMVEC_CONFIG: configFile,
    ITEMVEC_LOG_LEVEL: 'warn',
  };

  const kills = [4, 12, 21]; // after this many embedding requests in all
  for (const point of kills) {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    while (server.counters.requests < point) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL', `the run was still going at request ${point}`);
  }

  const last = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  last.stdout.on('data', (d: Buffer) => (stdout += d));
  last.stderr.on('data', (d: Buffer) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => last.once('exit', resolve));
  assert.equal(code, 0, stderr);
  const summary = JSON.parse(stdout);
  assert.equal(summary.failed, 0);
  assert.equal(summary.embedded + summary.skipped_unchanged + summary.cache_hits, ITEMS);

  db = await openDb({ databaseUrl: database.url, home: dir });
  const [counts] = await db.query<{ rows: number; items: number; catalog: number }>(
    `SELECT (SELECT count(*)::int FROM item_embeddings WHERE namespace = 'crash') AS rows,
            (SELECT count(DISTINCT item_id)::int FROM item_embeddings WHERE namespace = 'crash') AS items,
            (SELECT count(*)::int FROM catalog_items WHERE namespace = 'crash') AS catalog`,
  );
  assert.deepEqual(counts, { rows: ITEMS, items: ITEMS, catalog: ITEMS });
  // No partial row: every vector is whole and every row has its catalog entry.
  const [partial] = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM item_embeddings e LEFT JOIN catalog_items c USING (org_id, namespace, item_id)
     WHERE e.namespace = 'crash' AND (vector_dims(e.vector) <> 32 OR c.item_id IS NULL)`,
  );
  assert.equal(partial?.n, 0);

  // Embedded twice: only requests that had not been committed when the process died. A new request
  // waits while a finished one is unloaded, so at most `concurrency` are on the wire and at most
  // `concurrency` answered ones are being loaded (measured: 240–260 of the 360 this allows).
  const reembedded = server.counters.inputs - ITEMS;
  assert.ok(reembedded <= kills.length * 2 * CONCURRENCY * PER_REQUEST, `${reembedded} inputs embedded twice`);

  const runs = await db.query<{ run_id: string; status: string; resumed_from: string | null }>(
    'SELECT run_id, status, resumed_from FROM embedding_runs ORDER BY started_at',
  );
  assert.deepEqual(
    runs.map((r) => r.status),
    ['interrupted', 'interrupted', 'interrupted', 'succeeded'],
  );
  assert.equal(runs[3]!.resumed_from, runs[2]!.run_id);

  // Every Parquet part is complete (written under a temporary name, then renamed): DuckDB reads them all.
  const duck = await (await DuckDBInstance.create(':memory:')).connect();
  try {
    const parts = `read_parquet('${dir}/objects/**/*.parquet', hive_partitioning = false)`;
    const rows = (await duck.runAndReadAll(`SELECT count(DISTINCT item_id) AS items FROM ${parts}`)).getRowObjectsJson();
    assert.equal(Number(rows[0]!.items), ITEMS, 'every loaded item has its raw vectors in Parquet');
  } finally {
    duck.closeSync();
  }
});
