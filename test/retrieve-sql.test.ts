/**
 * docs/retriever-sql.md is the contract with services in other languages: every `sql` block on that
 * page runs here exactly as written (split into statements, nothing substituted), through the `pg`
 * driver with bound parameters as pgx would send them, against PGlite served over the wire. Results
 * must match the library, the similar-items plan must use the version's partial HNSW index, and the
 * org filter must hold.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { similar } from '../src/retrieve/similar.js';
import { lexicalSearch } from '../src/store/lexical.js';
import { ensureVectorIndex, vectorIndexShape } from '../src/store/versions.js';
import { nearVector, randomVector } from '../testkit/random.js';
import { seed, seedCatalog, seedLexical, spec } from '../testkit/seed.js';
import { useTestDb } from '../testkit/test-db.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const doc = readFileSync(path.join(root, 'docs/retriever-sql.md'), 'utf8');

/** `sql` blocks by the name in their first line (`-- itemvec:<name>`), each split into statements. */
const blocks = new Map(
  [...doc.matchAll(/```sql\n-- itemvec:([a-z-]+)\n([\s\S]*?)```/g)].map(([, name, body]) => [
    name!,
    body!
      .split(/;\s*\n/)
      .map((s) => s.trim())
      .filter(Boolean),
  ]),
);
const block = (name: string) => {
  const statements = blocks.get(name);
  assert.ok(statements, `docs/retriever-sql.md has a block "-- itemvec:${name}" (found: ${[...blocks.keys()].join(', ')})`);
  return statements;
};

const orgA = randomUUID();
const orgB = randomUUID();
const DIMS = 3072;
const versionSpec = spec(orgA, { dims: DIMS, model: 'text-embedding-3-large', provider: 'openai' });
// The same vectors in a version stored as float16 (statement 2b); org B stores that name too.
const halfSpec = { ...versionSpec, version: 'v2', storage: 'halfvec' as const };
const { db } = useTestDb({ driver: 'pg' });

before(async () => {
  const q = randomVector(1, DIMS);
  const itemsA: Record<string, Float32Array> = { q };
  for (let i = 0; i < 24; i++) itemsA[`n${i}`] = nearVector(q, 10 + i, 0.3 + i * 0.1);
  await seed(db, versionSpec, itemsA);
  // Words and tags that disagree with the vectors, so the three lists differ and the fusion matters.
  const words = ['alpine', 'leather', 'boots', 'waterproof', 'trail', 'wool', 'socks', 'tent'];
  const texts: Record<string, string> = { q: 'Alpine leather boots, waterproof' };
  for (let i = 0; i < 24; i++) texts[`n${i}`] = `${words[(i * 5) % 8]} ${words[(i * 3 + 1) % 8]} ${words[i % 8]} item ${i}`;
  await seedLexical(db, versionSpec, texts);
  await seedCatalog(
    db,
    orgA,
    'default',
    Object.fromEntries(
      Object.keys(texts).map((id, i) => [id, { tags: id === 'q' ? ['a', 'b', 'c'] : [['a', 'b', 'c', 'd'][i % 4]!, ...(i % 3 ? ['b'] : [])] }]),
    ),
  );
  // Org B: the same query id and a perfect twin of A's query vector, text and tags, in the same index.
  const specB = spec(orgB, { dims: DIMS, model: 'text-embedding-3-large', provider: 'openai' });
  await seed(db, specB, { q, 'b-twin': q, n0: q });
  await seedLexical(db, specB, { q: texts.q!, 'b-twin': texts.q!, n0: texts.q! });
  await seedCatalog(db, orgB, 'default', { q: { tags: ['a', 'b', 'c'] }, 'b-twin': { tags: ['a', 'b', 'c'] } });
  await ensureVectorIndex(db, versionSpec);
  await seed(db, halfSpec, itemsA);
  await seed(db, { ...specB, version: 'v2', storage: 'halfvec' }, { q, 'b-twin': q, n0: q });
  await ensureVectorIndex(db, halfSpec);
});

test('the page has the six documented statements', () => {
  assert.deepEqual(
    [...blocks.keys()],
    ['resolve-version', 'similar-items', 'similar-items-halfvec', 'score-candidates', 'lexical-similar', 'lexical-search', 'similar-fused'],
  );
});

test('resolve-version: the requested or blended version, else the active one, with its dims', async () => {
  const [sql] = block('resolve-version');
  assert.deepEqual(await db.query(sql!, [orgA, 'default', null]), [{ version: 'v1', dims: DIMS, text_search_config: 'english', storage: 'vector' }]);
  assert.deepEqual(await db.query(sql!, [orgA, 'default', 'v1']), [{ version: 'v1', dims: DIMS, text_search_config: 'english', storage: 'vector' }]);
  assert.deepEqual(await db.query(sql!, [orgA, 'default', 'v2']), [{ version: 'v2', dims: DIMS, text_search_config: 'english', storage: 'halfvec' }]);
  assert.deepEqual(await db.query(sql!, [orgA, 'default', 'v9']), [], 'an unknown version gives no row');
  assert.deepEqual(await db.query(sql!, [randomUUID(), 'default', null]), [], 'another org has no version');
});

for (const [name, v, column] of [
  ['similar-items', versionSpec, 'vector'],
  ['similar-items-halfvec', halfSpec, 'half'],
] as const)
  test(`${name} returns what the library returns, through the partial index, for one org only`, async () => {
    const statements = block(name);
    const settings = statements.slice(0, -1);
    const select = statements.at(-1)!;
    assert.deepEqual(settings, ['SET LOCAL hnsw.ef_search = 100', 'SET LOCAL hnsw.iterative_scan = relaxed_order']);
    const rows = await db.transaction(async (tx) => {
      for (const s of settings) await tx.exec(s);
      return tx.query<{ item_id: string; score: number }>(select, [orgA, 'q', 10]);
    });
    const library = await similar(db, { orgId: orgA, namespace: 'default', itemId: 'q', k: 10, mode: 'dense', version: v.version });
    assert.deepEqual(
      rows.map((r) => r.item_id),
      library.candidates.map((c) => c.item_id),
    );
    for (const [i, r] of rows.entries()) {
      assert.ok(Math.abs(Number(r.score) - library.candidates[i]!.score) < 1e-6, `${r.item_id}: ${r.score} vs ${library.candidates[i]!.score}`);
    }
    assert.ok(!rows.some((r) => r.item_id === 'b-twin'), "org B's twin of the query never appears");
    assert.equal(rows[0]!.item_id, 'n0', "org A's own n0, not org B's identical one");
    assert.ok(Number(rows[0]!.score) < 0.999);

    // With few rows a scan of the primary key plus a sort is cheaper than the index; forbidding the sort
    // makes the planner take the HNSW index whenever the statement can use it at all.
    const plan = await db.transaction(async (tx) => {
      for (const s of settings) await tx.exec(s);
      await tx.exec('SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off');
      const explained = await tx.query<Record<string, string>>(`EXPLAIN ${select}`, [orgA, 'q', 10]);
      return explained.map((r) => r['QUERY PLAN']).join('\n');
    });
    assert.match(plan, new RegExp(`Index Scan using ${vectorIndexShape(v).name} on item_embeddings`), plan);
    assert.match(plan, new RegExp(`Order By: \\(\\(${column}\\)::halfvec\\(3072\\) <=> \\(InitPlan 1\\)\\.col1\\)`), plan);
  });

test('score-candidates gives each candidate with a vector its cosine to the query item, in the org', async () => {
  const [sql] = block('score-candidates');
  const rows = await db.query<{ item_id: string; score: number }>(sql!, [orgA, 'q', ['n3', 'n7', 'b-twin', 'missing']]);
  const library = new Map((await similar(db, { orgId: orgA, namespace: 'default', itemId: 'q', k: 30 })).candidates.map((c) => [c.item_id, c.dense_score]));
  assert.deepEqual(rows.map((r) => r.item_id).sort(), ['n3', 'n7']);
  for (const r of rows) assert.ok(Math.abs(Number(r.score) - library.get(r.item_id)!) < 1e-6, `${r.item_id}: ${r.score} vs ${library.get(r.item_id)}`);
});

const scope = { orgId: orgA, namespace: 'default', version: 'v1', textSearchConfig: 'english' };
const bm25 = { k1: 1.2, b: 0.75, maxPostings: 10_000 };
const sameScores = (rows: Array<{ item_id: string; score: number }>, expected: Array<{ item_id: string; score: number }>) => {
  assert.deepEqual(
    rows.map((r) => r.item_id),
    expected.map((e) => e.item_id),
  );
  for (const [i, r] of rows.entries()) assert.ok(Math.abs(Number(r.score) - expected[i]!.score) < 1e-6, `${r.item_id}: ${r.score} vs ${expected[i]!.score}`);
};

test('lexical-similar and lexical-search return what the library returns, for one org only', async () => {
  const [bySimilar] = block('lexical-similar');
  const rows = await db.query<{ item_id: string; score: number }>(bySimilar!, [orgA, 'q', 10]);
  assert.ok(rows.length === 10);
  sameScores(rows, await lexicalSearch(db, scope, { itemId: 'q' }, bm25, 10));
  assert.ok(!rows.some((r) => r.item_id === 'b-twin'));
  const [bySearch] = block('lexical-search');
  const found = await db.query<{ item_id: string; score: number }>(bySearch!, [orgA, 'waterproof alpine boot', 10]);
  assert.ok(found.length > 0);
  sameScores(found, await lexicalSearch(db, scope, { text: 'waterproof alpine boot' }, bm25, 10));
});

test('similar-fused is what itemvec similar serves: the same items, the same fused scores', async () => {
  const statements = block('similar-fused');
  const rows = await db.transaction(async (tx) => {
    for (const s of statements.slice(0, -1)) await tx.exec(s);
    return tx.query<{ item_id: string; score: number }>(statements.at(-1)!, [orgA, 'q', 10]);
  });
  const served = await similar(db, { orgId: orgA, namespace: 'default', itemId: 'q', k: 10 });
  assert.deepEqual(served.fusion, { dense: 1, lexical: 3, tags: 0.5, rrfK: 60 }, 'the page carries the default weights');
  sameScores(rows, served.candidates);
  // All three signals are at work here, so the statement is tested on each of them.
  for (const signal of ['dense', 'lexical', 'tags'] as const)
    assert.ok(
      served.candidates.some((c) => c.ranks[signal] !== null),
      signal,
    );
  assert.ok(!rows.some((r) => r.item_id === 'b-twin'));
});
