/**
 * The retrievers as a library, on PGlite with pgvector: tag candidates, blending, the embedding
 * fill, version precedence, tenant isolation, and filtered ANN that still returns k rows when the
 * index is crowded with other orgs' vectors. Expected scores are computed here from the documented
 * formulas (README, "How scores are computed"), independently of the SQL that produces them.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { NotFoundError } from '../src/errors.js';
import { combine } from '../src/retrieve/blend.js';
import { similar, type Candidate } from '../src/retrieve/similar.js';
import { parseBlendEmbeddingVersion } from '../src/retrieve/version.js';
import { openDb, type Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrations.js';
import { ensureVectorIndex, vectorIndexShape } from '../src/store/versions.js';
import { tempDir } from './support/fixtures.js';
import { cosine, nearVector, randomVector } from './support/random.js';
import { seed, seedCatalog, spec } from './support/seed.js';

let db: Db;
before(async () => {
  db = await openDb({ home: await tempDir() });
  await migrate(db);
});
after(() => db?.close());

const DIMS = 32;

/** The documented tag score, written independently of src/retrieve/tags.ts. */
function tagScore(q: { tags: string[]; category: string; brand: string }, c: { tags: string[]; category: string; brand: string }): number {
  const a = new Set(q.tags);
  const b = new Set(c.tags);
  const inter = [...a].filter((t) => b.has(t)).length;
  const union = new Set([...a, ...b]).size;
  return 0.6 * (union === 0 ? 0 : inter / union) + 0.25 * Number(q.category === c.category) + 0.15 * Number(q.brand === c.brand);
}

const ids = (cs: Candidate[]) => cs.map((c) => c.item_id);
const close = (actual: number | null, expected: number, what: string, tolerance = 1e-5) =>
  assert.ok(actual !== null && Math.abs(actual - expected) < tolerance, `${what}: ${actual} vs ${expected}`);

describe('tags and embeddings', () => {
  const orgId = randomUUID();
  const ns = 'shop';
  const base = randomVector(1, DIMS);
  // q has four tags. t1/t3 share all of them (t3 nearer in vector space), m1 half, t2 one;
  // e1/e2 are close in vector space but share no tag (e2 is not in the catalog at all).
  const vectors: Record<string, Float32Array> = {
    q: base,
    e1: nearVector(base, 2, 0.2),
    e2: nearVector(base, 3, 0.5),
    m1: nearVector(base, 4, 0.8),
    t1: randomVector(5, DIMS),
    t3: nearVector(base, 6, 1.5),
    t2: randomVector(7, DIMS),
    z: nearVector(base, 8, 0.3),
  };
  for (let i = 0; i < 16; i++) vectors[`f${i}`] = randomVector(100 + i, DIMS);
  const profiles: Record<string, { tags: string[]; category: string; brand: string }> = {
    q: { tags: ['a', 'b', 'c', 'd'], category: 'Boots', brand: 'Acme' },
    e1: { tags: [], category: 'Boots', brand: 'Other' },
    m1: { tags: ['a', 'b'], category: 'Boots', brand: 'Acme' },
    t1: { tags: ['a', 'b', 'c', 'd'], category: 'Boots', brand: 'Acme' },
    t3: { tags: ['d', 'c', 'b', 'a'], category: 'Boots', brand: 'Acme' },
    t2: { tags: ['a'], category: 'Shoes', brand: 'Acme' },
    z: { tags: [], category: 'Boots', brand: 'Acme' },
    // In the catalog, not embedded yet.
    c0: { tags: ['a', 'b', 'c'], category: 'Boots', brand: 'Acme' },
  };

  before(async () => {
    await seed(db, spec(orgId, { namespace: ns, dims: DIMS, model: 'test-32' }), vectors);
    await ensureVectorIndex(db, spec(orgId, { namespace: ns, dims: DIMS, model: 'test-32' }));
    await seedCatalog(db, orgId, ns, profiles);
    // Another org uses the same ids and tags, plus a perfect twin of q: any leak would rank first.
    const other = randomUUID();
    await seed(db, spec(other, { namespace: ns, dims: DIMS, model: 'test-32' }), { q: base, 'p-twin': base, t1: base });
    await seedCatalog(db, other, ns, { q: profiles.q!, 'p-twin': profiles.q!, 'p-tags': profiles.q!, t1: { tags: ['zzz'] } });
  });

  /** Both scores of every item against q, from the fixtures. */
  const truth = (queryId: string, query = profiles[queryId]!) =>
    Object.keys({ ...vectors, ...profiles })
      .filter((id) => id !== queryId)
      .map((id) => ({
        id,
        embedding: vectors[id] && vectors[queryId] ? cosine(vectors[queryId]!, vectors[id]!) : null,
        tags: profiles[id] ? tagScore(query, profiles[id]!) : null,
      }));

  test('an item with enough tags blends: score = 0.7 · cosine + 0.3 · tag score', async () => {
    const { mode, candidates } = await similar(db, { orgId, namespace: ns, itemId: 'q', k: 6 });
    assert.equal(mode, 'blend');
    // A score the item lacks (no vector, not in the catalog) counts 0.
    const expected = truth('q')
      .map((t) => ({ ...t, score: 0.7 * (t.embedding ?? 0) + 0.3 * (t.tags ?? 0) }))
      .sort((x, y) => y.score - x.score)
      .slice(0, 6);
    assert.deepEqual(ids(candidates), expected.map((e) => e.id));
    candidates.forEach((c, i) => {
      const e = expected[i]!;
      assert.equal(c.source, 'blend');
      close(c.score, e.score, `${c.item_id} blended`);
      if (e.embedding === null) assert.equal(c.embedding_score, null, `${c.item_id} has no vector`);
      else close(c.embedding_score, e.embedding, `${c.item_id} cosine`);
      if (e.tags === null) assert.equal(c.tag_score, null, `${c.item_id} is not in the catalog`);
      else close(c.tag_score, e.tags, `${c.item_id} tag score`);
    });
    // t1 is far in vector space but shares every tag: only the tag retriever finds it, and it still
    // gets its exact cosine for the blend.
    const t1 = (await similar(db, { orgId, namespace: ns, itemId: 'q', k: 30 })).candidates.find((c) => c.item_id === 't1');
    close(t1?.embedding_score ?? null, cosine(base, vectors.t1!), 't1 cosine');
  });

  test('the blend weight moves the ranking between pure cosine (1) and pure tags (0)', async () => {
    const byCosine = await similar(db, { orgId, namespace: ns, itemId: 'q', k: 5, embeddingWeight: 1 });
    const cosineOrder = truth('q')
      .filter((t) => t.embedding !== null)
      .sort((x, y) => y.embedding! - x.embedding!)
      .slice(0, 5)
      .map((t) => t.id);
    assert.deepEqual(ids(byCosine.candidates), cosineOrder);
    const byTags = await similar(db, { orgId, namespace: ns, itemId: 'q', k: 3, embeddingWeight: 0 });
    // t1 and t3 tie at 1.0 (ties by item id), then c0 (no vector: tags alone carry it) at 0.85.
    assert.deepEqual(ids(byTags.candidates), ['t1', 't3', 'c0']);
    assert.deepEqual(byTags.candidates.map((c) => c.score), [1, 1, 0.85]);
  });

  test('below minTags the tag list leads (ties by cosine) and embedding candidates fill it', async () => {
    const { mode, candidates } = await similar(db, { orgId, namespace: ns, itemId: 'q', k: 7, minTags: 5 });
    assert.equal(mode, 'fill');
    // Tag list: t3 and t1 tie at 1.0 and t3 is nearer q; c0 (0.85), m1 (0.7), t2 (0.3).
    assert.deepEqual(
      candidates.map((c) => [c.item_id, c.source]),
      [['t3', 'tags'], ['t1', 'tags'], ['c0', 'tags'], ['m1', 'tags'], ['t2', 'tags'], ['e1', 'embedding'], ['z', 'embedding']],
    );
    close(candidates[2]!.score, tagScore(profiles.q!, profiles.c0!), 'c0 tag score');
    assert.equal(candidates[2]!.embedding_score, null, 'c0 has no vector');
    close(candidates[5]!.score, cosine(base, vectors.e1!), 'e1 fill score is its cosine');
  });

  test('an item without tags gets embedding candidates only; one without a vector gets tag candidates only', async () => {
    const z = await similar(db, { orgId, namespace: ns, itemId: 'z', k: 4 });
    assert.equal(z.mode, 'fill');
    assert.ok(z.candidates.every((c) => c.source === 'embedding'));
    const byCosine = truth('z').filter((t) => t.embedding !== null).sort((x, y) => y.embedding! - x.embedding!);
    assert.deepEqual(ids(z.candidates), byCosine.slice(0, 4).map((t) => t.id));
    // z is in the catalog (category Boots, brand Acme): embedding candidates still carry a tag score.
    close(z.candidates.find((c) => c.item_id === 'q')?.tag_score ?? null, tagScore(profiles.z!, profiles.q!), 'q tag score against z');

    const c0 = await similar(db, { orgId, namespace: ns, itemId: 'c0', k: 10 });
    assert.equal(c0.mode, 'fill');
    assert.deepEqual(new Set(ids(c0.candidates)), new Set(['q', 't1', 't3', 'm1', 't2']));
    assert.ok(c0.candidates.every((c) => c.source === 'tags' && c.embedding_score === null));
  });

  test("another org's items, tags and twins never appear; unknown items are NotFound", async () => {
    for (const minTags of [0, 3, 99]) {
      const { candidates } = await similar(db, { orgId, namespace: ns, itemId: 'q', k: 50, minTags });
      assert.ok(!candidates.some((c) => c.item_id.startsWith('p-')), `minTags ${minTags}: ${ids(candidates).join(',')}`);
      close(candidates.find((c) => c.item_id === 't1')?.embedding_score ?? null, cosine(base, vectors.t1!), "t1 is scored with this org's vector");
    }
    await assert.rejects(similar(db, { orgId, namespace: ns, itemId: 'p-twin' }), NotFoundError);
    await assert.rejects(similar(db, { orgId, namespace: ns, itemId: 'nope' }), (err: unknown) => {
      assert.ok(err instanceof NotFoundError);
      assert.match(err.message, /item "nope" has no text embedding in namespace "shop", version "v1", and is not in its catalog/);
      return true;
    });
  });
});

test('version precedence through similar(): request > BLEND_EMBEDDING_VERSION > active', async () => {
  const orgId = randomUUID();
  const ns = 'versions';
  const q = randomVector(900, DIMS);
  for (const version of ['v1', 'v2', 'v3']) {
    await seed(db, spec(orgId, { namespace: ns, version, dims: DIMS }), { q, [`only-${version}`]: nearVector(q, version.charCodeAt(1), 0.5) });
  }
  const served = async (version?: string, blend?: string) => {
    const r = await similar(db, { orgId, namespace: ns, itemId: 'q', version, blend: parseBlendEmbeddingVersion(blend) });
    assert.ok(r.candidates.every((c) => c.version === r.version.version));
    return ids(r.candidates);
  };
  assert.deepEqual(await served(), ['only-v1']);
  assert.deepEqual(await served(undefined, `${ns}=v3,v2`), ['only-v3']);
  assert.deepEqual(await served(undefined, 'v2'), ['only-v2']);
  assert.deepEqual(await served('v1', `${ns}=v3`), ['only-v1']);
});

test('combine() in fill mode ranks tag ties by cosine and never repeats an item', () => {
  const item = (id: string, tag: number | null, emb: number | null) => ({ item_id: id, tag_score: tag, embedding_score: emb, brand: null, category: null, description: null });
  const tags = [item('a', 0.5, 0.1), item('b', 0.5, 0.9), item('c', 0.5, null), item('d', 0.9, 0.2)];
  const embeddings = [item('b', 0.5, 0.9), item('x', null, 0.8), item('y', 0.1, 0.7)];
  const out = combine('fill', 6, 0.7, tags, embeddings);
  assert.deepEqual(out.map((c) => [c.item_id, c.source, c.score]), [
    ['d', 'tags', 0.9],
    ['b', 'tags', 0.5],
    ['a', 'tags', 0.5],
    ['c', 'tags', 0.5],
    ['x', 'embedding', 0.8],
    ['y', 'embedding', 0.7],
  ]);
  assert.equal(combine('fill', 2, 0.7, tags, embeddings).length, 2);
});

describe('filtered ANN in a crowded index', () => {
  // Org A's query item sits in a neighbourhood full of org B's vectors (same namespace and version,
  // so the same partial index); A's own items are spread out. Other versions of A live alongside.
  const orgA = randomUUID();
  const orgB = randomUUID();
  const ns = 'crowded';
  const base = randomVector(7000, DIMS);
  const itemsA: Record<string, Float32Array> = { query: base };
  for (let i = 0; i < 40; i++) itemsA[`a${i}`] = randomVector(7100 + i, DIMS);
  const s = spec(orgA, { namespace: ns, dims: DIMS, model: 'test-32' });

  before(async () => {
    await seed(db, s, itemsA);
    const itemsB: Record<string, Float32Array> = {};
    for (let i = 0; i < 3000; i++) itemsB[`b${i}`] = nearVector(base, 8000 + i, 0.4);
    await seed(db, spec(orgB, { namespace: ns, dims: DIMS, model: 'test-32' }), itemsB);
    const v2: Record<string, Float32Array> = {};
    for (let i = 0; i < 300; i++) v2[`v2-${i}`] = nearVector(base, 9000 + i, 0.1);
    await seed(db, spec(orgA, { namespace: ns, version: 'v2', dims: DIMS, model: 'test-32' }), v2);
    await ensureVectorIndex(db, s);
    // With a few thousand rows the planner may prefer the primary key (org_id leads it) and a sort,
    // which is right but would not exercise the index: forbid the sort so every query here goes
    // through the HNSW index, as it would on a large catalog.
    await db.exec('SET enable_seqscan = off; SET enable_sort = off');
  });
  after(() => db.exec('RESET enable_seqscan; RESET enable_sort; RESET hnsw.max_scan_tuples'));

  const exactTop = (k: number) =>
    Object.entries(itemsA)
      .filter(([id]) => id !== 'query')
      .map(([id, v]) => ({ id, score: cosine(base, v) }))
      .sort((x, y) => y.score - x.score)
      .slice(0, k)
      .map((e) => e.id);

  /** The index scan as a plain filtered query would run it, with these session settings. */
  async function plainAnn(settings: string): Promise<{ rows: string[]; plan: string }> {
    const { cast, predicate } = vectorIndexShape(s);
    const sql = `SELECT item_id FROM item_embeddings WHERE ${predicate} AND org_id = $1 AND item_id <> 'query'
                 ORDER BY vector::${cast} <=> (SELECT vector::${cast} FROM item_embeddings WHERE org_id = $1 AND namespace = '${ns}' AND version = 'v1' AND item_id = 'query') LIMIT 10`;
    return db.transaction(async (tx) => {
      await tx.exec(settings);
      const plan = (await tx.query<Record<string, string>>(`EXPLAIN ${sql}`, [orgA])).map((r) => r['QUERY PLAN']).join('\n');
      const rows = await tx.query<{ item_id: string }>(sql, [orgA]);
      return { rows: rows.map((r) => r.item_id), plan };
    });
  }

  test('iterative index scans return k rows of the org where a plain index scan returns fewer', async () => {
    const control = await plainAnn('SET LOCAL hnsw.iterative_scan = off');
    assert.match(control.plan, new RegExp(`Index Scan using ${vectorIndexShape(s).name}`), control.plan);
    assert.ok(control.rows.length < 10, `control: a plain HNSW scan should lose rows to the org filter, got ${control.rows.length}`);
    const iterative = await plainAnn('SET LOCAL hnsw.iterative_scan = relaxed_order; SET LOCAL hnsw.ef_search = 100');
    assert.equal(iterative.rows.length, 10, 'the iterative scan alone finds k rows (no exact fallback involved)');

    const { candidates } = await similar(db, { orgId: orgA, namespace: ns, itemId: 'query', k: 10 });
    assert.equal(candidates.length, 10);
    assert.ok(candidates.every((c) => c.item_id.startsWith('a') && c.version === 'v1'), ids(candidates).join(','));
    const truth = new Set(exactTop(10));
    const recall = candidates.filter((c) => truth.has(c.item_id)).length / 10;
    assert.ok(recall >= 0.9, `recall@10 ${recall}`);
  });

  test('when the scan gives up early (hnsw.max_scan_tuples), the org is searched exactly and still returns k', async () => {
    await db.exec('SET hnsw.max_scan_tuples = 100');
    const control = await plainAnn('SET LOCAL hnsw.iterative_scan = relaxed_order; SET LOCAL hnsw.ef_search = 100');
    assert.ok(control.rows.length < 10, `control: the capped iterative scan should stop short, got ${control.rows.length}`);
    const { candidates } = await similar(db, { orgId: orgA, namespace: ns, itemId: 'query', k: 10 });
    assert.deepEqual(ids(candidates), exactTop(10));
  });
});
