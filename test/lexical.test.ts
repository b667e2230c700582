/**
 * The lexical index (src/store/lexical.ts) against BM25 computed here, independently, from the
 * documented formula: scores, IDF, term-frequency saturation, length normalisation, exact corpus
 * statistics under updates, scoping by org/namespace/version, the postings bound, stemming with
 * the english configuration, and the same statement over the wire through `pg`.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, test } from 'node:test';
import type { Queryable } from '../src/store/db.js';
import { bm25Sql, lexicalScores, lexicalSearch, writeLexicalDocuments } from '../src/store/lexical.js';
import { ensureVersion } from '../src/store/versions.js';
import { BM25, bm25 } from '../testkit/bm25.js';
import { spec } from '../testkit/seed.js';
import { openTestDb, useTestDb } from '../testkit/test-db.js';

/** Scores are rounded to six decimals (src/store/lexical.ts): equal within half of the last one. */
const close = (actual: number | undefined, expected: number | undefined, what: string) =>
  assert.ok(actual !== undefined && expected !== undefined && Math.abs(actual - expected) <= 5e-7 + 1e-12, `${what}: ${actual} vs ${expected}`);

const DOCS: Record<string, string> = {
  d1: 'red wool scarf',
  d2: 'red red red cotton scarf',
  d3: 'blue wool hat',
  d4: 'red wool scarf knitted by hand in a small village from local sheep wool yarn',
  d5: 'green silk tie',
  d6: 'red cotton shirt',
};

const { db } = useTestDb();
const orgId = randomUUID();
const scope = { orgId, namespace: 'lex', version: 'v1', textSearchConfig: 'simple' };
const key = { orgId, namespace: 'lex', modality: 'text' as const, version: 'v1' };

async function write(target: Queryable, k: typeof key, docs: Record<string, string>, config = 'simple') {
  await writeLexicalDocuments(
    target,
    k,
    config,
    Object.entries(docs).map(([itemId, text]) => ({ itemId, text, metadataHash: `h-${text}` })),
  );
}

/** Statistics recounted from the documents and postings, to compare with what the writes maintained. */
async function recount(k: typeof key) {
  const params = [k.orgId, k.namespace, k.version];
  const [kept] = await db.query<{ documents: string; total_length: string }>(
    'SELECT documents, total_length FROM lexical_corpus WHERE org_id = $1 AND namespace = $2 AND version = $3',
    params,
  );
  const [real] = await db.query<{ documents: string; total_length: string }>(
    'SELECT count(*) AS documents, coalesce(sum(length), 0) AS total_length FROM lexical_documents WHERE org_id = $1 AND namespace = $2 AND version = $3',
    params,
  );
  const keptDf = await db.query<{ lexeme: string; df: number }>(
    'SELECT lexeme, df FROM lexical_terms WHERE org_id = $1 AND namespace = $2 AND version = $3 ORDER BY lexeme',
    params,
  );
  const realDf = await db.query<{ lexeme: string; df: number }>(
    'SELECT lexeme, count(*)::int AS df FROM lexical_postings WHERE org_id = $1 AND namespace = $2 AND version = $3 GROUP BY lexeme ORDER BY lexeme',
    params,
  );
  return { kept: { corpus: kept, df: keptDf }, real: { corpus: real, df: realDf } };
}

before(async () => {
  await ensureVersion(db, spec(orgId, { namespace: 'lex', textSearchConfig: 'simple' }));
  await db.transaction((tx) => write(tx, key, DOCS));
});

describe('BM25 scores', () => {
  test('a text query scores every matching document exactly as the formula does', async () => {
    const rows = await lexicalSearch(db, scope, { text: 'red scarf' }, BM25, 10);
    const expected = bm25(DOCS, ['red', 'scarf']);
    assert.deepEqual(new Set(rows.map((r) => r.item_id)), new Set(expected.keys()), 'exactly the documents holding a query term');
    for (const r of rows) close(r.score, expected.get(r.item_id), r.item_id);
    assert.deepEqual(
      rows.map((r) => r.score),
      [...rows.map((r) => r.score)].sort((a, b) => b - a),
      'best first',
    );
  });

  test('IDF, saturation and length normalisation move scores the way BM25 says', async () => {
    const score = async (text: string, id: string) => (await lexicalScores(db, scope, { text }, BM25, [id])).get(id)!;
    // A rare term (silk: 1 document) outweighs a common one (red: 4) at the same tf, in documents of the same length.
    assert.ok((await score('silk', 'd5')) > (await score('red', 'd6')));
    // Three occurrences score more than one, but far less than three times as much.
    const once = (await lexicalScores(db, scope, { text: 'red' }, { ...BM25, b: 0 }, ['d1'])).get('d1')!;
    const thrice = (await lexicalScores(db, scope, { text: 'red' }, { ...BM25, b: 0 }, ['d2'])).get('d2')!;
    assert.ok(thrice > once && thrice < 2 * once, `tf 3 → ${thrice}, tf 1 → ${once}`);
    // With k1 = 0 only presence counts.
    const presence = await lexicalScores(db, scope, { text: 'red' }, { ...BM25, k1: 0 }, ['d1', 'd2']);
    close(presence.get('d1'), presence.get('d2'), 'k1 = 0');
    // The same single occurrence of "scarf" weighs less in the long document d4 than in d1; b = 0 removes the difference.
    assert.ok((await score('scarf', 'd1')) > (await score('scarf', 'd4')));
    const flat = await lexicalScores(db, scope, { text: 'scarf' }, { ...BM25, b: 0 }, ['d1', 'd4']);
    close(flat.get('d1'), flat.get('d4'), 'b = 0');
  });

  test("an item query uses the item's own terms, each once, and never returns the item", async () => {
    const rows = await lexicalSearch(db, scope, { itemId: 'd2' }, BM25, 10);
    assert.ok(!rows.some((r) => r.item_id === 'd2'));
    const expected = bm25(DOCS, ['red', 'cotton', 'scarf']);
    for (const r of rows) close(r.score, expected.get(r.item_id), r.item_id);
    assert.equal(rows[0]!.item_id, 'd6', 'red + cotton beats red + scarf: cotton is rarer');
  });

  test('maxPostings: the rarest terms are read first, and the first term always', async () => {
    // df: tie 1, silk 1, green 1, red 4. A budget of 1 keeps only the rarest term of "red tie" (tie).
    const pruned = await lexicalSearch(db, scope, { text: 'red tie' }, { ...BM25, maxPostings: 1 }, 10);
    assert.deepEqual(
      pruned.map((r) => r.item_id),
      ['d5'],
    );
    close(pruned[0]!.score, bm25(DOCS, ['tie']).get('d5'), 'tie alone');
    // Even a budget below every term's df reads the rarest one.
    assert.equal((await lexicalSearch(db, scope, { text: 'red' }, { ...BM25, maxPostings: 1 }, 10)).length, 4);
    assert.equal((await lexicalSearch(db, scope, { text: 'red tie' }, BM25, 10)).length, 5);
  });

  test('words no document holds, or none at all, match nothing', async () => {
    assert.deepEqual(await lexicalSearch(db, scope, { text: 'purple' }, BM25, 10), []);
    assert.deepEqual(await lexicalSearch(db, scope, { text: '!!' }, BM25, 10), []);
    assert.deepEqual(await lexicalSearch(db, scope, { itemId: 'no-such-item' }, BM25, 10), []);
  });
});

describe('writes keep postings and statistics exact', () => {
  const k2 = { ...key, namespace: 'lex-updates' };
  const scope2 = { ...scope, namespace: k2.namespace };

  test('rewriting, adding and emptying documents leaves statistics equal to a full recount', async () => {
    await ensureVersion(db, spec(orgId, { namespace: k2.namespace, textSearchConfig: 'simple' }));
    await db.transaction((tx) => write(tx, k2, DOCS));
    const changed: Record<string, string> = { ...DOCS, d2: 'green cotton scarf', d7: 'yellow raincoat', d3: '' };
    // d2 changes, d7 is new, d3 loses every word, d1 is written again unchanged.
    await db.transaction((tx) => write(tx, k2, { d1: changed.d1!, d2: changed.d2!, d7: changed.d7!, d3: changed.d3! }));
    const { kept, real } = await recount(k2);
    assert.deepEqual(kept, real);
    assert.equal(Number(kept.corpus!.documents), 7);
    assert.equal(kept.df.find((t) => t.lexeme === 'red')?.df, 3, 'd2 no longer holds red');
    assert.equal(
      kept.df.find((t) => t.lexeme === 'hat'),
      undefined,
      'a term no document holds any more is gone',
    );
    // Scores follow the new corpus exactly (an empty document counts in N and in the average length).
    const rows = await lexicalSearch(db, scope2, { text: 'green scarf' }, BM25, 10);
    const expected = bm25(changed, ['green', 'scarf']);
    assert.equal(rows.length, expected.size);
    for (const r of rows) close(r.score, expected.get(r.item_id), r.item_id);
  });

  test('a write rolled back with its transaction changes nothing', async () => {
    const before = await recount(k2);
    await assert.rejects(
      db.transaction(async (tx) => {
        await write(tx, k2, { d1: 'something else entirely', d9: 'brand new' });
        throw new Error('the vector write failed');
      }),
      /the vector write failed/,
    );
    assert.deepEqual(await recount(k2), before);
  });
});

test('orgs, namespaces and versions never share documents or statistics', async () => {
  const other = randomUUID();
  const twin = { orgId: other, namespace: 'lex', modality: 'text' as const, version: 'v1' };
  await ensureVersion(db, spec(other, { namespace: 'lex', textSearchConfig: 'simple' }));
  await ensureVersion(db, spec(orgId, { namespace: 'lex', version: 'v2', textSearchConfig: 'simple' }));
  // Another org holds a near-perfect match for "red scarf" under the same ids, and many red documents
  // that would change red's df if statistics leaked; so does v2 of the same org.
  const decoys = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`x${i}`, 'red red scarf scarf']));
  await db.transaction((tx) => write(tx, twin, { ...decoys, d1: 'red scarf' }));
  await db.transaction((tx) => write(tx, { ...key, version: 'v2' }, decoys));
  const rows = await lexicalSearch(db, scope, { text: 'red scarf' }, BM25, 50);
  assert.ok(!rows.some((r) => r.item_id.startsWith('x')));
  const expected = bm25(DOCS, ['red', 'scarf']);
  for (const r of rows) close(r.score, expected.get(r.item_id), `${r.item_id} scored with this org's statistics`);
  const theirs = await lexicalSearch(db, { ...scope, orgId: other }, { text: 'red scarf' }, BM25, 50);
  assert.equal(theirs.length, 21);
});

test('english analysis: stems and stop words are the same for documents and queries', async () => {
  const en = { ...key, namespace: 'lex-en' };
  await ensureVersion(db, spec(orgId, { namespace: en.namespace }));
  await db.transaction((tx) => write(tx, en, { w1: 'Analog Watch for Women', w2: "Women's Cycling Shorts", w3: 'Stainless Steel Watches' }, 'english'));
  const rows = await lexicalSearch(db, { ...scope, namespace: en.namespace, textSearchConfig: 'english' }, { text: 'watches for a woman' }, BM25, 10);
  assert.deepEqual(rows.map((r) => r.item_id).sort(), ['w1', 'w3'], '"watches" finds "watch"; "for" and "a" are stop words; "woman" is not "women"');
});

test('the same statement over the wire (pg driver) gives the same scores', async (t) => {
  const { db: remote } = await openTestDb(t, { driver: 'pg' });
  await ensureVersion(remote, spec(orgId, { namespace: 'lex', textSearchConfig: 'simple' }));
  await remote.transaction((tx) => write(tx, key, DOCS));
  for (const q of [{ text: 'red scarf' }, { itemId: 'd1' }]) {
    assert.deepEqual(await lexicalSearch(remote, scope, q, BM25, 10), await lexicalSearch(db, scope, q, BM25, 10));
  }
  // The text parameter is typed by the statement itself: no driver-specific casts needed.
  assert.match(bm25Sql('text'), /to_tsvector\(\$9::regconfig, \$4\)/);
});

test('a version fixes its text search configuration; one the database lacks is refused before anything is written', async () => {
  await assert.rejects(
    ensureVersion(db, spec(orgId, { namespace: 'lex-bad', textSearchConfig: 'klingon' })),
    /text search configuration "klingon" does not exist in this database/,
  );
  await assert.rejects(
    ensureVersion(db, spec(orgId, { namespace: 'lex', textSearchConfig: 'english' })),
    /version "v1" of namespace "lex" \(text\) was created with different settings: textSearchConfig "simple" \(this run: "english"\)/,
  );
});
