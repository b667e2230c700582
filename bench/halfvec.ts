/**
 * halfvec storage against float32 (`--storage halfvec`): recall, bytes and load speed.
 *
 *   npm run bench:halfvec -- --database-url postgres://… [--items all] [--queries 500] [--k 10] [--ef-search 100]
 *                            [--load-rounds 3] [--load-only] [--batch 1000] [--stand-in-dims 3072] [--json]
 *
 * - **Real embeddings**: the Flipkart catalog of ../shared/data (all 20,000 items, or a stratified
 *   `--items N`; label kept out of the text, `Product: {title}\nBrand: {brand}`) embedded by the
 *   pipeline with the default local model (USE Lite, 512-d) into a float32 version, then into a
 *   halfvec version of the same namespace, which the content cache fills without a model call. The
 *   namespace is kept, so a second run embeds nothing (the first takes ~10 min on 2 cores).
 * - **3072-d stand-in**: no 3072-d vectors of these items exist in ../shared, so the same items'
 *   512-d vectors are mapped into 3072-d by a fixed random isometry (orthonormal columns): the same
 *   neighbours and cosines, spread over 3,072 coordinates as a 3072-d model's are. Loaded through
 *   the store's write path (`upsertItemVectors`, one transaction per `--batch` rows, as the loader
 *   writes: COPY BINARY on a server), timed per storage over `--load-rounds` rounds in alternating
 *   order, into throwaway namespaces without an index. `--load-only` measures this alone.
 *
 * For each (data set, storage): bytes per row (`pg_column_size`), its HNSW index (size, build time),
 * and recall@k over `--queries` query items against exact search on float32 storage (the ground
 * truth): exact search on halfvec storage, and the served dense retriever (`similar`, mode dense,
 * through the version's HNSW index at `--ef-search`). Recall is given twice: by ids (the truth's k
 * ids found), and with ties (a result counts when its float32 distance is within 1e-6 of the k-th
 * true one): many catalog items share a title, so their vectors and distances are equal and which of
 * them fill the last places is arbitrary.
 *
 * Without --database-url (or DATABASE_URL) it runs on embedded PGlite under bench/.out/halfvec,
 * where a 3072-d HNSW build over 20,000 rows takes ~20 minutes: pass a smaller --items there.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fromSql } from 'pgvector';
import { type Config, loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { runEmbeddingJob } from '../src/pipeline/run.js';
import { similar } from '../src/retrieve/similar.js';
import { type Db, openDb } from '../src/store/db.js';
import { upsertItemVectors } from '../src/store/embeddings.js';
import type { VectorStorage } from '../src/store/keys.js';
import { migrate } from '../src/store/migrations.js';
import { ensureVectorIndex, ensureVersion, getVersion, type VersionSpec, vectorIndexShape } from '../src/store/versions.js';
import { cosine, mulberry32, unit } from '../testkit/random.js';
import { machine, machineLine } from './machine.js';
import { peakRssMb } from './peak-rss.js';
import { round } from './stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'bench', '.out', 'halfvec');
const { values: o } = parseArgs({
  options: {
    data: { type: 'string', default: path.join(root, '..', 'shared', 'data', 'flipkart-20k.csv') },
    items: { type: 'string', default: 'all' },
    template: { type: 'string', default: 'Product: {title}\nBrand: {brand}' },
    queries: { type: 'string', default: '500' },
    k: { type: 'string', default: '10' },
    'ef-search': { type: 'string', default: '100' },
    'load-rounds': { type: 'string', default: '3' },
    'load-only': { type: 'boolean', default: false },
    batch: { type: 'string', default: '1000' },
    'stand-in-dims': { type: 'string', default: '3072' },
    'maintenance-work-mem': { type: 'string', default: '1GB' },
    'database-url': { type: 'string', default: process.env.DATABASE_URL },
    json: { type: 'boolean', default: false },
  },
});
const K = Number(o.k);
const QUERIES = Number(o.queries);
const EF_SEARCH = Number(o['ef-search']);
const STAND_IN_DIMS = Number(o['stand-in-dims']);
const BATCH = Number(o.batch);
const TIE = 1e-6;
const STORAGES: VectorStorage[] = ['vector', 'halfvec'];
const logger = createLogger({ level: 'warn' });
const say = (line: string) => process.stderr.write(`${line}\n`);
const since = (t: number) => (performance.now() - t) / 1000;

/** The catalog as JSON Lines (scripts/flipkart-catalog.ts), made once. */
function catalogFile(): { file: string; label: string } {
  const all = o.items === 'all' || o.items === '0';
  const file = path.join(out, all ? 'flipkart-20k.jsonl' : `flipkart-${o.items}.jsonl`);
  if (!existsSync(file)) {
    if (!existsSync(o.data!)) throw new Error(`${o.data} is missing: this benchmark needs the Flipkart catalog (../shared/data/README.md)`);
    execFileSync(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'scripts', 'flipkart-catalog.ts'), '--input', o.data!, '--sample', all ? 'all' : o.items!, '--out', file],
      { stdio: 'inherit' },
    );
  }
  return { file, label: all ? 'flipkart-20k' : `flipkart-${o.items}` };
}

const versionOf = (storage: VectorStorage) => (storage === 'vector' ? 'f32' : 'f16');

/** Embed the catalog into one version per storage; the halfvec one comes from the content cache. */
async function embedReal(config: (storage: VectorStorage) => Config, file: string) {
  const runs: Array<{ storage: VectorStorage; embedded: number; cache_hits: number; unchanged: number; api_calls: number; wall_s: number }> = [];
  for (const storage of STORAGES) {
    const started = performance.now();
    const s = await runEmbeddingJob({ config: config(storage), source: { kind: 'file', path: file }, logger });
    runs.push({
      storage,
      embedded: s.embedded,
      cache_hits: s.cache_hits,
      unchanged: s.skipped_unchanged,
      api_calls: s.api_calls,
      wall_s: round(since(started), 1),
    });
    say(`  ${storage}: embedded ${s.embedded}, from the content cache ${s.cache_hits}, unchanged ${s.skipped_unchanged} in ${round(since(started), 1)} s`);
  }
  return runs;
}

/** Every item's float32 vector of a version, by id. */
async function readVectors(db: Db, spec: Pick<VersionSpec, 'orgId' | 'namespace' | 'version'>): Promise<Map<string, Float32Array>> {
  const rows = await db.query<{ item_id: string; v: string }>(
    "SELECT item_id, vector::text AS v FROM item_embeddings WHERE org_id = $1 AND namespace = $2 AND modality = 'text' AND version = $3 ORDER BY item_id",
    [spec.orgId, spec.namespace, spec.version],
  );
  return new Map(rows.map((r) => [r.item_id, Float32Array.from(fromSql(r.v) as number[])]));
}

/**
 * A fixed random map from `from` to `to` dims with orthonormal columns (Gram–Schmidt of Gaussian
 * columns): it keeps every dot product, so neighbours and cosines stay those of the real vectors.
 */
function isometry(from: number, to: number): Float32Array[] {
  const r = mulberry32(0x1503);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const columns: Float64Array[] = [];
  for (let c = 0; c < from; c++) {
    const v = Float64Array.from({ length: to }, gaussian);
    for (let pass = 0; pass < 2; pass++) {
      for (const u of columns) {
        let dot = 0;
        for (let i = 0; i < to; i++) dot += u[i]! * v[i]!;
        for (let i = 0; i < to; i++) v[i]! -= dot * u[i]!;
      }
    }
    // In float64: the Gram-Schmidt passes above need the precision (unit() returns float32).
    let norm = 0;
    for (let i = 0; i < to; i++) norm += v[i]! * v[i]!;
    norm = Math.sqrt(norm);
    for (let i = 0; i < to; i++) v[i]! /= norm;
    columns.push(v);
  }
  // Row-major rows of the to × from matrix, for one dot product per output coordinate.
  return Array.from({ length: to }, (_, i) => Float32Array.from(columns, (col) => col[i]!));
}

function project(rows: Float32Array[], v: Float32Array): Float32Array {
  const out = new Float32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    let dot = 0;
    for (let j = 0; j < v.length; j++) dot += row[j]! * v[j]!;
    out[i] = dot;
  }
  // Renormalised: float32 rounding of the product leaves the norm a hair off 1.
  return unit(out);
}

const cosineDistance = (a: Float32Array, b: Float32Array) => 1 - cosine(a, b);

/** Load `vectors` into a version of `storage` through the store's write path, one transaction per batch; seconds. */
async function load(db: Db, spec: VersionSpec, vectors: Map<string, Float32Array>): Promise<number> {
  await ensureVersion(db, spec);
  const entries = [...vectors];
  const generatedAt = new Date();
  const started = performance.now();
  for (let i = 0; i < entries.length; i += BATCH) {
    const rows = entries.slice(i, i + BATCH).map(([itemId, vector]) => ({
      itemId,
      vector,
      metadataHash: `stand-in-${itemId}`,
      metadataVersion: null,
      chunkCount: 1,
      tokenCount: 1,
      generatedAt,
    }));
    await db.transaction((tx) => upsertItemVectors(tx, spec, spec.model, rows));
  }
  return since(started);
}

/** Remove a namespace's versions, rows and HNSW indexes: an index left behind would be maintained by the next load, row by row. */
async function dropNamespace(db: Db, specs: VersionSpec[]): Promise<void> {
  for (const spec of specs) {
    await db.query('DELETE FROM embedding_versions WHERE org_id = $1 AND namespace = $2', [spec.orgId, spec.namespace]);
    await db.exec(`DROP INDEX IF EXISTS ${vectorIndexShape(spec).name}`);
  }
}

/** Exact top-k over the version's stored column as it is (no cast: no index can serve it), ties by id. */
async function exactTopK(db: Db, spec: VersionSpec, itemId: string): Promise<Array<{ item_id: string; distance: number }>> {
  const column = spec.storage === 'halfvec' ? 'half' : 'vector';
  const rows = await db.query<{ item_id: string; distance: number }>(
    `SELECT item_id, ${column} <=> (SELECT q.${column} FROM item_embeddings q
                                    WHERE q.org_id = $1 AND q.namespace = $2 AND q.modality = 'text' AND q.version = $3 AND q.item_id = $4) AS distance
     FROM item_embeddings
     WHERE org_id = $1 AND namespace = $2 AND modality = 'text' AND version = $3 AND item_id <> $4
     ORDER BY distance, item_id LIMIT $5`,
    [spec.orgId, spec.namespace, spec.version, itemId, K],
  );
  return rows.map((r) => ({ item_id: r.item_id, distance: Number(r.distance) }));
}

interface StorageResult {
  dataset: string;
  dims: number;
  storage: VectorStorage;
  rows: number;
  bytes_per_row: number;
  index: string;
  index_mb: number;
  index_build_s: number;
  /** Exact search over this storage against exact float32 search. */
  exact_recall: { ids: number; ties: number };
  exact_ms_per_query: number;
  /** The served dense retriever (HNSW at ef_search) against exact float32 search. */
  hnsw_recall: { ids: number; ties: number };
  hnsw_ms_per_query: number;
  /** Largest |cosine from the stored vectors − cosine of the float32 vectors| over the exact results. */
  max_cosine_error: number;
}

/** Bytes, index, and recall of one data set stored both ways; `vectors` are the float32 originals. */
async function measure(db: Db, dataset: string, specs: Record<VectorStorage, VersionSpec>, vectors: Map<string, Float32Array>): Promise<StorageResult[]> {
  const ids = [...vectors.keys()];
  const r = mulberry32(42);
  const queries = Array.from({ length: Math.min(QUERIES, ids.length) }, () => ids[Math.floor(r() * ids.length)]!);
  await db.exec('ANALYZE item_embeddings');
  const truth = new Map<string, { ids: Set<string>; kth: number }>();
  say(`  ${dataset}: exact float32 search for ${queries.length} queries…`);
  // The float32 version's own exact results are the truth: measured once, reported for its row too.
  const exactTops = new Map<VectorStorage, Map<string, Array<{ item_id: string; distance: number }>>>([['vector', new Map()]]);
  const exactS = new Map<VectorStorage, number>();
  const timed = performance.now();
  for (const q of queries) {
    const top = await exactTopK(db, specs.vector, q);
    exactTops.get('vector')!.set(q, top);
    // The k-th true distance from the float32 vectors themselves, as results are scored below.
    truth.set(q, { ids: new Set(top.map((t) => t.item_id)), kth: cosineDistance(vectors.get(q)!, vectors.get(top.at(-1)!.item_id)!) });
  }
  exactS.set('vector', since(timed));
  const recall = (q: string, found: string[]) => {
    const t = truth.get(q)!;
    const byIds = found.filter((id) => t.ids.has(id)).length;
    const byDistance = found.filter((id) => cosineDistance(vectors.get(q)!, vectors.get(id)!) <= t.kth + TIE).length;
    return [byIds, Math.min(K, byDistance)] as const;
  };

  const results: StorageResult[] = [];
  for (const storage of STORAGES) {
    const spec = specs[storage];
    const shape = vectorIndexShape(spec);
    const column = storage === 'halfvec' ? 'half' : 'vector';
    const [size] = await db.query<{ bytes: string; rows: string }>(
      `SELECT avg(pg_column_size(${column})) AS bytes, count(*) AS rows FROM item_embeddings WHERE org_id = $1 AND namespace = $2 AND version = $3`,
      [spec.orgId, spec.namespace, spec.version],
    );
    await db.exec(`DROP INDEX IF EXISTS ${shape.name}`);
    let started = performance.now();
    await db.transaction(async (tx) => {
      await tx.exec(`SET LOCAL maintenance_work_mem = '${o['maintenance-work-mem']}'`);
      await ensureVectorIndex(tx, spec);
    });
    const buildS = since(started);
    const [index] = await db.query<{ bytes: string }>('SELECT pg_relation_size(to_regclass($1)) AS bytes', [shape.name]);
    say(`  ${dataset} ${storage}: ${shape.type} index built in ${round(buildS, 1)} s`);

    if (!exactTops.has(storage)) {
      const tops = new Map<string, Array<{ item_id: string; distance: number }>>();
      started = performance.now();
      for (const q of queries) tops.set(q, await exactTopK(db, spec, q));
      exactS.set(storage, since(started));
      exactTops.set(storage, tops);
    }
    let exact = [0, 0];
    let maxError = 0;
    for (const q of queries) {
      const top = exactTops.get(storage)!.get(q)!;
      const [a, b] = recall(
        q,
        top.map((t) => t.item_id),
      );
      exact = [exact[0]! + a, exact[1]! + b];
      for (const t of top) maxError = Math.max(maxError, Math.abs(t.distance - cosineDistance(vectors.get(q)!, vectors.get(t.item_id)!)));
    }
    const exactMs = (exactS.get(storage)! * 1000) / queries.length;

    let hnsw = [0, 0];
    started = performance.now();
    for (const q of queries) {
      const { candidates } = await similar(db, {
        orgId: spec.orgId,
        namespace: spec.namespace,
        version: spec.version,
        itemId: q,
        k: K,
        mode: 'dense',
        efSearch: EF_SEARCH,
      });
      const [a, b] = recall(
        q,
        candidates.map((c) => c.item_id),
      );
      hnsw = [hnsw[0]! + a, hnsw[1]! + b];
    }
    const hnswMs = (since(started) * 1000) / queries.length;
    const n = queries.length * K;
    results.push({
      dataset,
      dims: spec.dims,
      storage,
      rows: Number(size!.rows),
      bytes_per_row: Math.round(Number(size!.bytes)),
      index: shape.expression,
      index_mb: round(Number(index?.bytes ?? 0) / 2 ** 20, 1),
      index_build_s: round(buildS, 1),
      exact_recall: { ids: round(exact[0]! / n, 4), ties: round(exact[1]! / n, 4) },
      exact_ms_per_query: round(exactMs, 1),
      hnsw_recall: { ids: round(hnsw[0]! / n, 4), ties: round(hnsw[1]! / n, 4) },
      hnsw_ms_per_query: round(hnswMs, 2),
      max_cosine_error: Number(maxError.toPrecision(2)),
    });
  }
  return results;
}

await mkdir(out, { recursive: true });
const databaseUrl = o['database-url'] || undefined;
const { file, label } = catalogFile();
const configFor = (storage: VectorStorage) =>
  loadConfig({
    env: {},
    overrides: {
      home: out,
      databaseUrl,
      namespace: `halfvec-${label}`,
      version: versionOf(storage),
      prompt: { template: o.template! },
      embed: { provider: 'local', storage },
      objects: { url: path.join(out, 'objects') },
      run: { createIndex: false },
    },
  });
const host = machine();
say(`embedding ${label} with the default local model (a rerun embeds nothing)…`);
const runs = await embedReal(configFor, file);

const db = await openDb({ home: out, databaseUrl });
interface Report {
  benchmark: 'halfvec';
  database: string;
  machine: ReturnType<typeof machine>;
  catalog: { file: string; items: number; model: string; dims: number; template: string };
  settings: { k: number; queries: number; ef_search: number; maintenance_work_mem: string; ties: string; load: string };
  embedding_runs: Awaited<ReturnType<typeof embedReal>>;
  load_rows_per_s: Record<VectorStorage, number[]>;
  results: StorageResult[];
  peak_rss_mb: number;
}
let report: Report;
try {
  await migrate(db);
  const [server] = await db.query<{ version: string }>('SELECT version()');
  const [pgvector] = await db.query<{ extversion: string }>("SELECT extversion FROM pg_extension WHERE extname = 'vector'");
  const database = `${db.driver === 'pg' ? db.location : 'embedded PGlite (WASM)'} · ${server!.version.split(' on ')[0]} · pgvector ${pgvector?.extversion}`;
  const base = configFor('vector');
  const real = {} as Record<VectorStorage, VersionSpec>;
  for (const storage of STORAGES) {
    const v = await getVersion(db, { orgId: base.orgId, namespace: base.namespace, modality: 'text', version: versionOf(storage) });
    if (!v) throw new Error(`version ${versionOf(storage)} of ${base.namespace} is missing after its run`);
    real[storage] = v;
  }
  const vectors = await readVectors(db, real.vector);
  const model = `${real.vector.provider}/${real.vector.model}`;
  say(`${vectors.size} real ${real.vector.dims}-d vectors (${model}); measuring…`);
  const results = o['load-only'] ? [] : await measure(db, `${label} ${model}`, real, vectors);

  say(`mapping them into ${STAND_IN_DIMS}-d (a fixed random isometry)…`);
  let started = performance.now();
  const rows = isometry(real.vector.dims, STAND_IN_DIMS);
  const standIn = new Map([...vectors].map(([id, v]) => [id, project(rows, v)]));
  say(`  ${round(since(started), 1)} s`);
  const standInSpec = (storage: VectorStorage, namespace = `halfvec-stand-in-${STAND_IN_DIMS}`): VersionSpec => ({
    orgId: base.orgId,
    namespace,
    modality: 'text',
    version: versionOf(storage),
    provider: 'bench',
    model: `isometry-${real.vector.dims}-${STAND_IN_DIMS}`,
    dims: STAND_IN_DIMS,
    promptTemplate: o.template!,
    textSearchConfig: 'english',
    storage,
  });

  // Load speed: throwaway namespaces, alternating which storage goes first.
  const loads: Record<VectorStorage, number[]> = { vector: [], halfvec: [] };
  for (let round_ = 0; round_ < Number(o['load-rounds']); round_++) {
    for (const storage of round_ % 2 === 0 ? STORAGES : [...STORAGES].reverse()) {
      const spec = standInSpec(storage, `halfvec-load-${storage}`);
      await dropNamespace(db, [spec]);
      const s = await load(db, spec, standIn);
      loads[storage].push(Math.round(standIn.size / s));
      say(`  load round ${round_ + 1}, ${storage}: ${standIn.size} × ${STAND_IN_DIMS}-d in ${round(s, 1)} s (${Math.round(standIn.size / s)} rows/s)`);
      await dropNamespace(db, [spec]);
    }
  }

  if (!o['load-only']) {
    const standInSpecs = { vector: standInSpec('vector'), halfvec: standInSpec('halfvec') };
    await dropNamespace(db, Object.values(standInSpecs));
    started = performance.now();
    for (const storage of STORAGES) await load(db, standInSpecs[storage], standIn);
    say(`  stand-in versions loaded in ${round(since(started), 1)} s; measuring…`);
    results.push(...(await measure(db, `${STAND_IN_DIMS}-d stand-in`, standInSpecs, standIn)));
    await dropNamespace(db, Object.values(standInSpecs));
  }

  report = {
    benchmark: 'halfvec',
    database,
    machine: host,
    catalog: { file: path.relative(root, file), items: vectors.size, model, dims: real.vector.dims, template: o.template! },
    settings: {
      k: K,
      queries: Math.min(QUERIES, vectors.size),
      ef_search: EF_SEARCH,
      maintenance_work_mem: o['maintenance-work-mem']!,
      ties: `a result counts with ties when its float32 cosine distance is within ${TIE} of the k-th true one`,
      load: `${standIn.size} × ${STAND_IN_DIMS}-d, ${BATCH} rows per transaction, 1 connection, ${db.driver === 'pg' ? 'COPY BINARY + INSERT … SELECT' : 'COPY BINARY (PGlite)'}`,
    },
    embedding_runs: runs,
    load_rows_per_s: loads,
    results,
    peak_rss_mb: peakRssMb(),
  };
} finally {
  await db.close();
}

if (o.json) {
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0);
}
const r = report;
console.log(`itemvec halfvec benchmark · ${r.database} · ${machineLine(host)}`);
console.log(
  `recall@${r.settings.k} over ${r.settings.queries} query items against exact float32 search; HNSW: the served dense retriever at ef_search ${r.settings.ef_search}; "ties": results as close as the k-th true neighbour count`,
);
const header = [
  'data set',
  'dims',
  'storage',
  'bytes/row',
  'index',
  'index MB',
  'build s',
  'exact: recall ids / ties',
  'ms/q',
  'HNSW: recall ids / ties',
  'ms/q',
  'max |Δcos|',
];
const table = r.results.map((x) => [
  x.dataset,
  String(x.dims),
  x.storage,
  String(x.bytes_per_row),
  x.index,
  String(x.index_mb),
  String(x.index_build_s),
  `${x.exact_recall.ids} / ${x.exact_recall.ties}`,
  String(x.exact_ms_per_query),
  `${x.hnsw_recall.ids} / ${x.hnsw_recall.ties}`,
  String(x.hnsw_ms_per_query),
  String(x.max_cosine_error),
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
console.log([line(header), line(widths.map((w) => '-'.repeat(w))), ...table.map(line)].join('\n'));
const fill = r.embedding_runs.find((x) => x.storage === 'halfvec')!;
console.log(
  `catalog: ${r.catalog.items} items, ${r.catalog.model}, template ${JSON.stringify(r.catalog.template)}; its halfvec version: ${fill.cache_hits} vectors from the content cache, ${fill.embedded} embedded, ${fill.api_calls} model calls, ${fill.wall_s} s`,
);
console.log(`load (${r.settings.load}), rows/s per round: vector ${r.load_rows_per_s.vector.join(', ')}; halfvec ${r.load_rows_per_s.halfvec.join(', ')}`);
console.log(`peak RSS ${peakRssMb()} MB`);
