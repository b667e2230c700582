/** The binary vector write paths (COPY BINARY on PGlite and in a pg transaction, binary parameters on a pooled pg handle) return exactly what was written. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fromSql } from 'pgvector';
import { openDb, type Queryable } from '../src/store/db.js';
import { type ItemVectorRow, upsertItemVectors } from '../src/store/embeddings.js';
import type { VectorStorage } from '../src/store/keys.js';
import { migrate } from '../src/store/migrations.js';
import { ensureVersion } from '../src/store/versions.js';
import { f16round } from '../testkit/random.js';
import { openTestDb } from '../testkit/test-db.js';

const key = { orgId: '3f1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b', namespace: 'bin', modality: 'text' as const, version: 'v1' };

/** Extremes of float32, or of float16 (a halfvec version: largest finite 65504, smallest normal 2^-14). */
const VALUES = { vector: [1e-30, -3.4e38, 0.1, -0.5, 7], halfvec: [2 ** -14, -65504, 0.1, -0.5, 7] };

const rows = (n: number, dims: number, prefix = 'é-ü/', storage: VectorStorage = 'vector') =>
  Array.from(
    { length: n },
    (_, i): ItemVectorRow => ({
      itemId: `${prefix}${i}`,
      vector: Float32Array.from({ length: dims }, (_, d) => VALUES[storage][(i + d) % 5]!),
      metadataHash: `h${i}`,
      metadataVersion: i % 2 ? null : `mv-${i}`,
      chunkCount: 1 + (i % 3),
      tokenCount: 10 * i,
      generatedAt: new Date(Date.UTC(2026, 10, 24, 8, 0, 0, i % 1000)),
    }),
  );

/**
 * Write, update and read back. A halfvec version's vectors come back as float16, i.e. each value
 * rounded to float16 (Math.f16round), and from the `half` column only.
 */
async function checkRoundTrip(db: Queryable, namespace = key.namespace, storage: VectorStorage = 'vector') {
  const k = { ...key, namespace };
  await ensureVersion(db, { ...k, provider: 'x', model: 'm', dims: 5, promptTemplate: 't', textSearchConfig: 'english', storage });
  const written = rows(7, 5, undefined, storage);
  await upsertItemVectors(db, k, 'm', written);
  // A second upsert of the same ids updates in place.
  written[0]!.metadataHash = 'changed';
  await upsertItemVectors(db, k, 'm', written.slice(0, 1));
  const back = await db.query<{
    item_id: string;
    vector: string;
    dims: number;
    metadata_hash: string;
    metadata_version: string | null;
    chunk_count: number;
    token_count: number;
    generated_at: Date;
  }>(
    `SELECT item_id, ${storage === 'halfvec' ? 'half::vector' : 'vector'}::text AS vector, dims, metadata_hash, metadata_version, chunk_count, token_count, generated_at
     FROM item_embeddings WHERE namespace = $1 AND ${storage === 'halfvec' ? 'vector IS NULL' : 'half IS NULL'} ORDER BY token_count`,
    [namespace],
  );
  assert.equal(back.length, 7);
  const rounded = storage === 'halfvec' ? f16round : Math.fround;
  back.forEach((r, i) => {
    const w = written[i]!;
    assert.equal(r.item_id, w.itemId);
    assert.deepEqual((fromSql(r.vector) as number[]).map(Math.fround), Array.from(w.vector, rounded));
    assert.deepEqual(
      [r.dims, r.metadata_hash, r.metadata_version, r.chunk_count, r.token_count],
      [5, w.metadataHash, w.metadataVersion, w.chunkCount, w.tokenCount],
    );
    assert.equal(new Date(r.generated_at).toISOString(), w.generatedAt.toISOString());
  });
}

describe('binary vector writes', () => {
  test('PGlite in-process (COPY BINARY)', async (t) => {
    const { db } = await openTestDb(t);
    assert.ok(db.copyBinary);
    await checkRoundTrip(db);
    await checkRoundTrip(db, 'bin-half', 'halfvec');
  });

  test('pg driver over the wire (binary parameters), including more rows than one statement takes', async (t) => {
    const { db } = await openTestDb(t, { driver: 'pg' });
    // A pooled handle cannot stage rows (the next statement may run on another connection), and
    // PGlite over the wire cannot take COPY FROM STDIN: both take binary parameters.
    assert.equal(db.copyBinary, undefined);
    await db.transaction(async (tx) => assert.equal(tx.copyBinary, undefined));
    await checkRoundTrip(db);
    await checkRoundTrip(db, 'bin-half', 'halfvec');
    // 5 fixed + 7 per row parameters: 10,000 rows need two statements.
    await upsertItemVectors(db, key, 'm', rows(10_000, 5, 'many-'));
    const [count] = await db.query<{ n: string }>("SELECT count(*) AS n FROM item_embeddings WHERE item_id LIKE 'many-%'");
    assert.equal(Number(count!.n), 10_000);
  });

  // COPY FROM STDIN needs a real server with pgvector (the machine's PostgreSQL has none): set
  // ITEMVEC_TEST_PGVECTOR_URL, e.g. postgres://postgres@127.0.0.1:5433/bench, to run these.
  const native = process.env.ITEMVEC_TEST_PGVECTOR_URL;
  describe('pg driver on a Postgres server with pgvector: COPY BINARY in a transaction', {
    skip: native ? false : 'ITEMVEC_TEST_PGVECTOR_URL is not set',
  }, () => {
    const schemaKey = { ...key, namespace: `bin-${process.pid}` };
    test('rows staged by COPY are upserted: existing keys updated, not duplicated', async () => {
      const db = await openDb({ databaseUrl: native!, home: '/nonexistent' });
      try {
        await migrate(db);
        await db.transaction(async (tx) => {
          assert.ok(tx.copyBinary, 'a transaction on a real server offers COPY');
          await checkRoundTrip(tx, schemaKey.namespace);
          await upsertItemVectors(tx, schemaKey, 'm', rows(3_000, 5, 'many-'));
          await upsertItemVectors(tx, schemaKey, 'm', rows(3_000, 5, 'many-'));
        });
        const [n] = await db.query<{ n: string }>("SELECT count(*) AS n FROM item_embeddings WHERE namespace = $1 AND item_id LIKE 'many-%'", [
          schemaKey.namespace,
        ]);
        assert.equal(Number(n!.n), 3_000);
      } finally {
        await db.query('DELETE FROM item_embeddings WHERE namespace = $1', [schemaKey.namespace]).catch(() => {});
        await db.close();
      }
    });

    test('a halfvec version: float32 staged by COPY, stored as float16 by the INSERT, updated in place', async () => {
      const db = await openDb({ databaseUrl: native!, home: '/nonexistent' });
      const namespace = `${schemaKey.namespace}-half`;
      try {
        await migrate(db);
        await db.transaction(async (tx) => {
          assert.ok(tx.copyBinary);
          await checkRoundTrip(tx, namespace, 'halfvec');
          await upsertItemVectors(tx, { ...schemaKey, namespace }, 'm', rows(3_000, 5, 'many-', 'halfvec'));
          await upsertItemVectors(tx, { ...schemaKey, namespace }, 'm', rows(3_000, 5, 'many-', 'halfvec'));
        });
        const [n] = await db.query<{ n: string; half: string }>(
          "SELECT count(*) AS n, count(half) AS half FROM item_embeddings WHERE namespace = $1 AND item_id LIKE 'many-%' AND vector IS NULL",
          [namespace],
        );
        assert.deepEqual([Number(n!.n), Number(n!.half)], [3_000, 3_000]);
        // Beyond float16's range a value cannot be stored: the load fails rather than store infinity.
        await assert.rejects(
          db.transaction((tx) => upsertItemVectors(tx, { ...schemaKey, namespace }, 'm', rows(1, 5, 'too-big-'))),
          /out of range/,
        );
      } finally {
        await db.query('DELETE FROM embedding_versions WHERE namespace = $1', [namespace]).catch(() => {});
        await db.close();
      }
    });

    test('a failed COPY rolls the whole transaction back', async () => {
      const db = await openDb({ databaseUrl: native!, home: '/nonexistent' });
      try {
        await migrate(db);
        await ensureVersion(db, { ...schemaKey, provider: 'x', model: 'm', dims: 5, promptTemplate: 't', textSearchConfig: 'english' });
        await assert.rejects(
          db.transaction(async (tx) => {
            await upsertItemVectors(tx, schemaKey, 'm', rows(10, 5, 'gone-'));
            // A 70,000-d vector is beyond pgvector's 16,000: this COPY fails on the server.
            await upsertItemVectors(tx, schemaKey, 'm', rows(1, 70_000, 'huge-'));
          }),
        );
        const [n] = await db.query<{ n: string }>("SELECT count(*) AS n FROM item_embeddings WHERE namespace = $1 AND item_id LIKE 'gone-%'", [
          schemaKey.namespace,
        ]);
        assert.equal(Number(n!.n), 0);
      } finally {
        await db.close();
      }
    });
  });
});
