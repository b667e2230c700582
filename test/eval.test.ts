/**
 * Offline evaluation (src/eval): the metric formulas against values worked out by hand, judgement
 * file parsing and its errors, the runner on a tiny catalog whose winner is known in advance
 * (expected metrics computed by hand below, from the documented tag score), and `itemvec eval --json`.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import type { EmbeddingProvider, ProviderName } from '../src/embed/provider.js';
import { JudgementError, parseJudgements, readJudgements } from '../src/eval/judgements.js';
import { binaryGrades, dcg, gain, ndcgAtK, pairedDifference, precisionAtK, recallAtK, reciprocalRank } from '../src/eval/metrics.js';
import { type EvalReport, runEval, type TaskResult } from '../src/eval/run.js';
import { SAMPLE_BUCKETS, sampleBucket } from '../src/pipeline/sample.js';
import { similar } from '../src/retrieve/similar.js';
import { sampleItems, tempDir, writeJsonl } from '../testkit/fixtures.js';
import { startOpenAIServer } from '../testkit/openai-server.js';
import { nearVector, randomVector } from '../testkit/random.js';
import { runCli } from '../testkit/run-cli.js';
import { seed, seedCatalog, seedLexical, spec } from '../testkit/seed.js';
import { useTestDb } from '../testkit/test-db.js';

const close = (actual: number | null | undefined, expected: number, what: string) =>
  assert.ok(typeof actual === 'number' && Math.abs(actual - expected) < 1e-9, `${what}: ${actual} vs ${expected}`);

// log2(3) = 1.5849625007211562, so 1/log2(3) = 0.6309297535714574 and 3/log2(3) = 1.8927892607143721.
const INV_LOG2_3 = 0.6309297535714574;

describe('metrics, by hand', () => {
  test('precision@k, recall@k and reciprocal rank', () => {
    const grades = binaryGrades(['b', 'd', 'e']);
    const ranked = ['a', 'b', 'c', 'd'];
    close(precisionAtK(ranked, grades, 3), 1 / 3, 'P@3: only b in a b c');
    close(precisionAtK(ranked, grades, 4), 2 / 4, 'P@4: b and d');
    close(recallAtK(ranked, grades, 3), 1 / 3, 'R@3: b of {b, d, e}');
    close(recallAtK(ranked, grades, 4), 2 / 3, 'R@4');
    close(reciprocalRank(ranked, grades), 1 / 2, 'first relevant at rank 2');
    close(reciprocalRank(['x', 'y'], grades), 0, 'no relevant item');
    // A short list is not rewarded: one hit in a list of one still divides by k.
    close(precisionAtK(['b'], grades, 10), 0.1, 'P@10 of a one-item list');
    close(recallAtK(ranked, new Map([['a', 0]]), 3), 0, 'nothing relevant');
    // Grade 0 is judged, but not relevant.
    close(
      reciprocalRank(
        ['a', 'b'],
        new Map([
          ['a', 0],
          ['b', 1],
        ]),
      ),
      1 / 2,
      'grade 0 is not a hit',
    );
  });

  test('DCG and nDCG with binary and graded gains', () => {
    assert.deepEqual([0, 1, 2, 3].map(gain), [0, 1, 3, 7]);
    // Binary: relevant {b, d, e}, list a b c, k 3. DCG = 1/log2(3); ideal = 1 + 1/log2(3) + 1/log2(4).
    close(dcg([0, 1, 0], 3), INV_LOG2_3, 'DCG');
    close(ndcgAtK(['a', 'b', 'c'], binaryGrades(['b', 'd', 'e']), 3), INV_LOG2_3 / (1 + INV_LOG2_3 + 0.5), 'binary nDCG@3');
    close(ndcgAtK(['a', 'b', 'c'], binaryGrades(['b', 'd', 'e']), 3), 0.2960819109658652, 'binary nDCG@3, as a number');
    // The ideal is over min(k, |relevant|): one relevant item at rank 1 is perfect.
    close(ndcgAtK(['b', 'x', 'y'], binaryGrades(['b']), 3), 1, 'single relevant item first');
    // Graded: a 2, b 0, c 1, x 3; list b a c. DCG = 0 + 3/log2(3) + 1/2; ideal 3 2 1 = 7 + 3/log2(3) + 1/2.
    const grades = new Map([
      ['a', 2],
      ['b', 0],
      ['c', 1],
      ['x', 3],
    ]);
    close(ndcgAtK(['b', 'a', 'c'], grades, 3), (3 * INV_LOG2_3 + 0.5) / (7 + 3 * INV_LOG2_3 + 0.5), 'graded nDCG@3');
    close(ndcgAtK(['b', 'a', 'c'], grades, 3), 0.25474746577380225, 'graded nDCG@3, as a number');
    close(ndcgAtK(['x', 'a', 'c'], grades, 3), 1, 'ideal order');
    close(ndcgAtK(['a'], new Map([['a', 0]]), 3), 0, 'nothing relevant');
    assert.throws(() => dcg([1], 0), /k must be a positive integer/);
  });

  test('paired difference: mean, 95% interval, wins and losses', () => {
    // Differences 1, 0, 1: mean 2/3, sample variance ((1/3)² + (2/3)² + (1/3)²) / 2 = 1/3, standard error √(1/3)/√3 = 1/3.
    const d = pairedDifference([1, 0, 1], [0, 0, 0]);
    close(d.mean, 2 / 3, 'mean');
    close(d.ci95![0], 2 / 3 - 1.96 / 3, 'low');
    close(d.ci95![1], 2 / 3 + 1.96 / 3, 'high');
    assert.deepEqual([d.wins, d.losses, d.ties], [2, 0, 1]);
    assert.equal(pairedDifference([0.5], [0.25]).ci95, null);
    assert.throws(() => pairedDifference([1], [1, 2]), /differ in length/);
  });
});

describe('judgement files', () => {
  test('JSON Lines and CSV give the same queries; grade defaults to 1', () => {
    const jsonl = [
      '{"query_item_id": "sku-1", "item_id": "sku-2", "grade": 2}',
      '',
      '{"query_item_id": "sku-1", "item_id": "sku-3"}',
      '{"query": " waterproof boots ", "item_id": 42, "grade": 0}',
    ].join('\n');
    const csv = 'query_item_id,query,item_id,grade\nsku-1,,sku-2,2\nsku-1,,sku-3,\n, waterproof boots ,42,0\n';
    for (const set of [parseJudgements(jsonl, 'j.jsonl', 'jsonl'), parseJudgements(csv, 'j.csv', 'csv')]) {
      assert.equal(set.judgements, 3);
      assert.deepEqual(
        set.queries.map((q) => ({ kind: q.kind, query: q.query, grades: [...q.grades] })),
        [
          {
            kind: 'item',
            query: 'sku-1',
            grades: [
              ['sku-2', 2],
              ['sku-3', 1],
            ],
          },
          { kind: 'text', query: 'waterproof boots', grades: [['42', 0]] },
        ],
      );
    }
  });

  test('a bad line is an error naming file:line and what is wrong', () => {
    const bad = (text: string, format: 'jsonl' | 'csv', message: RegExp) =>
      assert.throws(
        () => parseJudgements(text, `judged.${format}`, format),
        (err: unknown) => {
          assert.ok(err instanceof JudgementError, String(err));
          assert.equal(err.exitCode, 2);
          assert.match(err.message, message);
          return true;
        },
      );
    const ok = '{"query": "q", "item_id": "a"}';
    bad(`${ok}\n${ok.slice(0, 10)}`, 'jsonl', /^judged\.jsonl:2: not valid JSON/);
    bad(`${ok}\n\n["a"]`, 'jsonl', /^judged\.jsonl:3: expected a JSON object/);
    bad('{"query": "q", "query_item_id": "x", "item_id": "a"}', 'jsonl', /judged\.jsonl:1: give exactly one of query_item_id .* or query/);
    bad('{"item_id": "a"}', 'jsonl', /judged\.jsonl:1: give exactly one of/);
    bad('{"query": "q", "item_id": ""}', 'jsonl', /judged\.jsonl:1: item_id must be a non-empty string/);
    bad('{"query": "q", "item_id": "a", "grade": -1}', 'jsonl', /judged\.jsonl:1: grade must be an integer from 0 to 10, got -1/);
    bad('{"query": "q", "item_id": "a", "grade": 1.5}', 'jsonl', /grade must be an integer/);
    bad('{"query_item_id": "a", "item_id": "a"}', 'jsonl', /judged\.jsonl:1: item "a" is judged against itself/);
    bad(
      `${ok}\n{"query": "other", "item_id": "a"}\n{"query": "q", "item_id": "a", "grade": 2}`,
      'jsonl',
      /judged\.jsonl:3: item "a" is judged twice for query "q" \(first at line 1\)/,
    );
    bad('qid,item_id\n1,a\n', 'csv', /judged\.csv:1: the CSV header needs item_id and query_item_id or query/);
    bad('query,item_id,grade\nq,a,1\nq,b,x\n', 'csv', /judged\.csv:3: grade must be an integer from 0 to 10, got "x"/);
    bad('query,item_id,grade\nq,a,1\nq,b\n', 'csv', /judged\.csv:3: .*(column|record)/i);
  });

  test('a missing file or an unknown extension is a JudgementError', async () => {
    const dir = await tempDir();
    await assert.rejects(readJudgements(path.join(dir, 'none.jsonl')), /cannot read judgement file .*none\.jsonl/);
    await writeFile(path.join(dir, 'j.txt'), 'x');
    await assert.rejects(readJudgements(path.join(dir, 'j.txt')), /unknown format "\.txt"; use \.jsonl, \.ndjson or \.csv/);
  });
});

/**
 * Twelve items in three categories A, B, C (x1…x4 each). Vectors: each item near its category's
 * centroid (a1 is the centroid, a2 the nearest to it), so embeddings always find the same category.
 * Text: every item of A says "alpha", of B "beta", of C "gamma", so BM25 finds the category too (all
 * three of its other items tie). Tags: item x_i has tag t_i, which it shares with the i-th item of
 * the other two categories, and a1 and a2 also share "pair-a". So the tag retriever mostly finds the
 * wrong category; by Jaccard overlap (tags only, no category bonus):
 *   a1 → b1 (1/2), c1 (1/2), a2 (1/3)      1 of 3 relevant, at rank 3
 *   a2 → b2, c2, a1 likewise               1 of 3, rank 3
 *   every other x_i → the other two items with tag t_i (1 each): 0 of 3
 * The fused list (dense 1, lexical 3, tags 0.5, RRF 60): a2 = 1/61 + 3/61 + 0.5/63, a3 and a4 ≥ 1/63 + 3/61,
 * while b1 gets at most 1/64 + 0.5/61: the category's own items fill the top 3 for every query.
 */
describe('the runner on a tiny catalog with a known winner', () => {
  const DIMS = 16;
  const orgId = randomUUID();
  const ns = 'eval';
  const words = { a: 'alpha', b: 'beta', c: 'gamma' };
  const cats = { a: randomVector(1, DIMS), b: randomVector(2, DIMS), c: randomVector(3, DIMS) };
  const vectors: Record<string, Float32Array> = {};
  const texts: Record<string, string> = {};
  const catalog: Record<string, { category: string; tags: string[] }> = {};
  for (const [c, centroid] of Object.entries(cats)) {
    for (let i = 1; i <= 4; i++) {
      const id = `${c}${i}`;
      vectors[id] = i === 1 ? centroid : nearVector(centroid, 10 * c.charCodeAt(0) + i, i === 2 ? 0.05 : 0.2);
      texts[id] = words[c as keyof typeof words];
      catalog[id] = { category: `Shop > ${c.toUpperCase()}`, tags: [`t${i}`, ...(c === 'a' && i <= 2 ? ['pair-a'] : [])] };
    }
  }
  const v1 = spec(orgId, { namespace: ns, dims: DIMS, model: 'test-16', textSearchConfig: 'simple' });
  const { db } = useTestDb();
  const k = 3;
  const IDEAL3 = 1 + INV_LOG2_3 + 0.5; // ideal DCG@3 with three relevant items

  before(async () => {
    await seed(db, v1, vectors);
    await seedLexical(db, v1, texts);
    await seedCatalog(db, orgId, ns, catalog);
    // v2 covers only categories A and B, as a version part-way through a rollout would; no lexical index.
    await seed(db, { ...v1, version: 'v2' }, Object.fromEntries(Object.entries(vectors).filter(([id]) => !id.startsWith('c'))));
    // Another org with the same ids in one category: a leak would change every number below.
    const other = randomUUID();
    await seed(db, spec(other, { namespace: ns, dims: DIMS, model: 'test-16' }), vectors);
    await seedCatalog(db, other, ns, Object.fromEntries(Object.keys(catalog).map((id) => [id, { category: 'Shop > A', tags: ['t1'] }])));
  });

  const row = (t: TaskResult | undefined, system: string) => t?.rows.find((r) => r.system === system);
  const task = (r: EvalReport, name: TaskResult['task']) => r.tasks.find((t) => t.task === name);

  test('category agreement: dense, lexical and fused side by side with tags by the hand-computed margins', async () => {
    const r = await runEval({ db, orgId, namespace: ns, versions: ['v1'], k });
    assert.deepEqual(
      r.systems.map((s) => [s.id, s.kind]),
      [
        ['v1/fused', 'fused'],
        ['v1/dense', 'dense'],
        ['v1/lexical', 'lexical'],
        ['tags', 'tags'],
      ],
    );
    assert.deepEqual(r.systems[0]!.fusion, { dense: 1, lexical: 3, tags: 0.5, rrfK: 60 });
    assert.deepEqual(r.corpus, { catalog_items: 12, items: 12, query_items: 12, sample: null });
    const cat = task(r, 'category')!;
    assert.equal(cat.queries, 12);
    for (const system of ['v1/fused', 'v1/dense', 'v1/lexical']) {
      close(row(cat, system)!.metrics.precision_at_k, 1, `${system} P@3`);
      close(row(cat, system)!.metrics.ndcg_at_k, 1, `${system} nDCG@3`);
    }
    // Tags: a1 and a2 find one relevant item, at rank 3; the ten others none.
    close(row(cat, 'tags')!.metrics.precision_at_k, (2 * (1 / 3)) / 12, 'tags P@3');
    close(row(cat, 'tags')!.metrics.ndcg_at_k, (2 * (0.5 / IDEAL3)) / 12, 'tags nDCG@3');
    // Lists shorter than k: every item but a1 and a2 has two tag candidates.
    assert.equal(row(cat, 'tags')!.short_lists, 10);
    const lift = cat.comparisons.find((c) => c.system === 'v1/fused' && c.baseline === 'tags' && c.metric === 'precision_at_k')!;
    close(lift.absolute, 1 - 1 / 18, 'lift');
    close(lift.relative, (1 - 1 / 18) / (1 / 18), 'relative lift');
    assert.deepEqual([lift.wins, lift.losses, lift.ties], [12, 0, 0]);
    assert.ok(lift.ci95![0] > 0, 'the interval excludes 0');
    // The served system is compared with each of its own signals too.
    assert.deepEqual(
      cat.comparisons.filter((c) => c.metric === 'precision_at_k').map((c) => `${c.system} vs ${c.baseline}`),
      ['v1/fused vs v1/dense', 'v1/fused vs v1/lexical', 'v1/fused vs tags'],
    );
    // The template names {category}, the label scored here: a label leak, said before any number.
    assert.ok(
      r.notes.some((n) => /^label leak: the prompt template of v1 includes \{category\}/.test(n)),
      r.notes.join('\n'),
    );
  });

  test('a version that covers part of the catalog: every system ranks only the common corpus; no lexical index is a note', async () => {
    const r = await runEval({ db, orgId, namespace: ns, versions: ['v1', 'v2'], k });
    assert.deepEqual(r.corpus, { catalog_items: 12, items: 8, query_items: 8, sample: null });
    assert.deepEqual(
      r.systems.map((s) => s.id),
      ['v1/fused', 'v1/dense', 'v1/lexical', 'v2/fused', 'v2/dense', 'tags'],
    );
    assert.ok(r.notes.some((n) => /^version v2 has no lexical index/.test(n)));
    const cat = task(r, 'category')!;
    close(row(cat, 'v1/dense')!.metrics.precision_at_k, 1, 'v1 P@3 on A and B');
    close(row(cat, 'v2/dense')!.metrics.precision_at_k, 1, 'v2 P@3');
    // c1 is cut from a1's tag list (b1, a2), so still one relevant of three; everything else 0.
    close(row(cat, 'tags')!.metrics.precision_at_k, (2 * (1 / 3)) / 8, 'tags P@3 on A and B');
    const v2v1 = cat.comparisons.find((c) => c.system === 'v2/dense' && c.baseline === 'v1/dense' && c.metric === 'precision_at_k')!;
    assert.deepEqual([v2v1.absolute, v2v1.ties], [0, 8]);
  });

  test('a catalog without tags: no tag retriever row and no lift over it, but a note', async () => {
    const bare = randomUUID();
    const s = spec(bare, { namespace: ns, dims: DIMS, model: 'test-16', promptTemplate: 'Product: {title}' });
    await seed(db, s, vectors);
    await seedCatalog(db, bare, ns, Object.fromEntries(Object.entries(catalog).map(([id, c]) => [id, { category: c.category }])));
    const r = await runEval({ db, orgId: bare, namespace: ns, k });
    assert.ok(!r.systems.some((s) => s.kind === 'tags'));
    assert.ok(
      r.notes.some((n) => /^no catalog item has tags: the tag retriever is left out/.test(n)),
      r.notes.join('\n'),
    );
    assert.ok(!r.notes.some((n) => n.startsWith('label leak')), 'this template leaves the category out');
    assert.ok(!task(r, 'category')!.comparisons.some((c) => c.baseline === 'tags'));
  });

  test('--tune: chosen on half the queries, reported on the other half, scored exactly as similar() serves', async () => {
    const fusion = { dense: 1, lexical: 0, tags: 1, rrfK: 60 };
    const r = await runEval({ db, orgId, namespace: ns, versions: ['v1'], k, tune: true, retrieve: { fusion } });
    const t = r.tune!;
    assert.equal(t.queries.tune + t.queries.held_out, 12);
    assert.ok(t.queries.tune > 0 && t.queries.held_out > 0);
    assert.deepEqual(t.current, fusion);
    assert.deepEqual(
      t.held_out.map((h) => h.system),
      ['tuned', 'current', 'dense', 'lexical', 'tags'],
    );
    assert.deepEqual(t.config, { retrieve: { namespaces: { [ns]: { fusion: t.best } } } });
    // What `current` scores on the held-out half is what similar() serves with it there.
    const heldOut = Object.keys(vectors).filter((id) => sampleBucket(orgId, id) >= SAMPLE_BUCKETS / 2);
    let sum = 0;
    for (const id of heldOut) {
      const served = await similar(db, { orgId, namespace: ns, itemId: id, k, fusion });
      const relevant = binaryGrades(Object.keys(vectors).filter((x) => x !== id && x[0] === id[0]));
      sum += precisionAtK(
        served.candidates.map((c) => c.item_id),
        relevant,
        k,
      );
    }
    close(t.held_out.find((h) => h.system === 'current')!.precision_at_k, sum / heldOut.length, 'current on the held-out half');
    // Dense and lexical are each perfect here; the tuned setting cannot do worse than them where it was chosen.
    close(t.best_on_tune, 1, 'best on the tuning half');
    close(t.held_out.find((h) => h.system === 'tuned')!.precision_at_k, 1, 'tuned on the held-out half');
    await assert.rejects(
      runEval({ db, orgId, namespace: ns, k, tune: true, category: false, judgements: parseJudgements('{"query": "q", "item_id": "a1"}', 'j.jsonl', 'jsonl') }),
      /--tune tunes on the category task/,
    );
  });

  test('--sample: a deterministic subset of query items', async () => {
    const a = await runEval({ db, orgId, namespace: ns, sample: 5, k, tags: false });
    const b = await runEval({ db, orgId, namespace: ns, sample: 5, k, tags: false });
    assert.equal(a.corpus.query_items, 5);
    assert.equal(task(a, 'category')!.queries, 5);
    assert.ok(!a.systems.some((s) => s.kind === 'tags'));
    assert.deepEqual(
      a.tasks[0]!.rows.map((x) => x.metrics),
      b.tasks[0]!.rows.map((x) => x.metrics),
    );
    await assert.rejects(runEval({ db, orgId, namespace: ns, sample: 0 }), /sample must be a positive integer/);
    await assert.rejects(runEval({ db, orgId, namespace: ns, versions: ['v9'] }), /version "v9" does not exist/);
  });

  test("judgements: item→item through similar, text through search with the version's model; tags cannot answer text", async () => {
    const judged = parseJudgements(
      [
        // a1's dense list starts with a2 (grade 1); b1 (grade 2) leads the tag list, a2 is third there.
        '{"query_item_id": "a1", "item_id": "b1", "grade": 2}',
        '{"query_item_id": "a1", "item_id": "a2", "grade": 1}',
        '{"query_item_id": "a1", "item_id": "gone", "grade": 2}',
        '{"query_item_id": "nobody", "item_id": "a1", "grade": 1}',
        '{"query": "category a", "item_id": "a1", "grade": 2}',
        '{"query": "category a", "item_id": "a2", "grade": 2}',
        '{"query": "category a", "item_id": "a3", "grade": 1}',
        '{"query": "category a", "item_id": "a4", "grade": 1}',
        '{"query": "unjudged", "item_id": "b1", "grade": 0}',
      ].join('\n'),
      'judged.jsonl',
      'jsonl',
    );
    // A stand-in for the version's model: the text "category a" means A's centroid.
    let closed = 0;
    const provider: EmbeddingProvider = {
      name: 'test' as ProviderName,
      model: 'test-16',
      dims: DIMS,
      maxInputTokens: 512,
      maxBatchInputs: 16,
      maxBatchTokens: 10_000,
      concurrency: 1,
      tokenizer: { encode: (t) => [...t].map((c) => c.charCodeAt(0)), decode: (t) => String.fromCharCode(...t) },
      embed: async (texts) => ({ vectors: texts.map((t) => (t === 'category a' ? cats.a : cats.c)), tokens: texts.length }),
      close: async () => {
        closed++;
      },
    };
    const r = await runEval({ db, orgId, namespace: ns, versions: ['v1'], category: false, judgements: judged, provider: async () => provider, k });
    const items = task(r, 'item_judgements')!;
    assert.equal(items.queries, 1);
    assert.deepEqual(items.skipped, { no_relevant: 0, query_outside_corpus: 1 });
    assert.equal(items.judged_items_outside_corpus, 1);
    // v1/dense: [a2, a3|a4, …]: recall 1/2, MRR 1, nDCG = 1 / (3 + 1/log2(3)).
    close(row(items, 'v1/dense')!.metrics.recall_at_k, 1 / 2, 'dense recall');
    close(row(items, 'v1/dense')!.metrics.mrr, 1, 'dense MRR');
    close(row(items, 'v1/dense')!.metrics.ndcg_at_k, 1 / (3 + INV_LOG2_3), 'dense nDCG');
    // tags: [b1, c1, a2]: both found; DCG = 3 + 1/2, ideal 3 + 1/log2(3).
    close(row(items, 'tags')!.metrics.recall_at_k, 1, 'tags recall');
    close(row(items, 'tags')!.metrics.ndcg_at_k, 3.5 / (3 + INV_LOG2_3), 'tags nDCG');
    close(row(items, 'tags')!.metrics.ndcg_at_k, 0.9639404333166532, 'tags nDCG, as a number');

    const text = task(r, 'text_judgements')!;
    assert.equal(text.queries, 1);
    assert.equal(text.skipped.no_relevant, 1);
    // search(centroid A) → a1 (2), a2 (2), then a3 or a4 (1): the ideal order; no word of the query is in the catalog.
    for (const system of ['v1/dense', 'v1/fused']) {
      close(row(text, system)!.metrics.recall_at_k, 3 / 4, `${system} text recall@3`);
      close(row(text, system)!.metrics.ndcg_at_k, 1, `${system} text nDCG@3`);
    }
    close(row(text, 'v1/lexical')!.metrics.recall_at_k, 0, 'lexical finds none of the words');
    assert.deepEqual(row(text, 'tags')!.metrics, { recall_at_k: null, mrr: null, ndcg_at_k: null });
    assert.equal(closed, 1, 'the provider is closed after use');
  });
});

describe('itemvec eval (the command)', () => {
  const itemvec = async (args: string[], env: Record<string, string> = {}) => {
    const r = await runCli(args, { env: { OPENAI_API_KEY: 'sk-test', ...env } });
    return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  };

  test('eval --json: systems, corpus and one row per system and task; bad judgements exit 2 naming file:line', async () => {
    const server = await startOpenAIServer();
    try {
      const home = await tempDir();
      const catalog = await writeJsonl(path.join(home, 'c.jsonl'), sampleItems(16, 'ev'));
      const flags = ['--home', home, '--base-url', server.url];
      const run = await itemvec(['run', '--catalog', catalog, ...flags, '--provider', 'openai', '--model', 'text-embedding-3-small', '--dims', '64', '--json']);
      assert.equal(run.code, 0, run.stderr);
      const judged = await writeJsonl(path.join(home, 'j.jsonl'), [
        { query: 'espresso machine with a steam wand', item_id: 'ev-0002', grade: 2 },
        { query_item_id: 'ev-0001', item_id: 'ev-0005', grade: 1 },
      ]);
      const r = await itemvec(['eval', ...flags, '--k', '3', '--judgements', judged, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      assert.deepEqual(Object.keys(report).sort(), ['corpus', 'judgements_file', 'k', 'namespace', 'notes', 'org_id', 'systems', 'tasks', 'tune', 'wall_s']);
      assert.deepEqual(
        report.systems.map((s: { id: string }) => s.id),
        ['v1/fused', 'v1/dense', 'v1/lexical', 'tags'],
      );
      assert.deepEqual(report.systems[1], { id: 'v1/dense', kind: 'dense', version: 'v1', provider: 'openai', model: 'text-embedding-3-small', dims: 64 });
      assert.deepEqual(report.systems[0].fusion, { dense: 1, lexical: 3, tags: 0.5, rrfK: 60 });
      assert.equal(report.corpus.items, 16);
      assert.deepEqual(
        report.tasks.map((t: TaskResult) => [t.task, t.queries, t.metrics]),
        [
          ['category', 16, ['precision_at_k', 'ndcg_at_k']],
          ['item_judgements', 1, ['recall_at_k', 'mrr', 'ndcg_at_k']],
          ['text_judgements', 1, ['recall_at_k', 'mrr', 'ndcg_at_k']],
        ],
      );
      for (const t of report.tasks as TaskResult[]) {
        assert.deepEqual(
          t.rows.map((x) => x.system),
          ['v1/fused', 'v1/dense', 'v1/lexical', 'tags'],
        );
        for (const m of t.metrics) {
          const v = t.rows[0]!.metrics[m];
          assert.ok(typeof v === 'number' && v >= 0 && v <= 1, `${t.task} ${m}: ${v}`);
        }
      }
      assert.equal(report.tasks[2].rows[3].metrics.recall_at_k, null, 'tags-only cannot answer text: null in JSON, n/a in text');

      const tuneOut = path.join(home, 'fusion.json');
      const text = await itemvec(['eval', ...flags, '--k', '3', '--sample', '8', '--tune', '--tune-out', tuneOut]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /note: label leak: the prompt template of v1 includes \{category\}/);
      assert.match(text.stdout, /category agreement .* 8 queries/);
      assert.match(text.stdout, /system\s+precision@3\s+nDCG@3\s+short lists\s+ms\/query/);
      assert.match(text.stdout, /v1\/fused vs tags, precision@3: [+−]\d\.\d{4}/);
      assert.match(text.stdout, /--tune: \d+ fusion settings tried on \d+ queries; reported on the other \d+/);
      // The file holds the winning setting in the config file's own shape: --config takes it as it is.
      const written = JSON.parse(await readFile(tuneOut, 'utf8'));
      assert.deepEqual(Object.keys(written.retrieve.namespaces.default.fusion).sort(), ['dense', 'lexical', 'rrfK', 'tags']);
      const served = await itemvec(['similar', 'ev-0001', '--home', home, '--config', tuneOut, '--json']);
      assert.equal(served.code, 0, served.stderr);
      assert.deepEqual(JSON.parse(served.stdout).fusion, written.retrieve.namespaces.default.fusion);

      const bad = await writeJsonl(path.join(home, 'bad.jsonl'), [
        '{"query": "boots", "item_id": "ev-0001"}',
        '{"query": "boots", "item_id": "ev-0002", "grade": "high"}',
      ]);
      const failed = await itemvec(['eval', ...flags, '--judgements', bad]);
      assert.equal(failed.code, 2);
      assert.match(failed.stderr, /bad\.jsonl:2: grade must be an integer from 0 to 10, got "high"/);
      const help = await itemvec(['eval', '--help']);
      assert.match(help.stdout, /Examples:\n {2}itemvec eval/);
    } finally {
      await server.close();
    }
  });
});
