/**
 * halfvec storage (`embed.storage: 'halfvec'`, `--storage halfvec`): a version whose item vectors
 * are float16 in `item_embeddings.half`. Clients write float32 as for any version and the database
 * casts; reads go through the version's own HNSW index on `half::halfvec(d)`; the neighbours are
 * those of a float32 version within float16 precision. The store part runs on both drivers of
 * openDb, like the store contract: PGlite in-process (COPY BINARY) and `pg` over the wire (binary
 * parameters). COPY on a native server: test/store-binary.test.ts.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fromSql } from 'pgvector';
import { ConfigError } from '../src/errors.js';
import { retryFailures } from '../src/pipeline/retry-failures.js';
import { runEmbeddingJob } from '../src/pipeline/run.js';
import { search, similar } from '../src/retrieve/similar.js';
import { type Db, type Queryable, sqlLiteral } from '../src/store/db.js';
import { reuseVectors, upsertItemVectors } from '../src/store/embeddings.js';
import { recordFailures } from '../src/store/failures.js';
import { deleteVersion, ensureVectorIndex, ensureVersion, listVersions, type VersionSpec, vectorIndexShape } from '../src/store/versions.js';
import { captureSimilarQuery } from '../testkit/capture-query.js';
import { quietLogger, sampleItems, tempDir, testConfig, writeJsonl } from '../testkit/fixtures.js';
import { hashProvider } from '../testkit/hash-provider.js';
import { cosine, nearVector, randomVector } from '../testkit/random.js';
import { catalogItem, keyOf, seed, seedCatalog, seedLexical, spec, vectorRow } from '../testkit/seed.js';
import { openTestDb, useTestDb } from '../testkit/test-db.js';

/** float16 keeps 11 significant bits: a relative error of at most 2^-11 per coordinate. */
const F16_RELATIVE = 2 ** -11;
/** Cosine similarity of unit vectors computed from float16 copies: off by a few 1e-4 at most at these sizes. */
const F16_COSINE = 2e-3;

const sqlState = (code: string) => (err: unknown) => {
  assert.equal((err as { code?: string }).code, code, `expected SQLSTATE ${code}, got ${String(err)}`);
  return true;
};

/** The stored vector of each item of a version, as numbers, whichever column holds it. */
async function stored(db: Queryable, s: VersionSpec): Promise<Map<string, { vector: number[]; column: 'vector' | 'half'; bytes: number }>> {
  const rows = await db.query<{ item_id: string; v: string; half: boolean; bytes: number }>(
    `SELECT item_id, COALESCE(vector, half::vector)::text AS v, half IS NOT NULL AS half,
            coalesce(pg_column_size(vector), pg_column_size(half)) AS bytes
     FROM item_embeddings WHERE org_id = $1 AND namespace = $2 AND modality = $3 AND version = $4`,
    [s.orgId, s.namespace, s.modality, s.version],
  );
  return new Map(rows.map((r) => [r.item_id, { vector: fromSql(r.v) as number[], column: r.half ? 'half' : 'vector', bytes: Number(r.bytes) }]));
}

function assertF16Copy(actual: number[], expected: ArrayLike<number>, what: string) {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < actual.length; i++) {
    const e = expected[i]!;
    assert.ok(Math.abs(actual[i]! - e) <= Math.abs(e) * F16_RELATIVE + 1e-7, `${what}[${i}]: ${actual[i]} is not ${e} at float16 precision`);
  }
}

/** A small catalog: a query item and neighbours at clearly different distances, so float16 cannot reorder them. */
function catalog(dims: number, seedBase: number): Record<string, Float32Array> {
  const q = randomVector(seedBase, dims);
  const items: Record<string, Float32Array> = { q };
  for (let i = 0; i < 12; i++) items[`n${String(i).padStart(2, '0')}`] = nearVector(q, seedBase + 1 + i, 0.15 * (i + 1));
  return items;
}

/** EXPLAIN `sql` as the planner would run it on a large table: no sequential scans or sorts when an index can serve. */
async function plan(db: Db, sql: string, params: unknown[]): Promise<string> {
  return db.transaction(async (tx) => {
    await tx.exec('SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off; SET LOCAL enable_incremental_sort = off');
    const rows = await tx.query<Record<string, string>>(`EXPLAIN ${sql}`, params);
    return rows.map((r) => (r['QUERY PLAN'] ?? '').replace(/'\[[^\]]*\]'/g, "'[…]'")).join('\n');
  });
}

/**
 * The plan a driver's statement cache would run once it switches to a generic plan (pgx's default
 * mode, or the pg driver's named statements): PREPARE, then EXPLAIN EXECUTE under
 * force_generic_plan, so no parameter value can help the planner.
 */
async function genericPlan(db: Db, sql: string, params: unknown[]): Promise<string> {
  return db.transaction(async (tx) => {
    await tx.exec(`PREPARE halfvec_generic AS ${sql}`);
    try {
      await tx.exec('SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off');
      const args = params.map((p) => (typeof p === 'number' ? String(p) : sqlLiteral(String(p)))).join(', ');
      const rows = await tx.query<Record<string, string>>(`EXPLAIN EXECUTE halfvec_generic(${args})`);
      return rows.map((r) => r['QUERY PLAN'] ?? '').join('\n');
    } finally {
      await tx.exec('DEALLOCATE halfvec_generic');
    }
  });
}

function storageContract(name: string, driver: Db['driver']) {
  describe(name, () => {
    const { db } = useTestDb({ driver });

    test('the schema: half is an unsized halfvec column, vector is nullable, each row holds exactly one of them', async () => {
      const cols = await db.query<{ column_name: string; udt_name: string; is_nullable: string }>(
        `SELECT column_name, udt_name, is_nullable FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = 'item_embeddings' AND column_name IN ('vector', 'half') ORDER BY column_name`,
      );
      assert.deepEqual(
        cols.map((c) => [c.column_name, c.udt_name, c.is_nullable]),
        [
          ['half', 'halfvec', 'YES'],
          ['vector', 'vector', 'YES'],
        ],
      );
      const [column] = await db.query<{ default: string }>(
        "SELECT column_default AS default FROM information_schema.columns WHERE table_name = 'embedding_versions' AND column_name = 'storage'",
      );
      assert.match(column?.default ?? '', /'vector'/);

      const s = spec(randomUUID(), { namespace: 'schema', dims: 3, model: 'tiny-3' });
      await ensureVersion(db, s);
      const insert = (id: string, vector: string | null, half: string | null, dims = 3) =>
        db.query(
          `INSERT INTO item_embeddings (org_id, item_id, namespace, version, modality, dims, vector, half, metadata_hash, model, chunk_count, token_count)
           VALUES ($1, $2, $3, $4, $5, $6, $7::vector, $8::halfvec, 'h', $9, 1, 1)`,
          [s.orgId, id, s.namespace, s.version, s.modality, dims, vector, half, s.model],
        );
      await insert('only-vector', '[1,2,3]', null);
      await insert('only-half', null, '[1,2,3]');
      await assert.rejects(insert('both', '[1,2,3]', '[1,2,3]'), (err: unknown) => {
        sqlState('23514')(err);
        assert.match(String((err as Error).message), /item_embeddings_one_vector/);
        return true;
      });
      await assert.rejects(insert('neither', null, null), sqlState('23514'));
      await assert.rejects(insert('short-half', null, '[1,2]'), (err: unknown) => {
        sqlState('23514')(err);
        assert.match(String((err as Error).message), /item_embeddings_half_dims/);
        return true;
      });
      await assert.rejects(
        db.query(
          'INSERT INTO embedding_versions (org_id, namespace, modality, version, provider, model, dims, prompt_template, storage) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
          [s.orgId, 'schema', 'text', 'v9', 'p', 'm', 3, 't', 'int8'],
        ),
        sqlState('23514'),
      );
    });

    test('a halfvec version loads float32 into half, at float16 precision, in about half the bytes; versions list says so', async () => {
      const orgId = randomUUID();
      const items = catalog(512, 100);
      const f32 = spec(orgId, { namespace: 'load' });
      const f16 = spec(orgId, { namespace: 'load', version: 'v2', storage: 'halfvec' });
      await seed(db, f32, items);
      await seed(db, f16, items);
      // A second write of the same ids updates them in place, in the same column.
      await upsertItemVectors(db, keyOf(f16), f16.model, [vectorRow('q', items.n00!, 'h-q-2')]);

      const [a, b] = [await stored(db, f32), await stored(db, f16)];
      assert.equal(b.size, Object.keys(items).length);
      for (const [id, row] of b) {
        assert.equal(row.column, 'half', id);
        assert.equal(a.get(id)!.column, 'vector', id);
        assertF16Copy(row.vector, id === 'q' ? items.n00! : items[id]!, id);
        // 4 bytes a dimension against 2, plus a few header bytes (fewer once a vector is moved out of line).
        const ratio = row.bytes / a.get(id)!.bytes;
        assert.ok(ratio > 0.49 && ratio < 0.51, `${id}: ${row.bytes} / ${a.get(id)!.bytes} bytes`);
      }
      const [types] = await db.query<{ t: string }>("SELECT pg_typeof(half)::text AS t FROM item_embeddings WHERE org_id = $1 AND version = 'v2' LIMIT 1", [
        orgId,
      ]);
      assert.equal(types?.t, 'halfvec');

      const list = await listVersions(db, orgId);
      const byVersion = new Map(list.map((v) => [v.version, v]));
      assert.equal(byVersion.get('v1')?.storage, 'vector');
      assert.equal(byVersion.get('v2')?.storage, 'halfvec');
      const ratio = byVersion.get('v2')!.vectorBytes / byVersion.get('v1')!.vectorBytes;
      assert.ok(ratio > 0.49 && ratio < 0.51, `halfvec bytes / vector bytes = ${ratio}`);
    });

    test('similar and search give the same neighbours as a float32 version, scores within float16 precision', async () => {
      const orgId = randomUUID();
      const items = catalog(512, 200);
      const f32 = spec(orgId, { namespace: 'same' });
      const f16 = spec(orgId, { namespace: 'same', version: 'v2', storage: 'halfvec' });
      const texts = Object.fromEntries(Object.keys(items).map((id, i) => [id, `${['alpine', 'trail', 'wool'][i % 3]} boots ${id}`]));
      for (const s of [f32, f16]) {
        await seed(db, s, items);
        await seedLexical(db, s, texts);
      }
      await seedCatalog(db, orgId, 'same', Object.fromEntries(Object.keys(items).map((id, i) => [id, { tags: [`t${i % 3}`] }])));

      const expected = Object.keys(items)
        .filter((id) => id !== 'q')
        .sort((x, y) => cosine(items.q!, items[y]!) - cosine(items.q!, items[x]!));
      for (const mode of ['dense', 'fused'] as const) {
        // One after the other: PGlite over the wire is one session, which concurrent statements would interleave in.
        const a = await similar(db, { orgId, namespace: 'same', itemId: 'q', k: 8, version: 'v1', mode });
        const b = await similar(db, { orgId, namespace: 'same', itemId: 'q', k: 8, version: 'v2', mode });
        assert.deepEqual(
          b.candidates.map((c) => c.item_id),
          a.candidates.map((c) => c.item_id),
          mode,
        );
        for (const [i, c] of b.candidates.entries()) {
          const exact = cosine(items.q!, items[c.item_id]!);
          assert.ok(Math.abs(c.dense_score! - exact) < F16_COSINE, `${mode} ${c.item_id}: dense ${c.dense_score} vs cosine ${exact}`);
          assert.ok(Math.abs(c.dense_score! - a.candidates[i]!.dense_score!) < F16_COSINE);
        }
        if (mode === 'dense')
          assert.deepEqual(
            b.candidates.map((c) => c.item_id),
            expected.slice(0, 8),
          );
      }
      const byVector32 = await search(db, { orgId, namespace: 'same', vector: items.q!, k: 5, version: 'v1' });
      const byVector16 = await search(db, { orgId, namespace: 'same', vector: items.q!, k: 5, version: 'v2' });
      assert.deepEqual(
        byVector16.candidates.map((c) => c.item_id),
        ['q', ...expected.slice(0, 4)],
      );
      assert.deepEqual(
        byVector16.candidates.map((c) => c.item_id),
        byVector32.candidates.map((c) => c.item_id),
      );
    });

    test('its HNSW index is on half::halfvec(d), at 512-d and 3072-d, and the similar query uses it', async () => {
      for (const dims of [512, 3072]) {
        const s = spec(randomUUID(), { namespace: `idx-half-${dims}`, dims, model: `m-${dims}`, storage: 'halfvec' });
        await seed(db, s, catalog(dims, dims));
        assert.equal(await ensureVectorIndex(db, s), true);
        const shape = vectorIndexShape(s);
        assert.deepEqual([shape.column, shape.type, shape.expression], ['half', 'halfvec', `half::halfvec(${dims})`]);
        const [idx] = await db.query<{ indexdef: string }>('SELECT indexdef FROM pg_indexes WHERE indexname = $1', [shape.name]);
        assert.match(idx?.indexdef ?? '', new RegExp(`USING hnsw \\(\\(\\(half\\)::halfvec\\(${dims}\\)\\) halfvec_cosine_ops\\) WHERE`));

        const nn = await captureSimilarQuery(db, { orgId: s.orgId, namespace: s.namespace, itemId: 'q', k: 5 });
        const used = await plan(db, nn.sql, nn.params);
        assert.match(used, new RegExp(`Index Scan using ${shape.name}`), used);
        assert.match(used, new RegExp(`Order By: \\(\\(half\\)::halfvec\\(${dims}\\) <=>`), used);
        const generic = await genericPlan(db, nn.sql, nn.params);
        assert.match(generic, new RegExp(`Index Scan using ${shape.name}`), generic);
        assert.match(generic, /\$1/, 'a generic plan: the org is still a parameter');
        // Controls: without the exact cast, or reading the float32 column, the index cannot serve the query.
        for (const [from, to] of [
          [`half::halfvec(${dims})`, 'half'],
          [`half::halfvec(${dims})`, `vector::halfvec(${dims})`],
        ] as const) {
          const other = nn.sql.replaceAll(from, to);
          assert.notEqual(other, nn.sql);
          assert.doesNotMatch(await plan(db, other, nn.params), new RegExp(shape.name), `${to} cannot use ${shape.name}`);
        }
      }
    });

    test('two orgs may store the same version name differently: each gets its own index, used by its own queries', async () => {
      const [orgA, orgB] = [randomUUID(), randomUUID()];
      const a = spec(orgA, { namespace: 'mixed', dims: 3072, model: 'text-embedding-3-large' });
      const b = spec(orgB, { namespace: 'mixed', dims: 3072, model: 'text-embedding-3-large', storage: 'halfvec' });
      const items = catalog(3072, 300);
      await seed(db, a, items);
      await seed(db, b, items);
      for (const s of [a, b]) assert.equal(await ensureVectorIndex(db, s), true);
      const [shapeA, shapeB] = [vectorIndexShape(a), vectorIndexShape(b)];
      assert.notEqual(shapeA.name, shapeB.name);
      assert.equal(shapeA.expression, 'vector::halfvec(3072)', 'a float32 3072-d version keeps its index');
      for (const [s, shape] of [
        [a, shapeA],
        [b, shapeB],
      ] as const) {
        const nn = await captureSimilarQuery(db, { orgId: s.orgId, namespace: 'mixed', itemId: 'q', k: 5 });
        assert.match(await plan(db, nn.sql, nn.params), new RegExp(`Index Scan using ${shape.name}`));
        const { candidates } = await similar(db, { orgId: s.orgId, namespace: 'mixed', itemId: 'q', k: 5, mode: 'dense' });
        assert.deepEqual(
          candidates.map((c) => c.item_id),
          ['n00', 'n01', 'n02', 'n03', 'n04'],
        );
      }
      // Org B's version is the only halfvec one of that name: deleting it drops its index, not org A's.
      await ensureVersion(db, spec(orgB, { namespace: 'mixed', version: 'v0', dims: 3072, model: 'text-embedding-3-large' }));
      await db.query("UPDATE embedding_versions SET status = 'inactive' WHERE org_id = $1 AND namespace = 'mixed' AND version = 'v1'", [orgB]);
      const deleted = await deleteVersion(db, keyOf(b));
      assert.deepEqual(deleted, { rows: Object.keys(items).length, indexDropped: true });
      const left = await db.query<{ indexname: string }>('SELECT indexname FROM pg_indexes WHERE indexname = ANY($1::text[])', [[shapeA.name, shapeB.name]]);
      assert.deepEqual(
        left.map((r) => r.indexname),
        [shapeA.name],
      );
    });

    test('the content cache copies across storages; a float32 source is preferred', async () => {
      const orgId = randomUUID();
      const items = catalog(64, 400);
      const f32 = spec(orgId, { namespace: 'cache-a', dims: 64, model: 'm-64' });
      const f16 = spec(orgId, { namespace: 'cache-b', dims: 64, model: 'm-64', storage: 'halfvec' });
      const back = spec(orgId, { namespace: 'cache-c', dims: 64, model: 'm-64' });
      await seed(db, f32, items);
      const wanted = Object.keys(items).map((id) => ({ itemId: id, metadataHash: `h-${id}`, metadataVersion: null }));
      for (const s of [f16, back]) {
        await ensureVersion(db, s);
        assert.deepEqual((await reuseVectors(db, keyOf(s), wanted)).sort(), Object.keys(items).sort());
      }
      const [a, b, c] = [await stored(db, f32), await stored(db, f16), await stored(db, back)];
      for (const id of Object.keys(items)) {
        assert.equal(b.get(id)!.column, 'half');
        assertF16Copy(b.get(id)!.vector, items[id]!, id);
        // Both a float32 and a float16 copy exist by then: the float32 one is copied, exactly.
        assert.equal(c.get(id)!.column, 'vector');
        assert.deepEqual(c.get(id)!.vector, a.get(id)!.vector, id);
      }

      // Only a float16 copy: a float32 version gets it at float16 precision, and says so by being equal to it.
      const only16 = spec(orgId, { namespace: 'cache-d', dims: 64, model: 'm-64', storage: 'halfvec' });
      const into32 = spec(orgId, { namespace: 'cache-e', dims: 64, model: 'm-64' });
      const fresh = catalog(64, 500);
      await seed(db, only16, Object.fromEntries(Object.entries(fresh).map(([id, v]) => [`x-${id}`, v])));
      await ensureVersion(db, into32);
      const hashes = Object.keys(fresh).map((id) => ({ itemId: `x-${id}`, metadataHash: `h-x-${id}`, metadataVersion: null }));
      assert.equal((await reuseVectors(db, keyOf(into32), hashes)).length, hashes.length);
      const [d, e] = [await stored(db, only16), await stored(db, into32)];
      for (const [id, row] of e) {
        assert.equal(row.column, 'vector');
        assert.deepEqual(row.vector, d.get(id)!.vector, id);
      }
    });

    test('an unknown version is still refused by the foreign key', async () => {
      const s = spec(randomUUID(), { namespace: 'nowhere' });
      await assert.rejects(upsertItemVectors(db, keyOf(s), s.model, [vectorRow('a', randomVector(1))]), sqlState('23503'));
    });
  });
}

storageContract('PGlite in-process', 'pglite');
storageContract('pg driver over the wire', 'pg');

describe('runs', () => {
  const logger = quietLogger();

  test('a run asking for another storage than its version was created with fails before writing, naming both', async (t) => {
    const { db, home } = await openTestDb(t);
    const file = await writeJsonl(path.join(await tempDir(), 'c.jsonl'), sampleItems(6, 'st'));
    const config = (storage: 'vector' | 'halfvec', version = 'v1') =>
      testConfig(home, { namespace: 'st', version, embed: { provider: 'local', storage }, run: { createIndex: false } });
    const provider = hashProvider({ dims: 16 });
    const first = await runEmbeddingJob({ config: config('vector'), source: { kind: 'file', path: file }, db, provider, logger });
    assert.equal(first.embedded, 6);
    for (const dryRun of [false, true]) {
      await assert.rejects(
        runEmbeddingJob({ config: config('halfvec'), source: { kind: 'file', path: file }, db, provider, logger, dryRun }),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err));
          assert.match(err.message, /version "v1" of namespace "st" \(text\) was created with different settings: storage "vector" \(this run: "halfvec"\)/);
          assert.match(err.message, /pass a new --version/);
          return true;
        },
      );
    }
    await assert.rejects(
      ensureVersion(db, spec(config('vector').orgId, { namespace: 'st', provider: 'test', model: 'hash-16', dims: 16, storage: 'halfvec' })),
      ConfigError,
    );

    // A new version with the same model and prompt, stored as halfvec: every vector comes from the content cache.
    const second = await runEmbeddingJob({ config: config('halfvec', 'v2'), source: { kind: 'file', path: file }, db, provider, logger });
    assert.deepEqual([second.embedded, second.cache_hits, second.api_calls], [0, 6, 0]);
    const [row] = await db.query<{ half: number; vector: number; storage: string }>(
      `SELECT count(half)::int AS half, count(vector)::int AS vector, (SELECT storage FROM embedding_versions WHERE namespace = 'st' AND version = 'v2') AS storage
       FROM item_embeddings WHERE namespace = 'st' AND version = 'v2'`,
    );
    assert.deepEqual(row, { half: 6, vector: 0, storage: 'halfvec' });
    // Its unchanged rerun embeds nothing and refuses nothing.
    const third = await runEmbeddingJob({ config: config('halfvec', 'v2'), source: { kind: 'file', path: file }, db, provider, logger });
    assert.deepEqual([third.embedded, third.skipped_unchanged], [0, 6]);

    // A dead letter of the halfvec version is replayed with that version's settings, storage included,
    // whatever the operator's own config says.
    const orgId = config('vector').orgId;
    await recordFailures(db, { orgId, namespace: 'st', modality: 'text', version: 'v2' }, randomUUID(), [
      {
        itemId: 'st-late',
        sourceRef: null,
        stage: 'embed',
        errorClass: 'PROVIDER_ERROR',
        field: null,
        message: 'timed out',
        payload: catalogItem(orgId, 'st', 'st-late'),
      },
    ]);
    const [replay] = await retryFailures({ config: config('vector'), db, filter: {}, provider, logger });
    assert.deepEqual([replay?.key.version, replay?.resolved, replay?.summary.embedded], ['v2', 1, 1]);
    const [late] = await db.query<{ half: boolean }>("SELECT half IS NOT NULL AS half FROM item_embeddings WHERE version = 'v2' AND item_id = 'st-late'");
    assert.equal(late?.half, true);
  });
});
