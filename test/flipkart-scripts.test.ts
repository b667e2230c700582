/**
 * The real-catalog tooling on a small fixture of the same shape, so `npm test` needs no data file:
 * the Flipkart converter (fields, label out of the text, stratified deterministic sample, exit
 * codes), a titles-only catalog through the pipeline with the label-free template, and the shopper
 * query scorer on top of the library's search.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { allocate } from '../scripts/flipkart-catalog.js';
import { scoreQueries } from '../scripts/score-queries.js';
import { createLocalUseProvider } from '../src/embed/local-use.js';
import type { EmbeddingProvider } from '../src/embed/provider.js';
import { runEval } from '../src/eval/run.js';
import { runEmbeddingJob } from '../src/pipeline/run.js';
import { search } from '../src/retrieve/similar.js';
import { quietLogger, testConfig } from '../testkit/fixtures.js';
import { useTestDb } from '../testkit/test-db.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Product names as the real file has them: the type is in the name, brands repeat in it or are missing. */
const PRODUCTS: Array<[string, string, string]> = [
  ['WAT', 'Timex', 'Timex TW00ZR262E Analog Watch - For Women'],
  ['WAT', 'Fossil', 'Fossil ES3565 Analog Watch - For Women'],
  ['WAT', 'Sonata', 'Sonata 7987YL03 Analog Watch - For Men'],
  ['WAT', '', 'Q&Q Digital Watch - For Boys'],
  ['WAT', 'Titan', 'Titan 2480SM06 Analog Watch - For Women, Men'],
  ['WAT', 'Casio', 'Casio A158WA-1DF Vintage Digital Watch - For Men'],
  ['SHO', 'Nike', 'Nike Downshifter Running Shoes'],
  ['SHO', 'Adidas', 'Adidas Duramo Running Shoes For Men'],
  ['SHO', '', 'Bata Formal Leather Shoes'],
  ['SHO', 'Puma', 'Puma Axis Sneakers For Men'],
  ['SHO', 'Woodland', 'Woodland Casual Boots Shoes'],
  ['SHO', 'Red Tape', 'Red Tape Loafers Shoes For Men'],
  ['TSH', 'Alisha', "Alisha Solid Women's Round Neck T-Shirt"],
  ['TSH', 'Mast & Harbour', "Mast & Harbour Printed Men's V-neck T-Shirt"],
  ['TSH', '', "Printed Women's Round Neck Cotton T-Shirt"],
  ['TSH', 'Puma', "Puma Solid Men's Polo T-Shirt"],
  ['TSH', 'Nike', "Nike Graphic Print Men's Round Neck T-Shirt"],
  ['CPC', 'Fabutex', 'Fabutex Floral Cushions Cover'],
  ['CPC', 'Home Shop', 'Home Shop Abstract Cushions Cover (Pack of 5)'],
  ['CPC', '', 'Geometric Cotton Cushions Cover Set'],
  ['CPC', 'Raymond', 'Raymond Striped Cushions Cover'],
];
const CSV = [
  'uniq_id,product_name,pid,retail_price,discounted_price,is_FK_Advantage_product,product_rating,overall_rating,brand',
  ...PRODUCTS.map(
    ([code, brand, name], i) => `u${String(i).padStart(3, '0')},"${name}",${code}EH${i}XYZ,999,499,FALSE,No rating available,No rating available,${brand}`,
  ),
].join('\n');

const converter = (args: string[]) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'flipkart-catalog.ts'), ...args], { cwd: root }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

const { db, home: dir } = useTestDb();
let local: EmbeddingProvider;
before(async () => {
  await writeFile(path.join(dir, 'flipkart.csv'), CSV);
  local = await createLocalUseProvider();
});
after(async () => {
  await local?.close();
});

test('the converter: title and brand, the type code as category, a deterministic stratified sample', async () => {
  const all = path.join(dir, 'all.jsonl');
  const r = await converter(['--input', path.join(dir, 'flipkart.csv'), '--sample', 'all', '--out', all]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: sha256 of .* is [0-9a-f]{64}/, 'another file than the shared one is flagged');
  const rows = (await readFile(all, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, string>);
  assert.equal(rows.length, PRODUCTS.length);
  assert.deepEqual(rows[0], { item_id: 'u000', title: 'Timex TW00ZR262E Analog Watch - For Women', brand: 'Timex', category: 'WAT' });
  assert.deepEqual(Object.keys(rows[3]!), ['item_id', 'title', 'category'], 'an empty brand is left out');
  assert.ok(
    rows.every((row) => !JSON.stringify(row).includes('"pid"')),
    'only the type code travels, as category',
  );

  const sample = path.join(dir, 'sample.jsonl');
  assert.equal((await converter(['--input', path.join(dir, 'flipkart.csv'), '--sample', '10', '--out', sample])).code, 0);
  const first = await readFile(sample, 'utf8');
  assert.equal((await converter(['--input', path.join(dir, 'flipkart.csv'), '--sample', '10', '--out', sample])).code, 0);
  assert.equal(await readFile(sample, 'utf8'), first, 'byte-identical on a second run');
  const byType = new Map<string, number>();
  for (const line of first.trim().split('\n')) byType.set(JSON.parse(line).category, (byType.get(JSON.parse(line).category) ?? 0) + 1);
  // 10 of 21 in proportion 6:6:5:4 → floors 2, 2, 2, 1 and the three largest remainders (WAT, SHO, CPC) get one more.
  assert.deepEqual(
    Object.fromEntries(byType),
    Object.fromEntries(
      allocate(
        new Map([
          ['WAT', 6],
          ['SHO', 6],
          ['TSH', 5],
          ['CPC', 4],
        ]),
        10,
      ),
    ),
  );
  assert.deepEqual(Object.fromEntries(byType), { WAT: 3, SHO: 3, TSH: 2, CPC: 2 });

  const missing = await converter(['--input', path.join(dir, 'nope.csv')]);
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /input file not found: .*nope\.csv/);
});

test('a titles-only catalog with missing brands: embedded, searchable by its words, evaluated without its label in the text', async () => {
  const catalog = path.join(dir, 'catalog.jsonl');
  await converter(['--input', path.join(dir, 'flipkart.csv'), '--sample', 'all', '--out', catalog]);
  const config = testConfig(dir, { namespace: 'fk', prompt: { template: 'Product: {title}\nBrand: {brand}' } });
  const summary = await runEmbeddingJob({ config, source: { kind: 'file', path: catalog }, db, provider: local, logger: quietLogger() });
  assert.deepEqual([summary.embedded, summary.rejected, summary.failed], [PRODUCTS.length, 0, 0]);

  const typeOf = new Map(PRODUCTS.map(([code], i) => [`u${String(i).padStart(3, '0')}`, code]));
  const queries = [
    { query: 'analog watch for women', types: ['WAT'] },
    { query: 'cushion covers set of 5', types: ['CPC'] },
    { query: "men's running shoes", types: ['SHO'] },
  ];
  const report = await scoreQueries(
    queries,
    async (text, k) => (await search(db, { orgId: config.orgId, namespace: 'fk', text, k, provider: local })).candidates.map((c) => c.item_id),
    typeOf,
    3,
  );
  assert.deepEqual(
    report.queries.map((q) => q.right),
    [3, 3, 3],
    JSON.stringify(report.queries),
  );
  assert.equal(report.mean_right, 3);

  const r = await runEval({ db, orgId: config.orgId, namespace: 'fk', k: 3 });
  assert.ok(!r.notes.some((n) => n.includes('prompt template')), 'no {category} in the template: no template leak');
  assert.ok(r.notes.some((n) => n.startsWith('no catalog item has tags')));
  const cat = r.tasks[0]!;
  const p = (system: string) => cat.rows.find((x) => x.system === system)!.metrics.precision_at_k!;
  // The names say their type: the words alone get most neighbours right, and the served fusion is not below them.
  assert.ok(p('v1/lexical') > 0.7, `lexical ${p('v1/lexical')}`);
  assert.ok(p('v1/fused') >= p('v1/lexical') - 1e-9, `fused ${p('v1/fused')} vs lexical ${p('v1/lexical')}`);
});
