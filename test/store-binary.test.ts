/** The binary vector write path (COPY BINARY on PGlite, binary parameters on pg) returns exactly what was written. */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { fromSql } from 'pgvector';
import { openDb, type Db } from '../src/store/db.js';
import { upsertItemVectors, type ItemVectorRow } from '../src/store/embeddings.js';
import { migrate } from '../src/store/migrations.js';
import { ensureVersion } from '../src/store/versions.js';
import { tempDir } from './support/fixtures.js';
import { startPgliteServer } from './support/pglite-server.js';

const key = { orgId: '3f1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b', namespace: 'bin', modality: 'text' as const, version: 'v1' };

const rows = (n: number, dims: number, prefix = 'é-ü/') =>
  Array.from({ length: n }, (_, i): ItemVectorRow => ({
    itemId: `${prefix}${i}`,
    vector: Float32Array.from({ length: dims }, (_, d) => [1e-30, -3.4e38, 0.1, -0.5, 7][(i + d) % 5]!),
    metadataHash: `h${i}`,
    metadataVersion: i % 2 ? null : `mv-${i}`,
    chunkCount: 1 + (i % 3),
    tokenCount: 10 * i,
    generatedAt: new Date(Date.UTC(2026, 10, 24, 8, 0, 0, i % 1000)),
  }));

async function checkRoundTrip(db: Db) {
  await migrate(db);
  await ensureVersion(db, { ...key, provider: 'x', model: 'm', dims: 5, promptTemplate: 't', textSearchConfig: 'english' });
  const written = rows(7, 5);
  await upsertItemVectors(db, key, 'm', written);
  // A second upsert of the same ids updates in place.
  written[0]!.metadataHash = 'changed';
  await upsertItemVectors(db, key, 'm', written.slice(0, 1));
  const back = await db.query<{ item_id: string; vector: string; dims: number; metadata_hash: string; metadata_version: string | null; chunk_count: number; token_count: number; generated_at: Date }>(
    'SELECT item_id, vector::text AS vector, dims, metadata_hash, metadata_version, chunk_count, token_count, generated_at FROM item_embeddings WHERE namespace = $1 ORDER BY token_count',
    [key.namespace],
  );
  assert.equal(back.length, 7);
  back.forEach((r, i) => {
    const w = written[i]!;
    assert.equal(r.item_id, w.itemId);
    assert.deepEqual((fromSql(r.vector) as number[]).map(Math.fround), Array.from(w.vector));
    assert.deepEqual([r.dims, r.metadata_hash, r.metadata_version, r.chunk_count, r.token_count], [5, w.metadataHash, w.metadataVersion, w.chunkCount, w.tokenCount]);
    assert.equal(new Date(r.generated_at).toISOString(), w.generatedAt.toISOString());
  });
}

describe('binary vector writes', () => {
  test('PGlite in-process (COPY BINARY)', async () => {
    const db = await openDb({ home: await tempDir() });
    try {
      assert.ok(db.copyFromBlob);
      await checkRoundTrip(db);
    } finally {
      await db.close();
    }
  });

  test('pg driver over the wire (binary parameters), including more rows than one statement takes', async () => {
    const server = await startPgliteServer();
    after(() => server.close());
    const db = await openDb({ databaseUrl: server.url, home: await tempDir() });
    try {
      assert.equal(db.copyFromBlob, undefined);
      await checkRoundTrip(db);
      // 5 fixed + 7 per row parameters: 10,000 rows need two statements.
      await upsertItemVectors(db, key, 'm', rows(10_000, 5, 'many-'));
      const [count] = await db.query<{ n: string }>("SELECT count(*) AS n FROM item_embeddings WHERE item_id LIKE 'many-%'");
      assert.equal(Number(count!.n), 10_000);
    } finally {
      await db.close();
    }
  });
});
