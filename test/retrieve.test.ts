/**
 * The retrievers as a library, on PGlite with pgvector: dense, lexical and tag candidates fused by
 * weighted reciprocal rank, each signal alone, part scores on every candidate, version precedence,
 * tenant isolation, and filtered ANN that still returns k rows when the index is crowded with other
 * orgs' vectors. Expected rankings and scores are computed here from the documented formulas
 * (cosine, BM25, Jaccard, RRF), independently of the SQL that produces them.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { NotFoundError } from '../src/errors.js';
import { competitionRanks, type FusionSettings, fuse } from '../src/retrieve/fusion.js';
import { type Candidate, search, similar } from '../src/retrieve/similar.js';
import { parseBlendEmbeddingVersion } from '../src/retrieve/version.js';
import { ensureVectorIndex, vectorIndexShape } from '../src/store/versions.js';
import { BM25, bm25 } from '../testkit/bm25.js';
import { cosine, nearVector, randomVector } from '../testkit/random.js';
import { seed, seedCatalog, seedLexical, spec } from '../testkit/seed.js';
import { useTestDb } from '../testkit/test-db.js';

const { db } = useTestDb();

const DIMS = 32;

/** Jaccard overlap of two tag lists, as documented in src/retrieve/tags.ts. */
function jaccard(a: string[], b: string[]): number {
  const x = new Set(a);
  const y = new Set(b);
  const union = new Set([...x, ...y]).size;
  return union === 0 ? 0 : [...x].filter((t) => y.has(t)).length / union;
}

const ids = (cs: Candidate[]) => cs.map((c) => c.item_id);
const close = (actual: number | null | undefined, expected: number, what: string, tolerance = 1e-5) =>
  assert.ok(actual !== null && actual !== undefined && Math.abs(actual - expected) < tolerance, `${what}: ${actual} vs ${expected}`);

/** A ranked list from scores, best first, ties by id: what each retriever returns. */
const ranked = (scores: Map<string, number>, depth: number) =>
  [...scores]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, depth)
    .map(([item_id, score]) => ({ item_id, score }));

describe('fusion of dense, lexical and tag evidence', () => {
  const orgId = randomUUID();
  const ns = 'shop';
  const s = spec(orgId, { namespace: ns, dims: DIMS, model: 'test-32', textSearchConfig: 'simple' });
  const base = randomVector(1, DIMS);
  // q: near in vector space are e1 (no shared word or tag), z, e2 (not in the catalog); t1 shares every
  // tag and is far away; w1/w2 share q's rare words; f0…f15 are filler.
  const vectors: Record<string, Float32Array> = {
    q: base,
    e1: nearVector(base, 2, 0.2),
    e2: nearVector(base, 3, 0.5),
    m1: nearVector(base, 4, 0.8),
    t1: randomVector(5, DIMS),
    t3: nearVector(base, 6, 1.5),
    w1: randomVector(7, DIMS),
    w2: nearVector(base, 8, 1.2),
    z: nearVector(base, 9, 0.3),
  };
  for (let i = 0; i < 16; i++) vectors[`f${i}`] = randomVector(100 + i, DIMS);
  const texts: Record<string, string> = {
    q: 'alpine leather hiking boot',
    e1: 'espresso machine',
    e2: 'milk frother',
    m1: 'leather belt',
    t1: 'garden hose',
    t3: 'trail running shoe',
    w1: 'alpine hiking boot',
    w2: 'alpine leather jacket',
    z: 'wool sock',
    ...Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`f${i}`, `filler product number ${i}`])),
  };
  const tags: Record<string, string[]> = {
    q: ['a', 'b', 'c', 'd'],
    e1: [],
    m1: ['a', 'b'],
    t1: ['a', 'b', 'c', 'd'],
    t3: ['d', 'c', 'b', 'a'],
    w1: ['x'],
    w2: ['a'],
    z: [],
    c0: ['a', 'b', 'c'],
  };

  before(async () => {
    await seed(db, s, vectors);
    await ensureVectorIndex(db, s);
    // c0 is in the catalog only (not embedded yet); e2 has a vector only.
    await seedCatalog(db, orgId, ns, Object.fromEntries(Object.entries(tags).map(([id, t]) => [id, { tags: t }])));
    await seedLexical(db, s, Object.fromEntries(Object.entries(texts).filter(([id]) => id !== 'e2')));
    // Another org uses the same ids, texts and tags, plus perfect twins of q: any leak would rank first.
    const other = randomUUID();
    const so = spec(other, { namespace: ns, dims: DIMS, model: 'test-32', textSearchConfig: 'simple' });
    await seed(db, so, { q: base, 'p-twin': base, t1: base });
    await seedCatalog(db, other, ns, { q: { tags: tags.q! }, 'p-twin': { tags: tags.q! }, 'p-tags': { tags: tags.q! }, t1: { tags: ['zzz'] } });
    await seedLexical(db, so, { q: texts.q!, 'p-twin': texts.q!, t1: texts.q! });
  });

  /** The three signals' scores for every candidate of q, from the fixtures. */
  const truth = () => {
    const dense = new Map(
      Object.keys(vectors)
        .filter((id) => id !== 'q')
        .map((id) => [id, cosine(base, vectors[id]!)]),
    );
    const lexical = bm25(Object.fromEntries(Object.entries(texts).filter(([id]) => id !== 'e2')), texts.q!.split(' '));
    lexical.delete('q');
    const tag = new Map(
      Object.keys(tags)
        .filter((id) => id !== 'q' && jaccard(tags.q!, tags[id]!) > 0)
        .map((id) => [id, jaccard(tags.q!, tags[id]!)]),
    );
    return { dense, lexical, tag };
  };

  /** Weighted RRF with competition ranks, written here from fusion.ts's header. */
  function expectedFusion(f: FusionSettings, depth: number, k: number) {
    const t = truth();
    const scores = new Map<string, number>();
    for (const [signal, list] of [
      ['dense', t.dense],
      ['lexical', t.lexical],
      ['tags', t.tag],
    ] as const) {
      const top = ranked(list, depth);
      for (const item of top) {
        const rank = 1 + top.filter((other) => other.score > item.score).length;
        scores.set(item.item_id, (scores.get(item.item_id) ?? 0) + f[signal] / (f.rrfK + rank));
      }
    }
    return ranked(scores, k);
  }

  test('the served list is the weighted reciprocal rank fusion of the three lists', async () => {
    for (const fusion of [
      { dense: 1, lexical: 2, tags: 0.5, rrfK: 60 },
      { dense: 1, lexical: 0, tags: 1, rrfK: 10 },
      { dense: 0.3, lexical: 1, tags: 0, rrfK: 1 },
    ]) {
      const r = await similar(db, { orgId, namespace: ns, itemId: 'q', k: 6, fusion });
      assert.equal(r.mode, 'fused');
      assert.deepEqual(r.fusion, fusion);
      const expected = expectedFusion(fusion, 40, 6);
      assert.deepEqual(
        ids(r.candidates),
        expected.map((e) => e.item_id),
        JSON.stringify(fusion),
      );
      for (const [i, c] of r.candidates.entries()) close(c.score, expected[i]!.score, `${c.item_id} fused score`, 1e-6);
    }
  });

  test("every candidate carries each signal's own score, also where that signal's list did not reach it", async () => {
    const t = truth();
    const { candidates } = await similar(db, { orgId, namespace: ns, itemId: 'q', k: 30 });
    assert.ok(candidates.length > 10);
    for (const c of candidates) {
      const d = t.dense.get(c.item_id);
      if (d === undefined) assert.equal(c.dense_score, null, `${c.item_id} has no vector`);
      else close(c.dense_score, d, `${c.item_id} dense`);
      const l = t.lexical.get(c.item_id);
      if (l === undefined) assert.equal(c.lexical_score, null, `${c.item_id} shares no word`);
      else close(c.lexical_score, l, `${c.item_id} lexical`);
      if (!(c.item_id in tags)) assert.equal(c.tag_score, null, `${c.item_id} is not in the catalog`);
      else close(c.tag_score, jaccard(tags.q!, tags[c.item_id]!), `${c.item_id} tags`);
    }
    // t1 is far in vector space but shares every tag: found by tags alone, it still shows its cosine.
    const t1 = candidates.find((c) => c.item_id === 't1')!;
    assert.equal(t1.ranks.tags, 1);
    close(t1.dense_score, cosine(base, vectors.t1!), 't1 dense');
    // c0 has no vector and no document: tag evidence only.
    const c0 = candidates.find((c) => c.item_id === 'c0')!;
    assert.deepEqual([c0.dense_score, c0.lexical_score, c0.ranks.dense, c0.ranks.lexical], [null, null, null, null]);
  });

  test('each signal alone: dense by cosine, lexical by BM25, tags by overlap then id', async () => {
    const t = truth();
    const dense = await similar(db, { orgId, namespace: ns, itemId: 'q', k: 5, mode: 'dense' });
    assert.equal(dense.mode, 'dense');
    assert.deepEqual(
      ids(dense.candidates),
      ranked(t.dense, 5).map((x) => x.item_id),
    );
    for (const c of dense.candidates) assert.equal(c.score, c.dense_score);
    const lexical = await similar(db, { orgId, namespace: ns, itemId: 'q', k: 3, mode: 'lexical' });
    assert.deepEqual(ids(lexical.candidates), ['w1', 'w2', 'm1']);
    for (const c of lexical.candidates) close(c.score, t.lexical.get(c.item_id)!, `${c.item_id} BM25`);
    const tagged = await similar(db, { orgId, namespace: ns, itemId: 'q', k: 4, mode: 'tags' });
    // t1 and t3 tie at 1 (by id), then c0 (3/4, no vector: tags alone carry it), then m1 (1/2).
    assert.deepEqual(
      tagged.candidates.map((c) => [c.item_id, c.score]),
      [
        ['t1', 1],
        ['t3', 1],
        ['c0', 0.75],
        ['m1', 0.5],
      ],
    );
    // Tied scores share a rank, so the fusion cannot prefer t1 over t3 for its id.
    assert.deepEqual(
      tagged.candidates.map((c) => c.ranks.tags),
      [1, 1, 3, 4],
    );
    // An item without tags has no tag candidates; one without a document no lexical ones.
    assert.deepEqual(ids((await similar(db, { orgId, namespace: ns, itemId: 'z', mode: 'tags' })).candidates), []);
    assert.deepEqual(ids((await similar(db, { orgId, namespace: ns, itemId: 'e2', mode: 'lexical' })).candidates), []);
    const e2 = await similar(db, { orgId, namespace: ns, itemId: 'e2', k: 3 });
    assert.ok(
      e2.candidates.every((c) => c.ranks.lexical === null && c.ranks.tags === null),
      'e2: dense evidence only',
    );
  });

  test('search: text fused from dense and lexical evidence; lexical needs no model; a vector is dense only', async () => {
    const lexical = await search(db, { orgId, namespace: ns, text: 'alpine boot', mode: 'lexical', k: 3 });
    const expected = ranked(bm25(Object.fromEntries(Object.entries(texts).filter(([id]) => id !== 'e2')), ['alpine', 'boot']), 3);
    assert.deepEqual(
      ids(lexical.candidates),
      expected.map((e) => e.item_id),
    );
    assert.ok(lexical.candidates.every((c) => c.tag_score === null && c.dense_score === null));
    const provider = {
      name: 'test',
      model: 'test-32',
      dims: DIMS,
      maxInputTokens: 512,
      maxBatchInputs: 8,
      maxBatchTokens: 1000,
      concurrency: 1,
      tokenizer: { encode: () => [1], decode: () => '' },
      embed: async () => ({ vectors: [base], tokens: 1 }),
      close: async () => {},
    } as never;
    const fused = await search(db, { orgId, namespace: ns, text: 'alpine boot', provider, k: 3 });
    // q itself is the nearest vector and holds both words: first for both signals.
    assert.equal(fused.candidates[0]!.item_id, 'q');
    assert.deepEqual(fused.candidates[0]!.ranks, { dense: 1, lexical: expected.findIndex((e) => e.item_id === 'q') + 1 || null, tags: null });
    const byVector = await search(db, { orgId, namespace: ns, vector: base, k: 3 });
    assert.ok(byVector.candidates.every((c) => c.ranks.lexical === null && c.lexical_score === null));
    await assert.rejects(search(db, { orgId, namespace: ns, text: 'alpine', k: 3 }), /needs a provider/);
    await assert.rejects(search(db, { orgId, namespace: ns, text: 'alpine', mode: 'tags' }), /mode tags cannot answer it/);
  });

  test("another org's items, words, tags and twins never appear; unknown items are NotFound", async () => {
    for (const mode of ['fused', 'dense', 'lexical', 'tags'] as const) {
      const { candidates } = await similar(db, { orgId, namespace: ns, itemId: 'q', k: 50, mode });
      assert.ok(!candidates.some((c) => c.item_id.startsWith('p-')), `${mode}: ${ids(candidates).join(',')}`);
    }
    const { candidates } = await similar(db, { orgId, namespace: ns, itemId: 'q', k: 50 });
    close(candidates.find((c) => c.item_id === 't1')?.dense_score, cosine(base, vectors.t1!), "t1 is scored with this org's vector");
    assert.equal(candidates.find((c) => c.item_id === 't1')?.lexical_score, null, "this org's t1 shares no word with q");
    const theirs = await search(db, { orgId, namespace: ns, text: 'alpine leather hiking boot', mode: 'lexical', k: 50, lexical: BM25 });
    assert.ok(!ids(theirs.candidates).includes('p-twin'));
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

test('fuse(): weights, competition ranks for ties, k, and signals weighted 0', () => {
  assert.deepEqual(competitionRanks([0.9, 0.5, 0.5, 0.2]), [1, 2, 2, 4]);
  const lists = [
    {
      signal: 'dense' as const,
      items: [
        { item_id: 'a', score: 0.9 },
        { item_id: 'b', score: 0.8 },
      ],
    },
    {
      signal: 'lexical' as const,
      items: [
        { item_id: 'b', score: 12 },
        { item_id: 'c', score: 3 },
      ],
    },
    {
      signal: 'tags' as const,
      items: [
        { item_id: 'c', score: 0.5 },
        { item_id: 'a', score: 0.5 },
        { item_id: 'd', score: 0.1 },
      ],
    },
  ];
  const out = fuse(lists, { dense: 1, lexical: 2, tags: 0.5, rrfK: 10 }, 10);
  const expected = { a: 1 / 11 + 0.5 / 11, b: 1 / 12 + 2 / 11, c: 2 / 12 + 0.5 / 11, d: 0.5 / 13 };
  assert.deepEqual(
    out.map((f) => f.item_id),
    ['b', 'c', 'a', 'd'],
  );
  for (const f of out) assert.ok(Math.abs(f.score - expected[f.item_id as keyof typeof expected]) < 1e-6, f.item_id);
  assert.deepEqual(out.find((f) => f.item_id === 'a')!.ranks, { dense: 1, lexical: null, tags: 1 });
  assert.deepEqual(out.find((f) => f.item_id === 'c')!.scores, { dense: null, lexical: 3, tags: 0.5 });
  assert.equal(fuse(lists, { dense: 1, lexical: 2, tags: 0.5, rrfK: 10 }, 2).length, 2);
  // A signal weighted 0 adds nothing: d, found by tags only, drops out.
  assert.deepEqual(
    fuse(lists, { dense: 1, lexical: 1, tags: 0, rrfK: 60 }, 10).map((f) => f.item_id),
    ['b', 'a', 'c'],
  );
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
    assert.ok(
      candidates.every((c) => c.item_id.startsWith('a') && c.version === 'v1'),
      ids(candidates).join(','),
    );
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
