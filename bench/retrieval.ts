/**
 * Retrieval benchmark: loads N synthetic vectors per size, builds the version's HNSW index, then
 * measures `similar` in-process and over HTTP (the Fastify service, real sockets, sequential
 * requests), and recall@k against exact search.
 *
 *   npm run bench:retrieval -- [--dims 384,3072] [--items 100000,100000] [--queries 200]
 *                              [--recall-queries 100] [--k 10] [--ef-search 100] [--database-url postgres://…] [--json]
 *
 * --json prints one JSON object (machine, database, settings, one result per size) instead of the table.
 *
 * Without --database-url (or DATABASE_URL) it runs on embedded PGlite (Postgres in WebAssembly), where
 * an HNSW build over 3072-d vectors takes about two minutes per 10,000 rows: pass smaller --items there.
 * With a Postgres server that has pgvector, it writes under a fresh org and namespace and removes
 * them (rows and index) afterwards.
 *
 * Vectors are clustered like real embeddings (uniformly random vectors are the worst case for any
 * ANN index and unlike text embeddings): N/200 random unit centroids, each item a centroid plus
 * Gaussian noise of the same norm, normalised (cosine to its centroid ≈ 0.7). Ground truth is an
 * exact scan in fp32 over the raw `vector` column, independent of the code under test.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { similar } from '../src/retrieve/similar.js';
import { buildServer } from '../src/serve/server.js';
import { serveSettings } from '../src/serve/settings.js';
import { type Db, openDb } from '../src/store/db.js';
import { upsertItemVectors } from '../src/store/embeddings.js';
import { migrate } from '../src/store/migrations.js';
import { ensureVectorIndex, ensureVersion, type VersionSpec, vectorIndexShape } from '../src/store/versions.js';
import { mulberry32, randomVector } from '../testkit/random.js';
import { machine, machineLine } from './machine.js';
import { peakRssMb } from './peak-rss.js';
import { percentile, round } from './stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: o } = parseArgs({
  options: {
    dims: { type: 'string', default: '384,3072' },
    items: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '200' },
    'recall-queries': { type: 'string', default: '100' },
    k: { type: 'string', default: '10' },
    'ef-search': { type: 'string', default: '100' },
    'maintenance-work-mem': { type: 'string', default: '1GB' },
    'database-url': { type: 'string', default: process.env.DATABASE_URL },
    json: { type: 'boolean', default: false },
  },
});
const dimsList = o.dims!.split(',').map(Number);
const itemsList = o.items!.split(',').map(Number);
const queries = Number(o.queries);
const recallQueries = Math.min(Number(o['recall-queries']), queries);
const k = Number(o.k);
const efSearch = Number(o['ef-search']);
const orgId = randomUUID();
const API_KEY = `bench-${randomUUID()}`;

const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;

/** Item i of a clustered set: its cluster's centroid plus Gaussian noise of about the same norm, normalised. */
function clusteredBatch(dims: number, clusters: Float32Array[], from: number, count: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (let i = from; i < from + count; i++) {
    const r = mulberry32(0x5eed + i);
    const centroid = clusters[i % clusters.length]!;
    const v = new Float32Array(dims);
    const s = 1 / Math.sqrt(dims);
    let norm = 0;
    for (let d = 0; d < dims; d += 2) {
      // Box–Muller: two standard normals per pair of uniforms.
      const u = Math.sqrt(-2 * Math.log(1 - r()));
      const t = 2 * Math.PI * r();
      v[d] = centroid[d]! + s * u * Math.cos(t);
      if (d + 1 < dims) v[d + 1] = centroid[d + 1]! + s * u * Math.sin(t);
    }
    for (let d = 0; d < dims; d++) norm += v[d]! * v[d]!;
    const inv = 1 / Math.sqrt(norm);
    for (let d = 0; d < dims; d++) v[d]! *= inv;
    out.push(v);
  }
  return out;
}

const itemId = (i: number) => `item-${String(i).padStart(7, '0')}`;

async function load(db: Db, spec: VersionSpec, n: number): Promise<number> {
  const clusters = Array.from({ length: Math.max(10, Math.round(n / 200)) }, (_, c) => randomVector(1 + c, spec.dims));
  await ensureVersion(db, spec);
  const started = process.hrtime.bigint();
  const batch = spec.dims > 1000 ? 1000 : 5000;
  for (let i = 0; i < n; i += batch) {
    const vectors = clusteredBatch(spec.dims, clusters, i, Math.min(batch, n - i));
    await upsertItemVectors(
      db,
      spec,
      spec.model,
      vectors.map((vector, j) => ({
        itemId: itemId(i + j),
        vector,
        metadataHash: 'bench',
        metadataVersion: null,
        chunkCount: 1,
        tokenCount: 1,
        generatedAt: new Date(),
      })),
    );
  }
  return seconds(started);
}

/** Exact top-k by fp32 cosine over the raw column: no cast, so no index can serve it. */
async function exactTopK(db: Db, spec: VersionSpec, id: string): Promise<string[]> {
  const rows = await db.query<{ item_id: string }>(
    `SELECT item_id FROM item_embeddings
     WHERE org_id = $1 AND namespace = $2 AND version = $3 AND modality = 'text' AND item_id <> $4
     ORDER BY vector <=> (SELECT vector FROM item_embeddings WHERE org_id = $1 AND namespace = $2 AND version = $3 AND modality = 'text' AND item_id = $4), item_id
     LIMIT $5`,
    [orgId, spec.namespace, spec.version, id, k],
  );
  return rows.map((r) => r.item_id);
}

async function measure(label: string, count: number, fn: (i: number) => Promise<void>): Promise<{ p50: number; p95: number; mean: number }> {
  for (let i = 0; i < Math.min(20, count); i++) await fn(i); // warm-up: plan cache, index pages, JIT
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = process.hrtime.bigint();
    await fn(i);
    times.push(seconds(t) * 1000);
  }
  times.sort((a, b) => a - b);
  const result = { p50: round(percentile(times, 50)), p95: round(percentile(times, 95)), mean: round(times.reduce((s, x) => s + x, 0) / count) };
  console.error(`  ${label}: p50 ${result.p50} ms, p95 ${result.p95} ms`);
  return result;
}

interface SizeResult {
  dims: number;
  index: string;
  items: number;
  load_s: number;
  analyze_s: number;
  index_build_s: number;
  ef_search: number;
  in_process_ms: { p50: number; p95: number; mean: number };
  http_ms: { p50: number; p95: number; mean: number };
  exact_ms_per_query: number;
  recall_at_k: number;
}

async function runSize(db: Db, dims: number, n: number): Promise<SizeResult> {
  const spec: VersionSpec = {
    orgId,
    namespace: `bench-${dims}`,
    modality: 'text',
    version: 'v1',
    provider: 'bench',
    model: `synthetic-${dims}`,
    dims,
    promptTemplate: '{description}',
    textSearchConfig: 'english',
  };
  const shape = vectorIndexShape(spec);
  console.error(`${dims}-d × ${n}: loading…`);
  const loadS = await load(db, spec, n);
  // Planner statistics, as autovacuum gathers them on a server after a bulk load (PGlite has no
  // autovacuum). Without them the planner guesses one row per org and scans the org's rows through
  // the primary key instead of the HNSW index: measured 90 ms instead of 5 ms at 2,000 × 3072-d.
  const analyzeStarted = process.hrtime.bigint();
  await db.exec('ANALYZE item_embeddings');
  const analyzeS = seconds(analyzeStarted);
  console.error(`  loaded in ${round(loadS, 1)} s, analyzed in ${round(analyzeS, 1)} s; building ${shape.type} HNSW index…`);
  const started = process.hrtime.bigint();
  await db.transaction(async (tx) => {
    await tx.exec(`SET LOCAL maintenance_work_mem = '${o['maintenance-work-mem']}'`);
    await ensureVectorIndex(tx, spec);
  });
  const indexS = seconds(started);
  console.error(`  index built in ${round(indexS, 1)} s`);

  const r = mulberry32(42);
  const ids = Array.from({ length: queries }, () => itemId(Math.floor(r() * n)));
  const query = { orgId, namespace: spec.namespace, k, efSearch };
  const found: string[][] = [];
  const inProcess = await measure('in-process', queries, async (i) => {
    const { candidates } = await similar(db, { ...query, itemId: ids[i]! });
    found[i] = candidates.map((c) => c.item_id);
  });

  const config = loadConfig({ env: {}, overrides: { serve: { apiKeys: [{ orgId, key: API_KEY }] }, retrieve: { efSearch } } });
  const app = await buildServer({ db, settings: serveSettings(config), logger: createLogger({ level: 'silent' }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  const headers = { authorization: `Bearer ${API_KEY}` };
  const http = await measure('HTTP', queries, async (i) => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/namespaces/${spec.namespace}/items/${ids[i]}/similar?k=${k}`, { headers });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  });
  await app.close();

  console.error(`  exact search for ${recallQueries} queries…`);
  const exactStarted = process.hrtime.bigint();
  let hits = 0;
  for (let i = 0; i < recallQueries; i++) {
    const truth = new Set(await exactTopK(db, spec, ids[i]!));
    hits += found[i]!.filter((id) => truth.has(id)).length;
  }
  const exactMs = (seconds(exactStarted) * 1000) / recallQueries;
  const recall = hits / (recallQueries * k);

  // Leave a server database as it was.
  if (db.driver === 'pg') {
    await db.exec(`DROP INDEX IF EXISTS ${shape.name}`);
    await db.query('DELETE FROM embedding_versions WHERE org_id = $1 AND namespace = $2', [orgId, spec.namespace]);
  }
  return {
    dims,
    index: shape.type,
    items: n,
    load_s: round(loadS, 1),
    analyze_s: round(analyzeS, 1),
    index_build_s: round(indexS, 1),
    ef_search: efSearch,
    in_process_ms: inProcess,
    http_ms: http,
    exact_ms_per_query: round(exactMs, 1),
    recall_at_k: round(recall, 3),
  };
}

const out = path.join(root, 'bench', '.out', `retrieval-${process.pid}`);
const databaseUrl = o['database-url'] || undefined;
await mkdir(out, { recursive: true });
const db = await openDb({ databaseUrl, home: out });
const results: SizeResult[] = [];
const host = machine();
let database = '';
try {
  await migrate(db);
  const pgvector = await db.query<{ extversion: string }>("SELECT extversion FROM pg_extension WHERE extname = 'vector'");
  const [server] = await db.query<{ version: string }>('SELECT version()');
  database = `${db.driver === 'pg' ? db.location : 'embedded PGlite (WASM)'} · ${server!.version.split(' on ')[0]} · pgvector ${pgvector[0]?.extversion}`;
  if (!o.json) {
    console.log(`itemvec retrieval benchmark · ${database} · ${machineLine(host)}`);
    console.log(`k=${k}, ${queries} similar() calls per size after 20 warm-up calls (sequential), recall over ${recallQueries} of them`);
  }
  for (const [i, dims] of dimsList.entries()) results.push(await runSize(db, dims, itemsList[Math.min(i, itemsList.length - 1)]!));
} finally {
  await db.close();
  await rm(out, { recursive: true, force: true });
}
if (o.json) {
  const settings = `k=${k}, ${queries} sequential similar() calls per size after 20 warm-up calls, recall over ${recallQueries} of them against exact fp32 search, ef_search ${efSearch}, maintenance_work_mem ${o['maintenance-work-mem']}`;
  process.stdout.write(
    `${JSON.stringify({ benchmark: 'retrieval', database, settings, machine: host, load_average_end: os.loadavg()[0], k, results, peak_rss_mb: peakRssMb() })}\n`,
  );
  process.exit(0);
}
const rows = results.map((r) => [
  String(r.dims),
  r.index,
  String(r.items),
  `${r.load_s} (${Math.round(r.items / r.load_s)}/s)`,
  String(r.analyze_s),
  String(r.index_build_s),
  String(r.ef_search),
  `${r.in_process_ms.p50} / ${r.in_process_ms.p95}`,
  `${r.http_ms.p50} / ${r.http_ms.p95}`,
  String(r.exact_ms_per_query),
  String(r.recall_at_k),
]);
const header = [
  'dims',
  'index',
  'items',
  'load s (rows/s)',
  'analyze s',
  'index build s',
  'ef_search',
  'in-process p50 / p95 ms',
  'HTTP p50 / p95 ms',
  'exact ms/query',
  `recall@${k}`,
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
console.log([line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
console.log(`peak RSS ${peakRssMb()} MB`);
