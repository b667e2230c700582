/**
 * Lexical retriever designs, side by side: the BM25 postings tables itemvec ships
 * (src/store/lexical.ts), Postgres full-text search (tsvector + GIN, ts_rank_cd / ts_rank, no IDF),
 * and BM25 as pgvector `sparsevec` inner products (exact scan, and HNSW). Each design gets the same
 * N items of two catalogs and the same item→items queries; the table gives load rate, VACUUM ANALYZE
 * and index build time, storage, query latency p50/p95, recall@40 against exact BM25 and precision@10
 * of same-label items.
 *
 *   node --import tsx bench/lexical-designs.ts [--database-url postgres://…] [--items 20000] [--queries 200] [--postings-only] [--json]
 *
 * --postings-only measures the shipped design alone, for comparing two versions of
 * src/store/lexical.ts: 51 s against 9.5 minutes for every design on a 2-core server.
 *
 * Without --database-url it runs on embedded PGlite in a temporary folder; with it, on that server
 * (pgvector ≥ 0.8) in a fresh schema that is dropped at the end.
 *
 * Catalogs: `flipkart` (../shared/data/flipkart-20k.csv: short product names + brand, label = the
 * first 3 letters of pid, the product vertical) and `synthetic` (samples/catalog.jsonl repeated as
 * bench/catalog.ts does: brand, category and a long description, label = category, which the text
 * contains). Queries: every ⌊N/queries⌋-th item, its own text, k = 40, the item itself excluded;
 * 20 warm-up queries first, then all of them sequentially.
 *
 * Recall@40 is the overlap with the exact BM25 list (postings, maxPostings = 1,000,000). Many items
 * share a score (variants of one product; copies of one sample item), and which of the tied items
 * fill the 40th place is arbitrary, so "recall ties" also counts a candidate whose exact BM25 score
 * reaches the 40th exact score as a hit.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse';
import { redactUrl } from '../src/log.js';
import { type Db, openDb } from '../src/store/db.js';
import { type LexicalScope, lexicalScores, lexicalSearch, writeLexicalDocuments } from '../src/store/lexical.js';
import { migrate } from '../src/store/migrations.js';
import { ensureVersion, type VersionSpec } from '../src/store/versions.js';
import { catalogRows } from './catalog.js';
import { machine, machineLine } from './machine.js';
import { peakRssMb } from './peak-rss.js';
import { percentile, round } from './stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: o } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    items: { type: 'string', default: '20000' },
    queries: { type: 'string', default: '200' },
    'postings-only': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(o.items);
const QUERIES = Number(o.queries);
if (!(N > 0 && QUERIES > 0 && QUERIES <= N)) throw new Error('usage: --items N --queries Q with 0 < Q ≤ N');

const K = 40;
const WARM_UP = 20;
const BATCH = 500;
const K1 = 1.2;
const B = 0.75;
const APPROXIMATE_POSTINGS = 10_000;
const EXACT_POSTINGS = 1_000_000;
const EF_SEARCH = 100;
const SPARSE_DIMS = 2 ** 20;
// Relative slack when comparing BM25 scores across designs: sparsevec stores float4, the postings sum float8.
const SAME_SCORE = 1e-5;
const MAINTENANCE_WORK_MEM = '1GB';

interface Catalog {
  name: 'flipkart' | 'synthetic';
  ids: string[];
  texts: string[];
  labels: string[];
}

interface Hit {
  item_id: string;
  score: number;
}

/** What a design's load cost; `tables` are the relations its storage counts. */
interface Built {
  load_s: number;
  analyze_s: number;
  index_build_s: number | null;
  tables: string[];
}

interface Result {
  catalog: string;
  design: string;
  items: number;
  load_s: number;
  rows_per_s: number;
  analyze_s: number;
  index_build_s: number | null;
  storage_mb: number;
  p50_ms: number;
  p95_ms: number;
  recall_at_40: number;
  recall_at_40_ties: number;
  precision_at_10: number;
  /** Queries whose label has another item (the ones precision@10 averages over). */
  labelled_queries: number;
}

/** The exact BM25 list of each query and the score its last item has. */
interface Truth {
  lists: Set<string>[];
  floor: number[];
}

const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return seconds(started);
}

/** [from, to) ranges of `size` over n items. */
function* batches(n: number, size: number): Generator<[number, number]> {
  for (let from = 0; from < n; from += size) yield [from, Math.min(n, from + size)];
}

async function flipkart(n: number): Promise<Catalog> {
  const cat: Catalog = { name: 'flipkart', ids: [], texts: [], labels: [] };
  const rows = createReadStream(path.join(root, '..', 'shared', 'data', 'flipkart-20k.csv')).pipe(parse({ columns: true }));
  for await (const r of rows as AsyncIterable<Record<string, string>>) {
    if (cat.ids.length === n) break;
    cat.ids.push(r.uniq_id!);
    cat.texts.push(`${r.product_name}\n${r.brand}`);
    cat.labels.push(r.pid!.slice(0, 3));
  }
  if (cat.ids.length < n) throw new Error(`flipkart-20k.csv has ${cat.ids.length} rows, fewer than --items ${n}`);
  return cat;
}

async function synthetic(n: number): Promise<Catalog> {
  const rows = await catalogRows(n);
  return {
    name: 'synthetic',
    ids: rows.map((r) => r.item_id),
    texts: rows.map((r) => `${r.brand}\n${r.category}\n${r.description}`),
    labels: rows.map((r) => String(r.category)),
  };
}

async function storageMb(db: Db, tables: string[]): Promise<number> {
  const [row] = await db.query<{ bytes: string }>('SELECT sum(pg_total_relation_size(t::regclass))::text AS bytes FROM unnest($1::text[]) AS t', [tables]);
  return round(Number(row!.bytes) / 2 ** 20, 1);
}

// ---- design 1: postings (src/store/lexical.ts) ----

const POSTINGS_TABLES = ['lexical_documents', 'lexical_postings', 'lexical_terms', 'lexical_corpus'];

function lexicalSpec(cat: Catalog, orgId: string): VersionSpec {
  return {
    orgId,
    namespace: `bench-${cat.name}`,
    modality: 'text',
    version: 'v1',
    provider: 'bench',
    model: 'lexical',
    dims: 1,
    promptTemplate: '{description}',
    textSearchConfig: 'english',
  };
}

async function loadPostings(db: Db, cat: Catalog, spec: VersionSpec): Promise<Built> {
  await ensureVersion(db, spec);
  const load_s = await timed(async () => {
    for (const [from, to] of batches(cat.ids.length, BATCH)) {
      const docs = cat.ids.slice(from, to).map((itemId, j) => ({ itemId, text: cat.texts[from + j]!, metadataHash: 'bench' }));
      await db.transaction((tx) => writeLexicalDocuments(tx, spec, spec.textSearchConfig, docs));
    }
  });
  // Index-only scans of the postings need the visibility map; PGlite has no autovacuum.
  const analyze_s = await timed(() => db.exec(`VACUUM ANALYZE ${POSTINGS_TABLES.join(', ')}`));
  return { load_s, analyze_s, index_build_s: null, tables: POSTINGS_TABLES };
}

// ---- design 2: tsvector + GIN ----

const FTS_TABLES = ['fts_docs'];

async function loadFts(db: Db, cat: Catalog): Promise<Built> {
  await db.exec('CREATE TABLE fts_docs (item_id TEXT PRIMARY KEY, tsv TSVECTOR NOT NULL)');
  const load_s = await timed(async () => {
    for (const [from, to] of batches(cat.ids.length, BATCH)) {
      await db.transaction((tx) =>
        tx.query("INSERT INTO fts_docs SELECT item_id, to_tsvector('english', body) FROM unnest($1::text[], $2::text[]) AS i(item_id, body)", [
          cat.ids.slice(from, to),
          cat.texts.slice(from, to),
        ]),
      );
    }
  });
  // Built after the load, as one would for a bulk load (GIN insertion per row is the slow path).
  const index_build_s = await timed(() => db.exec('CREATE INDEX fts_docs_tsv ON fts_docs USING gin (tsv)'));
  const analyze_s = await timed(() => db.exec('VACUUM ANALYZE fts_docs'));
  return { load_s, analyze_s, index_build_s, tables: FTS_TABLES };
}

/**
 * Any of the query item's own lexemes, ranked by `rank`. The lexemes are quoted for tsquery input
 * (quotes and backslashes doubled) rather than re-parsed by to_tsquery, which could split them.
 */
const ftsSql = (rank: 'ts_rank_cd' | 'ts_rank') => `
SELECT f.item_id, ${rank}(f.tsv, q.q) AS score
FROM fts_docs f,
     (SELECT array_to_string(array(
        SELECT '''' || replace(replace(l, '\\', '\\\\'), '''', '''''') || '''' FROM unnest(tsvector_to_array(tsv)) AS l
      ), ' | ')::tsquery AS q
      FROM fts_docs WHERE item_id = $1) q
WHERE f.tsv @@ q.q AND f.item_id <> $1
ORDER BY score DESC, f.item_id
LIMIT ${K}`;

// ---- design 3: sparsevec ----

const SPARSE_TABLES = ['sv_docs', 'sv_terms'];

/**
 * Two passes, as this design needs: document frequencies, lexeme ids and avgdl must be known before
 * the first vector is written (its values depend on avgdl). Pass 1 counts them in sv_terms, pass 2
 * writes each document's BM25 term-frequency part, float4 per lexeme id.
 */
async function loadSparse(db: Db, cat: Catalog): Promise<Built & { stats_s: number }> {
  await db.exec(`CREATE TABLE sv_terms (lexeme TEXT PRIMARY KEY, df INT NOT NULL, id INT, idf FLOAT8);
                 CREATE TABLE sv_docs (item_id TEXT PRIMARY KEY, v SPARSEVEC(${SPARSE_DIMS}) NOT NULL)`);
  let totalLength = 0;
  const stats_s = await timed(async () => {
    for (const [from, to] of batches(cat.ids.length, BATCH)) {
      const [row] = await db.transaction((tx) =>
        tx.query<{ length: string }>(
          `WITH analysed AS (
             SELECT l.lexeme, coalesce(array_length(l.positions, 1), 1) AS tf
             FROM unnest($1::text[]) AS i(body), unnest(to_tsvector('english', i.body)) AS l
           ), counted AS (
             INSERT INTO sv_terms (lexeme, df) SELECT lexeme, count(*) FROM analysed GROUP BY lexeme
             ON CONFLICT (lexeme) DO UPDATE SET df = sv_terms.df + EXCLUDED.df
           )
           SELECT coalesce(sum(tf), 0)::text AS length FROM analysed`,
          [cat.texts.slice(from, to)],
        ),
      );
      totalLength += Number(row!.length);
    }
    // Dense ids, 1-based as sparsevec indices are; idf once here instead of per query.
    await db.query(
      `UPDATE sv_terms t SET id = r.id, idf = ln(1 + ($1::float8 - t.df + 0.5) / (t.df + 0.5))
       FROM (SELECT lexeme, row_number() OVER (ORDER BY lexeme) AS id FROM sv_terms) r WHERE t.lexeme = r.lexeme`,
      [cat.ids.length],
    );
  });
  const avgdl = totalLength / cat.ids.length;
  const vectors_s = await timed(async () => {
    for (const [from, to] of batches(cat.ids.length, BATCH)) {
      await db.transaction((tx) =>
        tx.query(
          `WITH input AS (
             SELECT * FROM unnest($1::text[], $2::text[]) AS i(item_id, body)
           ), analysed AS (
             SELECT i.item_id, l.lexeme, coalesce(array_length(l.positions, 1), 1)::float8 AS tf
             FROM input i, unnest(to_tsvector('english', i.body)) AS l
           ), weighted AS (
             SELECT a.item_id, t.id,
                    a.tf * ($3::float8 + 1) / (a.tf + $3::float8 * (1 - $4::float8 + $4::float8 * sum(a.tf) OVER (PARTITION BY a.item_id) / $5::float8)) AS w
             FROM analysed a JOIN sv_terms t USING (lexeme)
           )
           INSERT INTO sv_docs (item_id, v)
           SELECT i.item_id, ('{' || coalesce(string_agg(w.id || ':' || w.w::real, ',' ORDER BY w.id), '') || '}/${SPARSE_DIMS}')::sparsevec
           FROM input i LEFT JOIN weighted w USING (item_id)
           GROUP BY i.item_id`,
          [cat.ids.slice(from, to), cat.texts.slice(from, to), K1, B, avgdl],
        ),
      );
    }
  });
  const analyze_s = await timed(() => db.exec('VACUUM ANALYZE sv_docs, sv_terms'));
  return { load_s: stats_s + vectors_s, stats_s, analyze_s, index_build_s: null, tables: SPARSE_TABLES };
}

/**
 * The query vector is the idf of each of the query text's lexemes; `<#>` is the negative inner
 * product, so the BM25 score is its negation. The vector is a scalar subquery (an InitPlan
 * parameter), which an HNSW index scan can order by.
 */
const SPARSE_SQL = `
WITH query AS (
  SELECT ('{' || coalesce(string_agg(t.id || ':' || t.idf::real, ',' ORDER BY t.id), '') || '}/${SPARSE_DIMS}')::sparsevec AS v
  FROM sv_terms t WHERE t.lexeme = ANY(tsvector_to_array(to_tsvector('english', $2)))
)
SELECT d.item_id, -(d.v <#> (SELECT v FROM query)) AS score
FROM sv_docs d
WHERE d.item_id <> $1
ORDER BY d.v <#> (SELECT v FROM query)
LIMIT ${K}`;

async function buildHnsw(db: Db): Promise<number> {
  const build_s = await timed(() =>
    db.transaction(async (tx) => {
      await tx.exec(`SET LOCAL maintenance_work_mem = '${MAINTENANCE_WORK_MEM}'`);
      await tx.exec('CREATE INDEX sv_docs_hnsw ON sv_docs USING hnsw (v sparsevec_ip_ops)');
    }),
  );
  // pgvector ≥ 0.8 is guaranteed by migrate(); relaxed_order keeps scanning when the filter drops the
  // query item. The planner estimates a sort of all rows cheaper than the index scan (measured at 2,000
  // items), so the index is forced for this row; reset by the caller.
  await db.exec(`SET hnsw.ef_search = ${EF_SEARCH}; SET hnsw.iterative_scan = relaxed_order; SET enable_seqscan = off`);
  return build_s;
}

/** A figure for an HNSW row that the planner answered by a scan would be a wrong figure. */
async function assertUsesIndex(db: Db, cat: Catalog, index: string): Promise<void> {
  const plan = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${SPARSE_SQL}`, [cat.ids[0]!, cat.texts[0]!]);
  if (!plan.some((r) => r['QUERY PLAN'].includes(index)))
    throw new Error(`the sparsevec query does not use ${index}:\n${plan.map((r) => r['QUERY PLAN']).join('\n')}`);
}

// ---- measuring ----

/** Latency over the queries in order, after WARM_UP of them; returns each query's candidate ids. */
async function runQueries(queries: number[], search: (q: number) => Promise<Hit[]>): Promise<{ p50: number; p95: number; lists: string[][] }> {
  for (const q of queries.slice(0, WARM_UP)) await search(q);
  const times: number[] = [];
  const lists: string[][] = [];
  for (const q of queries) {
    const started = process.hrtime.bigint();
    const hits = await search(q);
    times.push(seconds(started) * 1000);
    lists.push(hits.map((h) => h.item_id));
  }
  times.sort((a, b) => a - b);
  return { p50: round(percentile(times, 50)), p95: round(percentile(times, 95)), lists };
}

interface Quality {
  recall: number;
  recallTies: number;
  precision: number;
  labelled: number;
}

/** Recall@40 against the exact BM25 lists (plain and counting ties as hits) and precision@10 of same-label items. */
async function quality(db: Db, scope: LexicalScope, cat: Catalog, queries: number[], lists: string[][], truth: Truth): Promise<Quality> {
  const labelOf = new Map(cat.ids.map((id, i) => [id, cat.labels[i]!]));
  const labelCount = new Map<string, number>();
  for (const l of cat.labels) labelCount.set(l, (labelCount.get(l) ?? 0) + 1);
  let relevant = 0;
  let hits = 0;
  let tieHits = 0;
  let precision = 0;
  let labelled = 0;
  for (const [i, q] of queries.entries()) {
    const found = lists[i]!;
    const exact = truth.lists[i]!;
    relevant += exact.size;
    hits += found.filter((id) => exact.has(id)).length;
    if (exact.size > 0) {
      const scores = await lexicalScores(db, scope, { itemId: cat.ids[q]! }, { k1: K1, b: B, maxPostings: EXACT_POSTINGS }, found);
      const floor = truth.floor[i]! * (1 - SAME_SCORE);
      tieHits += Math.min(exact.size, found.filter((id) => (scores.get(id) ?? -1) >= floor).length);
    }
    const label = cat.labels[q]!;
    if (labelCount.get(label)! < 2) continue;
    labelled++;
    precision += found.slice(0, 10).filter((id) => labelOf.get(id) === label).length / 10;
  }
  return { recall: round(hits / relevant, 3), recallTies: round(tieHits / relevant, 3), precision: round(precision / labelled, 3), labelled };
}

async function runCatalog(db: Db, cat: Catalog, orgId: string): Promise<{ results: Result[]; notes: string }> {
  const n = cat.ids.length;
  const step = Math.floor(n / QUERIES);
  const queries = Array.from({ length: QUERIES }, (_, i) => i * step);
  const spec = lexicalSpec(cat, orgId);
  const scope: LexicalScope = { orgId, namespace: spec.namespace, version: spec.version, textSearchConfig: spec.textSearchConfig };
  const results: Result[] = [];
  let truth: Truth | undefined;

  const measure = async (design: string, built: Built, storage: number, search: (q: number) => Promise<Hit[]>): Promise<Hit[][]> => {
    console.error(`  ${cat.name} · ${design}: querying…`);
    const hitsOf: Hit[][] = [];
    const run = await runQueries(queries, async (q) => {
      const hits = await search(q);
      hitsOf[q] = hits;
      return hits;
    });
    truth ??= { lists: run.lists.map((l) => new Set(l)), floor: queries.map((q) => hitsOf[q]!.at(-1)?.score ?? 0) };
    const qa = await quality(db, scope, cat, queries, run.lists, truth);
    results.push({
      catalog: cat.name,
      design,
      items: n,
      load_s: round(built.load_s),
      rows_per_s: Math.round(n / built.load_s),
      analyze_s: round(built.analyze_s),
      index_build_s: built.index_build_s === null ? null : round(built.index_build_s),
      storage_mb: storage,
      p50_ms: run.p50,
      p95_ms: run.p95,
      recall_at_40: qa.recall,
      recall_at_40_ties: qa.recallTies,
      precision_at_10: qa.precision,
      labelled_queries: qa.labelled,
    });
    console.error(`    p50/p95 ${run.p50}/${run.p95} ms, recall@40 ${qa.recall} (ties ${qa.recallTies}), P@10 ${qa.precision}`);
    return hitsOf;
  };

  console.error(`${cat.name}: ${n} items, loading postings…`);
  const postings = await loadPostings(db, cat, spec);
  const postingsMb = await storageMb(db, postings.tables);
  // Exact first: its lists are the truth every other row is compared with.
  await measure(`postings exact (maxPostings ${EXACT_POSTINGS})`, postings, postingsMb, (q) =>
    lexicalSearch(db, scope, { itemId: cat.ids[q]! }, { k1: K1, b: B, maxPostings: EXACT_POSTINGS }, K),
  );
  await measure(`postings maxPostings ${APPROXIMATE_POSTINGS}`, postings, postingsMb, (q) =>
    lexicalSearch(db, scope, { itemId: cat.ids[q]! }, { k1: K1, b: B, maxPostings: APPROXIMATE_POSTINGS }, K),
  );

  if (o['postings-only']) {
    await db.exec(`TRUNCATE ${POSTINGS_TABLES.join(', ')}`);
    return { results, notes: `${cat.name}: postings only (--postings-only)` };
  }

  console.error(`${cat.name}: loading fts…`);
  const fts = await loadFts(db, cat);
  const ftsMb = await storageMb(db, fts.tables);
  for (const rank of ['ts_rank_cd', 'ts_rank'] as const) {
    const sql = ftsSql(rank);
    await measure(`fts GIN ${rank}`, fts, ftsMb, async (q) =>
      (await db.query<Hit>(sql, [cat.ids[q]!])).map((h) => ({ item_id: h.item_id, score: Number(h.score) })),
    );
  }

  console.error(`${cat.name}: loading sparsevec…`);
  const sparse = await loadSparse(db, cat);
  const sparseSearch = async (q: number) =>
    (await db.query<Hit>(SPARSE_SQL, [cat.ids[q]!, cat.texts[q]!])).map((h) => ({ item_id: h.item_id, score: Number(h.score) }));
  await measure('sparsevec exact', sparse, await storageMb(db, sparse.tables), sparseSearch);
  console.error(`${cat.name}: building sparsevec HNSW…`);
  const hnswS = await buildHnsw(db);
  console.error(`  built in ${round(hnswS, 1)} s`);
  await assertUsesIndex(db, cat, 'sv_docs_hnsw');
  await measure(`sparsevec HNSW ef_search ${EF_SEARCH}`, { ...sparse, index_build_s: hnswS }, await storageMb(db, sparse.tables), sparseSearch);
  await db.exec('RESET enable_seqscan');

  const [corpus] = await db.query<{ documents: string; total_length: string; vocabulary: string }>(
    `SELECT c.documents::text, c.total_length::text, (SELECT count(*) FROM lexical_terms t WHERE t.org_id = $1 AND t.namespace = $2)::text AS vocabulary
     FROM lexical_corpus c WHERE c.org_id = $1 AND c.namespace = $2`,
    [orgId, spec.namespace],
  );
  const notes =
    `${cat.name}: ${n} items, ${round(Number(corpus!.total_length) / Number(corpus!.documents), 1)} lexemes per item (stop words out), ` +
    `vocabulary ${corpus!.vocabulary} lexemes; sparsevec load = ${round(sparse.stats_s, 1)} s statistics pass + ${round(sparse.load_s - sparse.stats_s, 1)} s vectors; ` +
    `precision@10 over the ${results[0]!.labelled_queries} of ${QUERIES} queries whose label has another item`;

  // Each catalog's storage is measured on empty tables.
  await db.exec(`TRUNCATE ${POSTINGS_TABLES.join(', ')}; DROP TABLE fts_docs, sv_docs, sv_terms`);
  return { results, notes };
}

// ---- main ----

const started = process.hrtime.bigint();
const home = await mkdtemp(path.join(os.tmpdir(), 'itemvec-lexical-'));
const serverUrl = o['database-url'];
const schema = `bench_lexical_${process.pid}`;
/** The server URL with its search_path set to the fresh schema on every pooled connection. */
function inSchema(url: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema},public`);
  return u.toString();
}
// One connection: session settings (hnsw.ef_search) must reach every query.
const db = await openDb({ databaseUrl: serverUrl && inSchema(serverUrl), home, maxConnections: 1 });
const host = machine();
const orgId = randomUUID();
const all: Result[] = [];
const notes: string[] = [];
let database = '';
try {
  if (db.driver === 'pg') await db.exec(`CREATE SCHEMA ${schema}`);
  await migrate(db);
  const [server] = await db.query<{ version: string; pgvector: string }>(
    "SELECT version(), (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS pgvector",
  );
  database = `${serverUrl ? redactUrl(serverUrl) : 'embedded PGlite (WASM)'} · ${server!.version.split(' on ')[0]} · pgvector ${server!.pgvector}`;
  for (const load of [flipkart, synthetic]) {
    const { results, notes: line } = await runCatalog(db, await load(N), orgId);
    all.push(...results);
    notes.push(line);
  }
} finally {
  if (db.driver === 'pg') await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await db.close();
  await rm(home, { recursive: true, force: true });
}

const wallS = round(seconds(started), 1);
const settings =
  `k=${K}, ${QUERIES} item→items queries per catalog (every ⌊N/${QUERIES}⌋-th item, its own text), sequential after ${WARM_UP} warm-up queries; ` +
  `BM25 k1 ${K1}, b ${B}; sparsevec ${SPARSE_DIMS} dims (lexeme ids), HNSW ef_search ${EF_SEARCH}, iterative_scan relaxed_order, maintenance_work_mem ${MAINTENANCE_WORK_MEM}; ` +
  'recall against postings exact; precision@10 = same label in the top 10';
if (o.json) {
  process.stdout.write(
    `${JSON.stringify({ benchmark: 'lexical-designs', database, settings, machine: host, load_average_end: os.loadavg()[0], wall_s: wallS, notes, results: all, peak_rss_mb: peakRssMb() })}\n`,
  );
  process.exit(0);
}
const header = [
  'catalog',
  'design',
  'items',
  'load s (rows/s)',
  'vacuum analyze s',
  'index build s',
  'storage MB',
  'p50 / p95 ms',
  'recall@40',
  'recall@40 ties',
  'P@10 label',
];
const rows = all.map((r) => [
  r.catalog,
  r.design,
  String(r.items),
  `${r.load_s} (${r.rows_per_s}/s)`,
  String(r.analyze_s),
  r.index_build_s === null ? '—' : String(r.index_build_s),
  String(r.storage_mb),
  `${r.p50_ms} / ${r.p95_ms}`,
  String(r.recall_at_40),
  String(r.recall_at_40_ties),
  String(r.precision_at_10),
]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
console.log(`itemvec lexical designs · ${database} · ${machineLine(host)} (load average at the end ${os.loadavg()[0]!.toFixed(1)})`);
console.log(settings);
console.log([line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
for (const n of notes) console.log(n);
console.log(`wall ${wallS} s · peak RSS ${peakRssMb()} MB`);
