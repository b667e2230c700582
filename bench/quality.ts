/**
 * Retrieval quality on a real catalog, label kept out of the text, and on the shipped sample.
 *
 *   npm run bench:quality -- [--sample 3000] [--queries] [--shipped] [--template T] [--database-url postgres://…] [--json]
 *
 * - **flipkart-<N>**: a stratified N-item sample of ../shared/data/flipkart-20k.csv (converted by
 *   scripts/flipkart-catalog.ts; category = the product-type code, not in the text) embedded with
 *   the default local model under `--template` (default `Product: {title}\nBrand: {brand}`), then
 *   `itemvec eval --tune` (dense, lexical, fused as served; the fusion tuned on half the queries),
 *   and a TF-IDF cosine baseline over the same prompts: precision@10 of same-type neighbours, with
 *   paired 95 % intervals of served − baseline.
 * - **--queries**: the full 20,000 items (embedded once, ~10 min with the local model; later runs
 *   reuse the folder), the 15 shopper queries of samples/flipkart-queries.jsonl scored by type
 *   (scripts/score-queries.ts) for `search` fused, dense, lexical and TF-IDF, and `similar` latency
 *   in-process on PGlite (p50/p95 of 200 sequential calls).
 * - **--shipped**: samples/catalog.jsonl with the default template (its category is in the text:
 *   the eval flags the label leak), served precision@10.
 *
 * Folders: bench/.out/quality/ (one embedded database per catalog), or with --database-url a Postgres
 * server with pgvector, one namespace per catalog (kept, so a second run embeds nothing). The Flipkart
 * file is development data: this benchmark needs it, `npm test` does not.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadCategoryMap, loadQueries, scoreQueries } from '../scripts/score-queries.js';
import { loadConfig } from '../src/config.js';
import { createProvider } from '../src/embed/index.js';
import type { EmbeddingProvider } from '../src/embed/provider.js';
import { mean, pairedDifference, precisionAtK } from '../src/eval/metrics.js';
import { type EvalReport, runEval } from '../src/eval/run.js';
import { createLogger, redactUrl } from '../src/log.js';
import { runEmbeddingJob } from '../src/pipeline/run.js';
import { compileTemplate } from '../src/prompt/template.js';
import { fusionFor, queryOptions, retrieveOptions } from '../src/retrieve/options.js';
import { type RetrievalMode, search, similar } from '../src/retrieve/similar.js';
import { type Db, openDb } from '../src/store/db.js';
import { migrate } from '../src/store/migrations.js';
import { machine, machineLine } from './machine.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'bench', '.out', 'quality');
const { values: o } = parseArgs({
  options: {
    data: { type: 'string', default: path.join(root, '..', 'shared', 'data', 'flipkart-20k.csv') },
    sample: { type: 'string', default: '3000' },
    template: { type: 'string', default: 'Product: {title}\nBrand: {brand}' },
    queries: { type: 'boolean', default: false },
    shipped: { type: 'boolean', default: false },
    'database-url': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const K = 10;
const logger = createLogger({ level: 'warn' });
const say = (line: string) => process.stderr.write(`${line}\n`);

function convert(sample: string, file: string): void {
  if (existsSync(file)) return;
  if (!existsSync(o.data!)) throw new Error(`${o.data} is missing: this benchmark needs the Flipkart catalog (../shared/data/README.md)`);
  execFileSync(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'scripts', 'flipkart-catalog.ts'), '--input', o.data!, '--sample', sample, '--out', file],
    { stdio: 'inherit' },
  );
}

/** Embed a catalog into its own namespace (and folder) with the local model (a rerun embeds nothing). */
async function embed(name: string, catalog: string, template: string) {
  const home = path.join(out, name);
  await mkdir(home, { recursive: true });
  const config = loadConfig({
    env: {},
    overrides: { home, databaseUrl: o['database-url'], namespace: name, prompt: { template }, objects: { url: path.join(home, 'objects') } },
  });
  const started = performance.now();
  const summary = await runEmbeddingJob({ config, source: { kind: 'file', path: catalog }, logger });
  say(
    `${name}: embedded ${summary.embedded}, unchanged ${summary.skipped_unchanged}, lexical only ${summary.lexical_indexed} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const db = await openDb({ home, databaseUrl: config.databaseUrl });
  await migrate(db);
  return { config, db };
}

/** TF-IDF cosine as scikit-learn's TfidfVectorizer defaults compute it: tokens \b\w\w+\b lower-cased, smooth idf, l2 norm. */
function tfidf(docs: Map<string, string>) {
  const tokens = (s: string) => s.toLowerCase().match(/\b\w\w+\b/g) ?? [];
  const tf = new Map([...docs].map(([id, text]) => [id, counts(tokens(text))]));
  const df = new Map<string, number>();
  for (const t of tf.values()) for (const term of t.keys()) df.set(term, (df.get(term) ?? 0) + 1);
  const idf = (term: string) => Math.log((1 + docs.size) / (1 + (df.get(term) ?? 0))) + 1;
  const weigh = (t: Map<string, number>) => {
    const w = new Map([...t].map(([term, n]) => [term, n * idf(term)]));
    const norm = Math.sqrt([...w.values()].reduce((s, x) => s + x * x, 0)) || 1;
    for (const [term, x] of w) w.set(term, x / norm);
    return w;
  };
  const vectors = new Map([...tf].map(([id, t]) => [id, weigh(t)]));
  const postings = new Map<string, Array<[string, number]>>();
  for (const [id, w] of vectors) for (const [term, x] of w) (postings.get(term) ?? postings.set(term, []).get(term)!).push([id, x]);
  const rank = (q: Map<string, number>, exclude: string | null, k: number) => {
    const scores = new Map<string, number>();
    for (const [term, x] of q) for (const [id, y] of postings.get(term) ?? []) if (id !== exclude) scores.set(id, (scores.get(id) ?? 0) + x * y);
    return [...scores]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, k)
      .map(([id]) => id);
  };
  return {
    similar: (id: string, k: number) => rank(vectors.get(id)!, id, k),
    search: (text: string, k: number) => rank(weigh(counts(tokens(text).filter((t) => df.has(t)))), null, k),
  };
}

function counts(list: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of list) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

interface Items {
  prompts: Map<string, string>;
  category: Map<string, string>;
}

function readCatalog(file: string, template: string): Items {
  const t = compileTemplate(template);
  const prompts = new Map<string, string>();
  const category = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { item_id: string; title?: string; brand?: string; category: string; description?: string; tags?: string[] };
    const item = {
      itemId: r.item_id,
      title: r.title ?? null,
      brand: r.brand ?? '',
      category: r.category,
      description: r.description ?? '',
      tags: r.tags ?? [],
      imageUrl: '',
      metadataVersion: null,
      orgId: '',
      namespace: '',
    };
    prompts.set(r.item_id, t.render(item));
    category.set(r.item_id, r.category);
  }
  return { prompts, category };
}

/** Served similar() vs TF-IDF, precision@10 per query item with a same-category neighbour, paired. */
async function servedVsTfidf(db: Db, config: ReturnType<typeof loadConfig>, items: Items) {
  const baseline = tfidf(items.prompts);
  const sizes = counts([...items.category.values()]);
  const served: number[] = [];
  const tf: number[] = [];
  for (const [id, cat] of items.category) {
    if (sizes.get(cat)! < 2) continue;
    const grades = new Map([...items.category].filter(([other, c]) => c === cat && other !== id).map(([other]) => [other, 1]));
    const r = await similar(db, {
      orgId: config.orgId,
      namespace: config.namespace,
      itemId: id,
      k: K,
      ...queryOptions(retrieveOptions(config.retrieve), config.namespace),
    });
    served.push(
      precisionAtK(
        r.candidates.map((c) => c.item_id),
        grades,
        K,
      ),
    );
    tf.push(precisionAtK(baseline.similar(id, K), grades, K));
  }
  return { queries: served.length, served: mean(served), tfidf: mean(tf), difference: pairedDifference(served, tf) };
}

const results: Record<string, unknown> = {
  machine: machine(),
  database: o['database-url'] ? redactUrl(o['database-url']) : 'embedded PGlite',
  template: o.template,
  k: K,
};
const rows: string[][] = [];
const pct = (x: number) => x.toFixed(4);
const ci = (d: { mean: number; ci95: [number, number] | null }) =>
  `${d.mean >= 0 ? '+' : ''}${d.mean.toFixed(4)} [${d.ci95![0].toFixed(4)}, ${d.ci95![1].toFixed(4)}]`;

// 1. The stratified sample.
{
  const name = `flipkart-${o.sample}`;
  const file = path.join(out, `${name}.jsonl`);
  convert(o.sample!, file);
  const { config, db } = await embed(name, file, o.template!);
  try {
    const retrieve = retrieveOptions(config.retrieve);
    const report: EvalReport = await runEval({
      db,
      orgId: config.orgId,
      namespace: config.namespace,
      k: K,
      tune: true,
      retrieve: { ...retrieve, fusion: fusionFor(retrieve, config.namespace) },
    });
    const cat = report.tasks.find((t) => t.task === 'category')!;
    const vs = await servedVsTfidf(db, config, readCatalog(file, o.template!));
    results.flipkart_sample = { eval: report, tfidf: vs };
    for (const r of cat.rows) rows.push([name, r.system, pct(r.metrics.precision_at_k!), pct(r.metrics.ndcg_at_k!), String(r.ms_per_query)]);
    rows.push([name, 'tf-idf cosine (baseline)', pct(vs.tfidf), '', '']);
    for (const c of cat.comparisons.filter((x) => x.metric === 'precision_at_k')) rows.push([name, `${c.system} − ${c.baseline}`, ci(c), '', '']);
    rows.push([name, 'served − tf-idf', ci(vs.difference), '', '']);
    if (report.tune)
      rows.push([
        name,
        `tuned on ${report.tune.queries.tune}, held out ${report.tune.queries.held_out}`,
        JSON.stringify(report.tune.best),
        pct(report.tune.held_out[0]!.precision_at_k),
        `current ${pct(report.tune.held_out[1]!.precision_at_k)}`,
      ]);
    for (const note of report.notes) say(`note: ${note}`);
  } finally {
    await db.close();
  }
}

// 2. Shopper queries and latency on all 20,000 items.
if (o.queries) {
  const file = path.join(out, 'flipkart-20k.jsonl');
  convert('all', file);
  const { config, db } = await embed('flipkart-20k', file, o.template!);
  let provider: EmbeddingProvider | undefined;
  try {
    provider = await createProvider('local', {});
    const items = readCatalog(file, o.template!);
    const baseline = tfidf(items.prompts);
    const queries = loadQueries(path.join(root, 'samples', 'flipkart-queries.jsonl'));
    const categoryOf = loadCategoryMap(file);
    const options = queryOptions(retrieveOptions(config.retrieve), config.namespace);
    const scored: Record<string, unknown> = {};
    for (const mode of ['fused', 'dense', 'lexical'] as RetrievalMode[]) {
      const report = await scoreQueries(
        queries,
        async (text, k) =>
          (await search(db, { orgId: config.orgId, namespace: config.namespace, text, k, mode, provider, ...options })).candidates.map((c) => c.item_id),
        categoryOf,
        K,
      );
      scored[mode] = report;
      rows.push(['flipkart-20k queries', `search ${mode}: right type in top 10`, report.mean_right.toFixed(2), '', '']);
    }
    const tf = await scoreQueries(queries, async (text, k) => baseline.search(text, k), categoryOf, K);
    scored.tfidf = tf;
    rows.push(['flipkart-20k queries', 'tf-idf cosine: right type in top 10', tf.mean_right.toFixed(2), '', '']);
    // Latency: 200 sequential fused similar() calls after 20 warm-up calls.
    const ids = [...items.category.keys()].filter((_, i) => i % 97 === 0).slice(0, 220);
    const times: number[] = [];
    for (const [i, id] of ids.entries()) {
      const t = performance.now();
      await similar(db, { orgId: config.orgId, namespace: config.namespace, itemId: id, k: K, ...options });
      if (i >= 20) times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const p = (q: number) => Math.round(times[Math.min(times.length - 1, Math.floor(q * times.length))]! * 100) / 100;
    results.flipkart_20k = { queries: scored, similar_ms: { p50: p(0.5), p95: p(0.95), calls: times.length } };
    rows.push([
      'flipkart-20k latency',
      `similar fused, in-process, ${o['database-url'] ? 'Postgres server' : 'PGlite'}`,
      `p50 ${p(0.5)} ms`,
      `p95 ${p(0.95)} ms`,
      '',
    ]);
  } finally {
    await provider?.close();
    await db.close();
  }
}

// 3. The shipped sample catalog with the default template.
if (o.shipped) {
  const { config, db } = await embed('shipped-sample', path.join(root, 'samples', 'catalog.jsonl'), loadConfig({ env: {} }).prompt.template);
  try {
    const retrieve = retrieveOptions(config.retrieve);
    const report = await runEval({
      db,
      orgId: config.orgId,
      namespace: config.namespace,
      k: K,
      retrieve: { ...retrieve, fusion: fusionFor(retrieve, config.namespace) },
    });
    results.shipped_sample = report;
    for (const r of report.tasks[0]!.rows)
      rows.push(['shipped sample', r.system, pct(r.metrics.precision_at_k!), pct(r.metrics.ndcg_at_k!), String(r.ms_per_query)]);
  } finally {
    await db.close();
  }
}

if (o.json) {
  process.stdout.write(`${JSON.stringify(results)}\n`);
} else {
  const header = ['catalog', 'system', 'precision@10', 'nDCG@10', 'ms/query'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((x, i) => (x ?? '').padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  process.stdout.write(
    `${[
      machineLine(),
      `database: ${results.database}`,
      `template: ${JSON.stringify(o.template)}`,
      line(header),
      line(widths.map((w) => '-'.repeat(w))),
      ...rows.map(line),
    ].join('\n')}\n`,
  );
}
