/**
 * The database layer (src/store) and the similarity reads over it (src/retrieve), as one contract
 * run against both drivers of openDb:
 *  - PGlite in-process (the embedded default);
 *  - the `pg` Pool over the wire, against PGlite served by pglite-socket (testkit/pglite-server.ts).
 * Then the real PostgreSQL server of this machine, which has no pgvector: migrate must say how to fix
 * that. URL from ITEMVEC_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres, trust
 * auth); unreachable → skip locally, fail when CI=true.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { ConfigError, DatabaseError, NotFoundError } from '../src/errors.js';
import { search, similar } from '../src/retrieve/similar.js';
import { parseBlendEmbeddingVersion, resolveVersion } from '../src/retrieve/version.js';
import { type Db, openDb } from '../src/store/db.js';
import { countItemVectors, getCatalogItem, lookupExisting, upsertCatalogItems, upsertItemVectors } from '../src/store/embeddings.js';
import { clearFailures, type FailureRecord, listFailures, recordFailures } from '../src/store/failures.js';
import { MIGRATIONS, migrate } from '../src/store/migrations.js';
import { ensureVectorIndex, ensureVersion, getActiveVersion, listVersions, vectorIndexShape } from '../src/store/versions.js';
import { type Captured, captureSimilarQuery } from '../testkit/capture-query.js';
import { tempDir } from '../testkit/fixtures.js';
import { connectTestPostgres, needServer, TEST_PG_URL } from '../testkit/local-postgres.js';
import { cosine, nearVector, randomVector } from '../testkit/random.js';
import { catalogItem, keyOf, seed, spec, vectorRow } from '../testkit/seed.js';
import { useTestDb } from '../testkit/test-db.js';

/**
 * EXPLAIN a captured query in a transaction with the same session settings. With a handful of rows
 * a scan of the primary key (org_id leads it) plus a sort is cheaper than the HNSW index, so the
 * planner is told to avoid sequential scans and sorts: it then takes the HNSW index whenever the
 * query can use it at all. A query that does not match the partial index's predicate and cast
 * still gets a scan plus sort, so the assertion stays discriminating (see the controls).
 * Vector literals are shortened so a failing assertion prints a readable plan.
 */
async function explain(db: Db, c: Captured): Promise<string> {
  return db.transaction(async (tx) => {
    await tx.exec(
      'SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off; SET LOCAL enable_incremental_sort = off; ' +
        'SET LOCAL hnsw.iterative_scan = relaxed_order',
    );
    const rows = await tx.query<Record<string, string>>(`EXPLAIN ${c.sql}`, c.params);
    return rows.map((r) => (r['QUERY PLAN'] ?? '').replace(/'\[[^\]]*\]'/g, "'[…]'")).join('\n');
  });
}

const sqlState = (code: string) => (err: unknown) => {
  assert.equal((err as { code?: string }).code, code, `expected SQLSTATE ${code}, got ${String(err)}`);
  return true;
};

// ---------------------------------------------------------------------------------------------
// The contract, once per driver

function storeContract(name: string, driver: Db['driver']) {
  describe(name, () => {
    // Not migrated by the fixture: the first migration's result is part of the contract.
    const { db } = useTestDb({ driver, migrate: false });
    let firstMigration: number[];

    before(async () => {
      firstMigration = await migrate(db);
    });

    test('opens the expected driver', () => {
      assert.equal(db.driver, driver);
    });

    test('migrate applies every migration once; a second call applies nothing', async () => {
      assert.deepEqual(
        firstMigration,
        MIGRATIONS.map((m) => m.id),
      );
      assert.deepEqual(await migrate(db), []);
      const rows = await db.query<{ id: number }>('SELECT id FROM itemvec_migrations ORDER BY id');
      assert.deepEqual(
        rows.map((r) => Number(r.id)),
        MIGRATIONS.map((m) => m.id),
      );
    });

    test("item_embeddings has the plan's columns and primary key", async () => {
      const cols = await db.query<{ column_name: string; data_type: string; udt_name: string; is_nullable: string; column_default: string | null }>(
        `SELECT column_name, data_type, udt_name, is_nullable, column_default FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = 'item_embeddings'`,
      );
      const byName = new Map(cols.map((c) => [c.column_name, c]));
      const expect: Array<[string, string, boolean]> = [
        // column, udt_name, NOT NULL
        ['org_id', 'uuid', true],
        ['item_id', 'text', true],
        ['namespace', 'text', true],
        ['version', 'text', true],
        ['modality', 'text', true],
        ['dims', 'int4', true],
        // One of the two holds the vector, as the version's storage says (test/halfvec.test.ts).
        ['vector', 'vector', false],
        ['half', 'halfvec', false],
        ['generated_at', 'timestamptz', true],
        ['metadata_hash', 'text', true],
        ['metadata_version', 'text', false],
      ];
      for (const [column, udt, notNull] of expect) {
        const c = byName.get(column);
        assert.ok(c, `item_embeddings.${column} is missing (have ${[...byName.keys()].join(', ')})`);
        assert.equal(c.udt_name, udt, `item_embeddings.${column} type`);
        assert.equal(c.is_nullable, notNull ? 'NO' : 'YES', `item_embeddings.${column} nullability`);
      }
      assert.match(byName.get('namespace')!.column_default ?? '', /'default'/);
      assert.match(byName.get('generated_at')!.column_default ?? '', /now\(\)/);

      const pk = await db.query<{ column_name: string }>(
        `SELECT k.column_name FROM information_schema.table_constraints t
         JOIN information_schema.key_column_usage k
           ON k.constraint_schema = t.constraint_schema AND k.constraint_name = t.constraint_name AND k.table_name = t.table_name
         WHERE t.table_schema = current_schema() AND t.table_name = 'item_embeddings' AND t.constraint_type = 'PRIMARY KEY'
         ORDER BY k.ordinal_position`,
      );
      assert.deepEqual(
        pk.map((r) => r.column_name),
        ['org_id', 'item_id', 'namespace', 'modality', 'version'],
      );
    });

    test('the dims CHECK rejects a vector whose length differs from dims', async () => {
      const s = spec(randomUUID(), { namespace: 'dimscheck', dims: 3, model: 'tiny-3' });
      await ensureVersion(db, s);
      const insert = (dims: number, vector: string) =>
        db.query(
          `INSERT INTO item_embeddings (org_id, item_id, namespace, version, modality, dims, vector, metadata_hash, model, chunk_count, token_count)
           VALUES ($1, $2, $3, $4, $5, $6, $7::vector, 'h', $8, 1, 1)`,
          [s.orgId, `item-${dims}-${vector.length}`, s.namespace, s.version, s.modality, dims, vector, s.model],
        );
      await insert(3, '[1,2,3]'); // control: a matching row is accepted
      await assert.rejects(insert(3, '[1,2]'), (err: unknown) => {
        sqlState('23514')(err);
        assert.match(String((err as Error).message), /item_embeddings_vector_dims/);
        return true;
      });
      await assert.rejects(insert(2, '[1,2,3]'), sqlState('23514'));
      assert.equal(await countItemVectors(db, keyOf(s)), 1);
    });

    test('ensureVersion: the first version is active, a later one stays inactive, different settings are refused', async () => {
      const orgId = randomUUID();
      const v1 = await ensureVersion(db, spec(orgId, { namespace: 'versions' }));
      assert.equal(v1.status, 'active');
      assert.equal(v1.dims, 512);
      const v2 = await ensureVersion(db, spec(orgId, { namespace: 'versions', version: 'v2', model: 'test-512-b' }));
      assert.equal(v2.status, 'inactive');
      // Registering again with the same settings is a no-op and does not steal activation.
      assert.equal((await ensureVersion(db, spec(orgId, { namespace: 'versions', version: 'v2', model: 'test-512-b' }))).status, 'inactive');
      assert.equal((await ensureVersion(db, spec(orgId, { namespace: 'versions' }))).status, 'active');
      assert.equal((await getActiveVersion(db, { orgId, namespace: 'versions', modality: 'text' }))?.version, 'v1');

      await assert.rejects(
        ensureVersion(db, spec(orgId, { namespace: 'versions', model: 'other-model', dims: 256, promptTemplate: '{description}' })),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
          assert.match(err.message, /model "test-512" \(this run: "other-model"\)/);
          assert.match(err.message, /dims 512 \(this run: 256\)/);
          assert.match(err.message, /promptTemplate .*\(this run: "\{description\}"\)/);
          assert.doesNotMatch(err.message, /provider "/, 'an unchanged setting is not named');
          return true;
        },
      );
      await assert.rejects(ensureVersion(db, spec(orgId, { namespace: 'versions', provider: 'openai' })), /provider "test" \(this run: "openai"\)/);

      // Scoped by org, namespace and modality: each first version elsewhere is active on its own.
      assert.equal((await ensureVersion(db, spec(randomUUID(), { namespace: 'versions', version: 'v2' }))).status, 'active');
      assert.equal((await ensureVersion(db, spec(orgId, { namespace: 'versions-2', version: 'v2' }))).status, 'active');
      assert.equal((await ensureVersion(db, spec(orgId, { namespace: 'versions', modality: 'image', version: 'v2' }))).status, 'active');

      const listed = await listVersions(db, orgId);
      assert.deepEqual(listed.map((v) => `${v.namespace}/${v.modality}/${v.version}:${v.status}:${v.rows}`).sort(), [
        'versions-2/text/v2:active:0',
        'versions/image/v2:active:0',
        'versions/text/v1:active:0',
        'versions/text/v2:inactive:0',
      ]);
    });

    test('upsertItemVectors stores rows that lookupExisting finds; a second upsert updates in place', async () => {
      const s = spec(randomUUID(), { namespace: 'upsert' });
      const key = keyOf(s);
      await ensureVersion(db, s);
      const a = randomVector(1);
      const b = randomVector(2);
      const c = randomVector(3);
      await upsertItemVectors(db, key, s.model, [vectorRow('a', a, 'ha'), vectorRow('b', b, 'hb', { metadataVersion: '7' }), vectorRow('c', c, 'hc')]);
      assert.equal(await countItemVectors(db, key), 3);

      const found = await lookupExisting(db, key, ['a', 'b', 'c', 'missing']);
      assert.deepEqual(Object.fromEntries(found), {
        a: { metadataHash: 'ha', metadataVersion: null, attributesHash: null, lexicalHash: null },
        b: { metadataHash: 'hb', metadataVersion: '7', attributesHash: null, lexicalHash: null },
        c: { metadataHash: 'hc', metadataVersion: null, attributesHash: null, lexicalHash: null },
        missing: { metadataHash: null, metadataVersion: null, attributesHash: null, lexicalHash: null },
      });
      // Another version of the same namespace sees nothing.
      const other = await lookupExisting(db, { ...key, version: 'v2' }, ['a']);
      assert.equal(other.get('a')?.metadataHash, null);

      // The vector survives the text round trip exactly (float4 both ways).
      const stored = await db.query<{ vector: string; dims: number; chunk_count: number; token_count: number; generated_at: Date | string }>(
        'SELECT vector::text AS vector, dims, chunk_count, token_count, generated_at FROM item_embeddings WHERE org_id = $1 AND namespace = $2 AND item_id = $3',
        [s.orgId, s.namespace, 'a'],
      );
      assert.equal(stored.length, 1);
      assert.deepEqual(Float32Array.from(JSON.parse(stored[0]!.vector) as number[]), a);
      assert.equal(Number(stored[0]!.dims), 512);
      assert.equal(new Date(stored[0]!.generated_at).toISOString(), '2026-01-02T03:04:05.000Z');

      const b2 = randomVector(22);
      await upsertItemVectors(db, key, s.model, [
        vectorRow('b', b2, 'hb2', { metadataVersion: '8', chunkCount: 3, tokenCount: 99, generatedAt: new Date('2026-02-01T00:00:00.000Z') }),
      ]);
      assert.equal(await countItemVectors(db, key), 3, 'an upsert of an existing item adds no row');
      const after = await lookupExisting(db, key, ['a', 'b']);
      assert.equal(after.get('b')?.metadataHash, 'hb2');
      assert.equal(after.get('b')?.metadataVersion, '8');
      assert.equal(after.get('a')?.metadataHash, 'ha', 'other items are untouched');
      const row = await db.query<{ vector: string; chunk_count: number; token_count: number; generated_at: Date | string }>(
        'SELECT vector::text AS vector, chunk_count, token_count, generated_at FROM item_embeddings WHERE org_id = $1 AND namespace = $2 AND item_id = $3',
        [s.orgId, s.namespace, 'b'],
      );
      assert.deepEqual(Float32Array.from(JSON.parse(row[0]!.vector) as number[]), b2);
      assert.equal(Number(row[0]!.chunk_count), 3);
      assert.equal(Number(row[0]!.token_count), 99);
      assert.equal(new Date(row[0]!.generated_at).toISOString(), '2026-02-01T00:00:00.000Z');

      await upsertItemVectors(db, key, s.model, []); // an empty batch is a no-op
      assert.equal(await countItemVectors(db, key), 3);
    });

    test('upsertCatalogItems stores tag arrays (empty too) and updates in place', async () => {
      const orgId = randomUUID();
      const ns = 'catalog';
      await upsertCatalogItems(db, orgId, ns, [
        { item: catalogItem(orgId, ns, 'c1', { tags: ['hiking', 'waterproof'] }), attributesHash: 'a1' },
        { item: catalogItem(orgId, ns, 'c2', { tags: [] }), attributesHash: 'a2' },
        { item: catalogItem(orgId, ns, 'c3', { tags: ['a, b', 'quote "x"', 'ümlaut', '{brace}'], metadataVersion: '5' }), attributesHash: 'a3' },
      ]);
      const tagsOf = async () =>
        Object.fromEntries(
          (
            await db.query<{ item_id: string; tags: string[] }>('SELECT item_id, tags FROM catalog_items WHERE org_id = $1 AND namespace = $2', [orgId, ns])
          ).map((r) => [r.item_id, r.tags]),
        );
      assert.deepEqual(await tagsOf(), { c1: ['hiking', 'waterproof'], c2: [], c3: ['a, b', 'quote "x"', 'ümlaut', '{brace}'] });

      const s = spec(orgId, { namespace: ns });
      const found = await lookupExisting(db, keyOf(s), ['c1', 'c3']);
      assert.equal(found.get('c1')?.attributesHash, 'a1');
      assert.equal(found.get('c1')?.metadataHash, null, 'catalog rows without vectors have no metadata hash');

      await upsertCatalogItems(db, orgId, ns, [
        { item: catalogItem(orgId, ns, 'c1', { tags: [], brand: 'NewBrand', description: 'Updated', title: 'New Title' }), attributesHash: 'a1b' },
        { item: catalogItem(orgId, ns, 'c2', { tags: ['now-tagged'] }), attributesHash: 'a2b' },
      ]);
      assert.deepEqual(await tagsOf(), { c1: [], c2: ['now-tagged'], c3: ['a, b', 'quote "x"', 'ümlaut', '{brace}'] });
      const count = await db.query<{ n: string }>('SELECT count(*) AS n FROM catalog_items WHERE org_id = $1', [orgId]);
      assert.equal(Number(count[0]!.n), 3);
      assert.deepEqual(await getCatalogItem(db, orgId, ns, 'c1'), {
        title: 'New Title',
        brand: 'NewBrand',
        category: 'Outdoor > Boots',
        description: 'Updated',
      });
      assert.equal(await getCatalogItem(db, randomUUID(), ns, 'c1'), null, 'another org does not see it');
      assert.equal((await lookupExisting(db, keyOf(s), ['c1'])).get('c1')?.attributesHash, 'a1b');
    });

    test('recordFailures keeps one row per key and counts attempts; clearFailures removes it; listFailures filters by org', async () => {
      const orgA = randomUUID();
      const orgB = randomUUID();
      const keyA = keyOf(spec(orgA, { namespace: 'failures' }));
      const keyB = keyOf(spec(orgB, { namespace: 'failures' }));
      const run1 = randomUUID();
      const run2 = randomUUID();
      const failure = (itemId: string | null, message: string, over: Partial<FailureRecord> = {}): FailureRecord => ({
        itemId,
        sourceRef: 'catalog.jsonl:17',
        stage: 'embed',
        errorClass: 'ProviderError',
        field: null,
        message,
        payload: { item_id: itemId, n: 10n },
        ...over,
      });

      // Two failures of one key in one call must not trip ON CONFLICT ("cannot affect row a second time").
      await recordFailures(db, keyA, run1, [
        failure('x1', 'first'),
        failure('x1', 'first again'),
        failure(null, 'no id', { stage: 'extract', field: 'item_id' }),
      ]);
      await recordFailures(db, keyA, run2, [failure('x1', 'second', { stage: 'load', errorClass: 'DatabaseError' })]);
      await recordFailures(db, keyB, run1, [failure('x1', 'org b')]);

      const listA = await listFailures(db, { orgId: orgA });
      assert.equal(listA.length, 2);
      const x1 = listA.find((f) => f.failure_key === 'x1');
      assert.ok(x1);
      assert.equal(Number(x1.attempts), 2);
      assert.equal(x1.message, 'second');
      assert.equal(x1.stage, 'load');
      assert.equal(x1.run_id, run2);
      const noId = listA.find((f) => f.failure_key === 'catalog.jsonl:17');
      assert.ok(noId, 'a row without an item id is keyed by its source reference');
      assert.equal(noId.item_id, null);
      assert.equal(noId.field, 'item_id');
      assert.equal(Number(noId.attempts), 1);

      const payload = await db.query<{ payload: unknown }>('SELECT payload FROM embedding_failures WHERE org_id = $1 AND failure_key = $2', [orgA, 'x1']);
      assert.deepEqual(payload[0]?.payload, { item_id: 'x1', n: '10' });

      const listB = await listFailures(db, { orgId: orgB });
      assert.deepEqual(
        listB.map((f) => [f.failure_key, f.message]),
        [['x1', 'org b']],
      );
      assert.deepEqual(
        (await listFailures(db, { orgId: orgA, runId: run1 })).map((f) => f.failure_key),
        ['catalog.jsonl:17'],
      );
      assert.equal((await listFailures(db, { orgId: orgA, namespace: 'elsewhere' })).length, 0);
      assert.equal((await listFailures(db, { orgId: orgA, limit: 1 })).length, 1);

      await clearFailures(db, keyA, ['x1']);
      assert.deepEqual(
        (await listFailures(db, { orgId: orgA })).map((f) => f.failure_key),
        ['catalog.jsonl:17'],
      );
      assert.equal((await listFailures(db, { orgId: orgB })).length, 1, "clearing org A's key leaves org B's row");
    });

    test('ensureVectorIndex builds the partial HNSW index (512-d vector) and the similar query uses it', async () => {
      const s = spec(randomUUID(), { namespace: 'idx512' });
      const base = randomVector(512);
      const items: Record<string, Float32Array> = {};
      for (let i = 0; i < 12; i++) items[`i${i}`] = nearVector(base, 1000 + i, 0.2 * (i + 1));
      await seed(db, s, items);
      assert.equal(await ensureVectorIndex(db, s), true);
      assert.equal(await ensureVectorIndex(db, s), true, 'a second call is a no-op');

      const shape = vectorIndexShape(s);
      assert.equal(shape.type, 'vector');
      const idx = await db.query<{ indexdef: string }>('SELECT indexdef FROM pg_indexes WHERE tablename = $1 AND indexname = $2', [
        'item_embeddings',
        shape.name,
      ]);
      assert.equal(idx.length, 1, `index ${shape.name} exists`);
      assert.match(idx[0]!.indexdef, /USING hnsw \(\(\(vector\)::vector\(512\)\) vector_cosine_ops\) WHERE/);
      assert.match(idx[0]!.indexdef, /namespace = 'idx512'/);

      const nn = await captureSimilarQuery(db, { orgId: s.orgId, namespace: s.namespace, itemId: 'i0', k: 5 });
      const plan = await explain(db, nn);
      assert.match(plan, new RegExp(`Index Scan using ${shape.name}`), plan);

      // Controls: the same query without the exact cast, or for another version, cannot use the index.
      const bareCast = { ...nn, sql: nn.sql.replaceAll('vector::vector(512)', 'vector') };
      assert.notEqual(bareCast.sql, nn.sql);
      assert.doesNotMatch(await explain(db, bareCast), new RegExp(shape.name));
      const otherVersion = { ...nn, sql: nn.sql.replace("version = 'v1'", "version = 'v9'") };
      assert.notEqual(otherVersion.sql, nn.sql);
      assert.doesNotMatch(await explain(db, otherVersion), new RegExp(shape.name));
    });

    test('3072-d versions get a halfvec expression index that the similar query uses; > 4000-d gets none', async () => {
      const s = spec(randomUUID(), { namespace: 'idx3072', model: 'text-embedding-3-large', dims: 3072 });
      const base = randomVector(3072, 3072);
      const items = { q: base, near: nearVector(base, 1, 0.3), mid: nearVector(base, 2, 1), far: randomVector(3, 3072) };
      await seed(db, s, items);
      assert.equal(await ensureVectorIndex(db, s), true);
      const shape = vectorIndexShape(s);
      assert.equal(shape.type, 'halfvec');
      const idx = await db.query<{ indexdef: string }>('SELECT indexdef FROM pg_indexes WHERE indexname = $1', [shape.name]);
      assert.match(idx[0]?.indexdef ?? '', /\(\(\(vector\)::halfvec\(3072\)\) halfvec_cosine_ops\)/);

      const nn = await captureSimilarQuery(db, { orgId: s.orgId, namespace: s.namespace, itemId: 'q', k: 3 });
      const plan = await explain(db, nn);
      assert.match(plan, new RegExp(`Index Scan using ${shape.name}`), plan);
      const bareCast = { ...nn, sql: nn.sql.replaceAll('vector::halfvec(3072)', 'vector::halfvec') };
      assert.notEqual(bareCast.sql, nn.sql);
      assert.doesNotMatch(await explain(db, bareCast), new RegExp(shape.name), 'a bare halfvec cast cannot use the index');

      const { candidates } = await similar(db, { orgId: s.orgId, namespace: s.namespace, itemId: 'q', k: 3, mode: 'dense' });
      assert.deepEqual(
        candidates.map((c) => c.item_id),
        ['near', 'mid', 'far'],
      );
      for (const c of candidates) {
        const expected = cosine(base, items[c.item_id as keyof typeof items]);
        assert.ok(Math.abs(c.score - expected) < 5e-3, `${c.item_id}: score ${c.score} vs cosine ${expected} (halfvec precision)`);
      }

      const huge = spec(s.orgId, { namespace: 'idx5000', dims: 5000 });
      assert.equal(vectorIndexShape(huge).indexable, false);
      assert.equal(await ensureVectorIndex(db, huge), false);
      const none = await db.query('SELECT 1 FROM pg_indexes WHERE indexname = $1', [vectorIndexShape(huge).name]);
      assert.equal(none.length, 0);
    });

    test('similar() returns neighbours by descending score, without the query item, with catalog fields', async () => {
      const s = spec(randomUUID(), { namespace: 'similar' });
      const q = randomVector(77);
      const items = { q, near: nearVector(q, 1, 0.25), mid: nearVector(q, 2, 0.8), far: nearVector(q, 3, 2.5), other: randomVector(78) };
      await seed(db, s, items);
      await ensureVectorIndex(db, s);
      await upsertCatalogItems(db, s.orgId, s.namespace, [{ item: catalogItem(s.orgId, s.namespace, 'near', { brand: 'NearBrand' }), attributesHash: 'x' }]);

      const { version, candidates } = await similar(db, { orgId: s.orgId, namespace: s.namespace, itemId: 'q', k: 10, mode: 'dense' });
      assert.equal(version.version, 'v1');
      const expected = Object.entries(items)
        .filter(([id]) => id !== 'q')
        .map(([id, v]) => ({ id, score: cosine(q, v) }))
        .sort((x, y) => y.score - x.score);
      assert.deepEqual(
        candidates.map((c) => c.item_id),
        expected.map((e) => e.id),
      );
      candidates.forEach((c, i) => {
        assert.ok(Math.abs(c.score - expected[i]!.score) < 1e-5, `${c.item_id}: ${c.score} vs ${expected[i]!.score}`);
        if (i > 0) assert.ok(candidates[i - 1]!.score >= c.score, 'ordered by score');
        assert.equal(c.modality, 'text');
        assert.equal(c.dense_score, c.score, 'dense alone: the score is the cosine');
      });
      assert.equal(candidates[0]!.brand, 'NearBrand');
      assert.equal(candidates[1]!.brand, null, 'no catalog row → null fields');

      const top2 = await similar(db, { orgId: s.orgId, namespace: s.namespace, itemId: 'q', k: 2 });
      assert.deepEqual(
        top2.candidates.map((c) => c.item_id),
        expected.slice(0, 2).map((e) => e.id),
      );
      await assert.rejects(similar(db, { orgId: s.orgId, namespace: s.namespace, itemId: 'nope' }), NotFoundError);
      await assert.rejects(similar(db, { orgId: s.orgId, namespace: s.namespace, itemId: 'q', k: 0 }), ConfigError);
    });

    test('tenant isolation: two orgs with the same item ids never see each other', async () => {
      const orgA = randomUUID();
      const orgB = randomUUID();
      const ns = 'tenants';
      const sharedA = randomVector(101);
      const sharedB = randomVector(202);
      // Same namespace, version and item id in both orgs, so one partial index covers both.
      const itemsA = { 'shared-1': sharedA, 'a-near': nearVector(sharedA, 1, 0.3), 'a-far': nearVector(sharedA, 2, 1.5) };
      // Org B holds a perfect twin of A's shared-1 and a near copy of A's query: leaks would rank first.
      const itemsB = { 'shared-1': sharedB, 'b-near': nearVector(sharedB, 3, 0.3), 'b-twin-of-a': sharedA, 'a-near': nearVector(sharedA, 4, 0.05) };
      await seed(db, spec(orgA, { namespace: ns }), itemsA);
      await seed(db, spec(orgB, { namespace: ns }), itemsB);
      await ensureVectorIndex(db, spec(orgA, { namespace: ns }));
      await upsertCatalogItems(db, orgA, ns, [{ item: catalogItem(orgA, ns, 'a-near', { brand: 'BrandA' }), attributesHash: 'x' }]);
      await upsertCatalogItems(db, orgB, ns, [{ item: catalogItem(orgB, ns, 'a-near', { brand: 'BrandB' }), attributesHash: 'y' }]);

      const a = await similar(db, { orgId: orgA, namespace: ns, itemId: 'shared-1', k: 10 });
      assert.deepEqual(
        a.candidates.map((c) => c.item_id),
        ['a-near', 'a-far'],
        'org A sees only its own items, ranked by its own shared-1',
      );
      assert.equal(a.candidates[0]!.brand, 'BrandA', 'the catalog join is org-scoped too');
      assert.ok(Math.abs(a.candidates[0]!.dense_score! - cosine(sharedA, itemsA['a-near'])) < 1e-5, "org A's score uses org A's vectors");

      const b = await similar(db, { orgId: orgB, namespace: ns, itemId: 'shared-1', k: 10 });
      assert.equal(b.candidates[0]!.item_id, 'b-near', "org B's query vector is its own shared-1");
      assert.deepEqual(new Set(b.candidates.map((c) => c.item_id)), new Set(['b-near', 'b-twin-of-a', 'a-near']));
      assert.equal(b.candidates.find((c) => c.item_id === 'a-near')?.brand, 'BrandB');

      const searchA = await search(db, { orgId: orgA, namespace: ns, vector: sharedA, k: 10 });
      assert.deepEqual(
        searchA.candidates.map((c) => c.item_id),
        ['shared-1', 'a-near', 'a-far'],
      );
      const searchB = await search(db, { orgId: orgB, namespace: ns, vector: sharedA, k: 10 });
      assert.deepEqual(
        searchB.candidates.slice(0, 2).map((c) => c.item_id),
        ['b-twin-of-a', 'a-near'],
      );
      assert.ok(searchB.candidates.every((c) => c.item_id in itemsB));
      assert.equal(searchB.candidates.length, 4);

      await assert.rejects(similar(db, { orgId: orgA, namespace: ns, itemId: 'b-near' }), NotFoundError, "org B's item is not found from org A");
      await assert.rejects(similar(db, { orgId: randomUUID(), namespace: ns, itemId: 'shared-1' }), NotFoundError);
      await assert.rejects(search(db, { orgId: orgA, namespace: ns, vector: randomVector(5, 384) }), ConfigError, 'wrong query dims');
    });

    test('resolveVersion: explicit version > BLEND_EMBEDDING_VERSION > active version', async () => {
      const orgId = randomUUID();
      const ns = 'resolve';
      const q = randomVector(900);
      for (const version of ['v1', 'v2', 'v3']) {
        await seed(db, spec(orgId, { namespace: ns, version }), { q, [`only-${version}`]: nearVector(q, version.charCodeAt(1), 0.5) });
      }
      await seed(db, spec(orgId, { namespace: 'electronics', version: 'e1' }), { q });
      const resolve = (over: { version?: string; blend?: string } = {}, namespace = ns) =>
        resolveVersion(db, { orgId, namespace, modality: 'text', version: over.version, blend: parseBlendEmbeddingVersion(over.blend) }).then((v) => v.version);

      assert.equal(await resolve(), 'v1', 'the active version when nothing is asked');
      assert.equal(await resolve({ blend: 'v2' }), 'v2', 'a bare BLEND_EMBEDDING_VERSION applies to every namespace');
      assert.equal(await resolve({ blend: `${ns}=v3,v2` }), 'v3', "the namespace's own entry beats the fallback");
      assert.equal(await resolve({ blend: 'electronics=v9,v2' }), 'v2', "another namespace's entry does not apply");
      assert.equal(await resolve({ blend: 'electronics=v9' }), 'v1', 'no entry for this namespace → active');
      assert.equal(await resolve({ version: 'v2', blend: `${ns}=v3,v1` }), 'v2', 'an explicit version beats the blend');
      assert.equal(await resolve({ blend: 'electronics=e1,v2' }, 'electronics'), 'e1');
      await assert.rejects(resolve({ version: 'v9' }), NotFoundError, 'an unknown explicit version is an error, not a fallback');
      await assert.rejects(resolve({ blend: 'v9' }), NotFoundError);
      await assert.rejects(resolve({ version: 'Bad Name' }), ConfigError);
      await assert.rejects(resolve({}, 'empty-namespace'), NotFoundError);

      // similar() reads through the same resolution.
      const viaBlend = await similar(db, { orgId, namespace: ns, itemId: 'q', blend: parseBlendEmbeddingVersion('v3') });
      assert.equal(viaBlend.version.version, 'v3');
      assert.deepEqual(
        viaBlend.candidates.map((c) => c.item_id),
        ['only-v3'],
      );
      const viaActive = await similar(db, { orgId, namespace: ns, itemId: 'q' });
      assert.deepEqual(
        viaActive.candidates.map((c) => c.item_id),
        ['only-v1'],
      );
    });
  });
}

// ---------------------------------------------------------------------------------------------

test('parseBlendEmbeddingVersion accepts the documented forms and rejects malformed ones', () => {
  const asObject = (value: string | undefined) => {
    const b = parseBlendEmbeddingVersion(value);
    return { fallback: b.fallback, byNamespace: Object.fromEntries(b.byNamespace) };
  };
  assert.deepEqual(asObject(undefined), { fallback: null, byNamespace: {} });
  assert.deepEqual(asObject('  '), { fallback: null, byNamespace: {} });
  assert.deepEqual(asObject('v3'), { fallback: 'v3', byNamespace: {} });
  assert.deepEqual(asObject('default=v2,electronics=v3'), { fallback: null, byNamespace: { default: 'v2', electronics: 'v3' } });
  assert.deepEqual(asObject(' v2 , electronics = v3 '), { fallback: 'v2', byNamespace: { electronics: 'v3' } });

  for (const bad of ['default=', 'a=b=c', 'default=v1,default=v2', 'v1,v2', '=v2', 'v1,', 'Default=v2', 'default=V2', 'a b']) {
    assert.throws(
      () => parseBlendEmbeddingVersion(bad),
      (err: unknown) => err instanceof ConfigError && err.message.includes(`BLEND_EMBEDDING_VERSION="${bad}"`),
      `"${bad}" must be rejected`,
    );
  }
});

storeContract('store contract: PGlite in-process', 'pglite');
storeContract('store contract: pg driver over the wire (PGlite via pglite-socket)', 'pg');

// ---------------------------------------------------------------------------------------------
// This machine's PostgreSQL server (no pgvector), and an unreachable one

describe('a real PostgreSQL server', () => {
  let unreachable: string | null = null;
  let hasPgvector = false;

  before(async () => {
    const conn = await connectTestPostgres();
    unreachable = conn.unreachable;
    if (!conn.client) return;
    try {
      const rows = await conn.client.query("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'");
      hasPgvector = (rows.rowCount ?? 0) > 0;
    } finally {
      await conn.client.end().catch(() => undefined);
    }
  });

  test('migrate on a server without pgvector fails with PGVECTOR_MISSING and says how to fix it', async (t) => {
    if (!needServer(t, unreachable)) return;
    if (hasPgvector) {
      t.skip(`the server at ${TEST_PG_URL} has pgvector; this test needs one without it`);
      return;
    }
    const db = await openDb({ databaseUrl: TEST_PG_URL, home: await tempDir() });
    try {
      assert.equal(db.driver, 'pg');
      await assert.rejects(migrate(db), (err: unknown) => {
        assert.ok(err instanceof DatabaseError, `expected DatabaseError, got ${String(err)}`);
        assert.equal(err.code, 'PGVECTOR_MISSING');
        assert.equal(err.exitCode, 4);
        assert.match(err.message, /install pgvector/);
        assert.match(err.message, /unset DATABASE_URL/);
        assert.match(err.message, /127\.0\.0\.1/, 'names the server');
        return true;
      });
      const left = await db.query<{ t: string | null }>("SELECT to_regclass('itemvec_migrations')::text AS t");
      assert.equal(left[0]?.t, null, 'nothing was created before the check failed');
    } finally {
      await db.close();
    }
  });
});

test('an unreachable server gives DB_CONNECT without leaking the password', async () => {
  const password = 'S3cret-pa55word';
  const url = `postgres://itemvec:${password}@127.0.0.1:1/itemvec?sslmode=disable`;
  await assert.rejects(openDb({ databaseUrl: url, home: await tempDir() }), (err: unknown) => {
    assert.ok(err instanceof DatabaseError, `expected DatabaseError, got ${String(err)}`);
    assert.equal(err.code, 'DB_CONNECT');
    assert.equal(err.exitCode, 4);
    assert.match(err.message, /127\.0\.0\.1:1/);
    assert.ok(!err.message.includes(password), `message leaks the password: ${err.message}`);
    assert.ok(!JSON.stringify(err.context).includes(password), 'context leaks the password');
    assert.ok(!String(err.stack).includes(password), 'stack leaks the password');
    return true;
  });
});
