/**
 * Load benchmark: how fast item vectors reach `item_embeddings` through the store's write path
 * (`upsertItemVectors` in one transaction per slice, as the pipeline's loader writes them), per
 * path and per storage setting of the `vector` column.
 *
 *   npm run bench:load -- --database-url postgres://…/db [--rows 100000] [--dims 3072] [--batch 1000]
 *                         [--paths copy,params] [--storage main,external] [--connections 1,2,4]
 *                         [--vector-storage vector,halfvec]
 *
 * Paths: `copy` is COPY BINARY (pg-copy-streams) into a staging table and one INSERT … SELECT …
 * ON CONFLICT per slice, what a transaction on a real server uses; `params` is the same rows as
 * binary parameters of one multi-row INSERT, what a pooled handle (and PGlite over the wire) uses.
 * Storage: `main` is pgvector's default for the column (compression tried, then out of line);
 * `external` skips the compression attempt that incompressible floats never win.
 *
 * Vector storage: the version's own (`itemvec run --storage`): float32 in `vector`, or float16 in
 * `half`, cast by the server on insert.
 *
 * Connections: how many slices are written at once, each in its own transaction on its own
 * connection (the loader's `run.loadConnections`).
 *
 * Vectors are drawn from a pool of 1,000 random unit vectors so generating them costs nothing
 * measurable; each configuration writes under a fresh namespace, removed afterwards, and the
 * column's storage setting is put back to what it was.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { openDb, type Queryable } from '../src/store/db.js';
import { type ItemVectorRow, upsertItemVectors } from '../src/store/embeddings.js';
import type { VectorStorage } from '../src/store/keys.js';
import { migrate } from '../src/store/migrations.js';
import { ensureVersion } from '../src/store/versions.js';
import { randomVector } from '../testkit/random.js';
import { machine, machineLine } from './machine.js';
import { peakRssMb } from './peak-rss.js';

const { values: o } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    dims: { type: 'string', default: '3072' },
    batch: { type: 'string', default: '1000' },
    paths: { type: 'string', default: 'copy,params' },
    storage: { type: 'string', default: 'main,external' },
    connections: { type: 'string', default: '1' },
    'vector-storage': { type: 'string', default: 'vector' },
    'database-url': { type: 'string', default: process.env.DATABASE_URL },
  },
});
const databaseUrl = o['database-url'];
if (!databaseUrl) throw new Error('bench:load measures a Postgres server: pass --database-url postgres://… (a database with pgvector)');
const rows = Number(o.rows);
const dims = Number(o.dims);
const batch = Number(o.batch);
const pool = Array.from({ length: 1000 }, (_, i) => randomVector(i + 1, dims));
const orgId = randomUUID();

const slice = (from: number, n: number): ItemVectorRow[] =>
  Array.from({ length: n }, (_, j) => ({
    itemId: `item-${String(from + j).padStart(7, '0')}`,
    vector: pool[(from + j) % pool.length]!,
    metadataHash: 'bench',
    metadataVersion: null,
    chunkCount: 1,
    tokenCount: 1,
    generatedAt: new Date(),
  }));

/** Without COPY: what a handle that cannot stage rows sends. */
const withoutCopy = (tx: Queryable): Queryable => ({ query: tx.query.bind(tx), exec: tx.exec.bind(tx) });

const connectionsList = o.connections!.split(',').map(Number);
const db = await openDb({ databaseUrl, home: '/nonexistent', maxConnections: Math.max(...connectionsList) });
try {
  await migrate(db);
  const [server] = await db.query<{ version: string }>('SELECT version()');
  const [pgvector] = await db.query<{ extversion: string }>("SELECT extversion FROM pg_extension WHERE extname = 'vector'");
  const [storage] = await db.query<{ attstorage: string }>(
    "SELECT attstorage FROM pg_attribute WHERE attrelid = 'item_embeddings'::regclass AND attname = 'vector'",
  );
  const original = { p: 'PLAIN', e: 'EXTERNAL', m: 'MAIN', x: 'EXTENDED' }[storage!.attstorage] ?? 'EXTENDED';
  console.log(`itemvec load benchmark · ${db.location} · ${server!.version.split(' on ')[0]} · pgvector ${pgvector?.extversion} · ${machineLine(machine())}`);
  console.log(`${rows} rows × ${dims}-d, ${batch} rows per transaction; the column's own storage is ${original}`);
  console.log('path    storage    vectors  conns  seconds  rows/s');
  for (const setting of o.storage!.split(',')) {
    await db.exec(`ALTER TABLE item_embeddings ALTER COLUMN vector SET STORAGE ${setting === 'external' ? 'EXTERNAL' : original}`);
    for (const path of o.paths!.split(',')) {
      for (const connections of connectionsList) {
        for (const vectors of o['vector-storage']!.split(',') as VectorStorage[]) {
          const key = { orgId, namespace: `load-${path}-${setting}-${connections}-${vectors}`, modality: 'text' as const, version: 'v1' };
          await ensureVersion(db, { ...key, provider: 'bench', model: 'm', dims, promptTemplate: 't', textSearchConfig: 'english', storage: vectors });
          const started = performance.now();
          let next = 0;
          // Each worker takes the next slice: `connections` transactions in flight at most.
          const worker = async () => {
            for (let i = next; i < rows; i = next) {
              next += batch;
              const part = slice(i, Math.min(batch, rows - i));
              await db.transaction((tx) => upsertItemVectors(path === 'copy' ? tx : withoutCopy(tx), key, 'm', part));
            }
          };
          await Promise.all(Array.from({ length: connections }, worker));
          const s = (performance.now() - started) / 1000;
          console.log(
            `${path.padEnd(8)}${setting.padEnd(11)}${vectors.padEnd(8)}${String(connections).padStart(6)}${s.toFixed(1).padStart(9)}  ${Math.round(rows / s)}`,
          );
          await db.query('DELETE FROM item_embeddings WHERE org_id = $1 AND namespace = $2', [orgId, key.namespace]);
          await db.query('DELETE FROM embedding_versions WHERE org_id = $1 AND namespace = $2', [orgId, key.namespace]);
        }
      }
    }
  }
  await db.exec(`ALTER TABLE item_embeddings ALTER COLUMN vector SET STORAGE ${original}`);
  console.log(`peak RSS ${peakRssMb()} MB`);
} finally {
  await db.close();
}
