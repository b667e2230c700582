/**
 * Review console benchmark: the item view (/ui/items/:id) on a 20,000-item catalog in embedded PGlite.
 *
 *   npm run bench:console -- [--items 20000] [--requests 50] [--k 10] [--dims 384] [--database-url postgres://…] [--json]
 *
 * The catalog is the shipped sample repeated to N items (bench/catalog.ts: each copy its own id and
 * text), embedded by the real pipeline with the in-process word-hash provider (testkit/hash-provider.ts:
 * no model, no network), so the database holds what a real run writes: vectors and their HNSW
 * index, the BM25 index, catalog rows with tags and image URLs, a run record. The service then runs
 * in this process on a free port; after 10 warm-up requests, `--requests` item views of random items
 * (and as many side-by-side views: one version fused against dense alone) are fetched one at a time
 * with a logged-in session. Reported: the server's own time from the Server-Timing header (p50/p95),
 * the time the client waited, and the page's bytes (HTML only: images are the browser's business).
 * Target (issue 15): item view < 300 ms server time at 20,000 items on PGlite.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { runEmbeddingJob } from '../src/pipeline/run.js';
import { buildServer } from '../src/serve/server.js';
import { serveSettings } from '../src/serve/settings.js';
import { openDb } from '../src/store/db.js';
import { migrate } from '../src/store/migrations.js';
import { hashProvider } from '../testkit/hash-provider.js';
import { mulberry32 } from '../testkit/random.js';
import { catalogRows, writeCatalog } from './catalog.js';
import { machine, machineLine } from './machine.js';
import { peakRssMb } from './peak-rss.js';
import { percentile, round } from './stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: o } = parseArgs({
  options: {
    items: { type: 'string', default: '20000' },
    requests: { type: 'string', default: '50' },
    k: { type: 'string', default: '10' },
    dims: { type: 'string', default: '384' },
    'database-url': { type: 'string', default: process.env.DATABASE_URL },
    json: { type: 'boolean', default: false },
  },
});
const items = Number(o.items);
const requests = Number(o.requests);
const k = Number(o.k);
const dims = Number(o.dims);
const orgId = randomUUID();
const namespace = `console-bench-${process.pid}`;
const KEY = `bench-${randomUUID()}`;
const say = (line: string) => process.stderr.write(`${line}\n`);

interface Timings {
  server_ms: { p50: number; p95: number; max: number };
  client_ms: { p50: number; p95: number };
  bytes: { p50: number; max: number };
}

const out = path.join(root, 'bench', '.out', `console-${process.pid}`);
await mkdir(out, { recursive: true });
const host = machine();
const config = loadConfig({
  env: {},
  overrides: {
    home: out,
    databaseUrl: o['database-url'] || undefined,
    orgId,
    namespace,
    objects: { url: path.join(out, 'objects') },
    serve: { apiKeys: [{ orgId, key: KEY }] },
  },
});
const db = await openDb({ databaseUrl: config.databaseUrl, home: out });
let result: { load_s: number; item_view: Timings; compare_view: Timings } | undefined;
try {
  await migrate(db);
  const rows = await catalogRows(items);
  const file = await writeCatalog(path.join(out, `catalog-${items}.jsonl`), rows);
  say(`loading ${items} items (${dims}-d word-hash vectors, BM25, HNSW) into ${db.driver === 'pg' ? db.location : 'embedded PGlite'}…`);
  const started = performance.now();
  const summary = await runEmbeddingJob({
    config,
    source: { kind: 'file', path: file },
    db,
    provider: hashProvider({ dims, maxBatchInputs: 2048 }),
    logger: createLogger({ level: 'warn' }),
  });
  const loadS = (performance.now() - started) / 1000;
  say(`  loaded ${summary.embedded} items in ${round(loadS, 1)} s`);

  const app = await buildServer({ db, settings: serveSettings(config), logger: createLogger({ level: 'silent' }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  try {
    const login = await fetch(`${base}/ui/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ api_key: KEY }).toString(),
      redirect: 'manual',
    });
    const cookie = login.headers.get('set-cookie')?.split(';')[0];
    if (login.status !== 303 || !cookie) throw new Error(`login failed: HTTP ${login.status}`);

    const random = mulberry32(42);
    const ids = Array.from({ length: requests + 10 }, () => rows[Math.floor(random() * rows.length)]!.item_id);
    const measure = async (label: string, url: (id: string) => string): Promise<Timings> => {
      const server: number[] = [];
      const client: number[] = [];
      const bytes: number[] = [];
      for (const [i, id] of ids.entries()) {
        const t = performance.now();
        const res = await fetch(`${base}${url(id)}`, { headers: { cookie } });
        const body = await res.arrayBuffer();
        const waited = performance.now() - t;
        if (res.status !== 200) throw new Error(`${label} ${id}: HTTP ${res.status}`);
        if (i < 10) continue; // warm-up: plan cache, index pages, JIT
        server.push(Number(/app;dur=([\d.]+)/.exec(res.headers.get('server-timing') ?? '')?.[1]));
        client.push(waited);
        bytes.push(body.byteLength);
      }
      for (const xs of [server, client, bytes]) xs.sort((a, b) => a - b);
      const t: Timings = {
        server_ms: { p50: round(percentile(server, 50), 1), p95: round(percentile(server, 95), 1), max: round(server[server.length - 1]!, 1) },
        client_ms: { p50: round(percentile(client, 50), 1), p95: round(percentile(client, 95), 1) },
        bytes: { p50: percentile(bytes, 50), max: bytes[bytes.length - 1]! },
      };
      say(`  ${label}: server p50/p95 ${t.server_ms.p50}/${t.server_ms.p95} ms, page ${t.bytes.p50}–${t.bytes.max} bytes`);
      return t;
    };
    const q = `namespace=${namespace}&k=${k}`;
    const itemView = await measure('item view', (id) => `/ui/items/${encodeURIComponent(id)}?${q}`);
    const compareView = await measure('side by side', (id) => `/ui/compare?item=${encodeURIComponent(id)}&${q}&right_mode=dense`);
    result = { load_s: round(loadS, 1), item_view: itemView, compare_view: compareView };
  } finally {
    await app.close();
  }
  if (db.driver === 'pg') await db.query('DELETE FROM embedding_versions WHERE org_id = $1', [orgId]);
} finally {
  await db.close();
  await rm(out, { recursive: true, force: true });
}

const database = config.databaseUrl ? 'Postgres server' : 'embedded PGlite (WASM)';
const settings = `${items} items, ${dims}-d, k=${k}, ${requests} sequential requests after 10 warm-up, fused as served`;
if (o.json) {
  process.stdout.write(`${JSON.stringify({ benchmark: 'console', database, settings, machine: host, ...result, peak_rss_mb: peakRssMb() })}\n`);
} else {
  const r = result!;
  const line = (name: string, t: Timings) =>
    `${name.padEnd(14)}  ${`${t.server_ms.p50} / ${t.server_ms.p95} / ${t.server_ms.max}`.padEnd(24)}  ${`${t.client_ms.p50} / ${t.client_ms.p95}`.padEnd(18)}  ${t.bytes.p50} / ${t.bytes.max}`;
  console.log(`itemvec review console benchmark · ${database} · ${machineLine(host)}`);
  console.log(settings);
  console.log(`${'page'.padEnd(14)}  ${'server ms p50/p95/max'.padEnd(24)}  ${'client ms p50/p95'.padEnd(18)}  bytes p50 / max`);
  console.log(line('item view', r.item_view));
  console.log(line('side by side', r.compare_view));
  console.log(`load ${r.load_s} s · target: item view < 300 ms server time · peak RSS ${peakRssMb()} MB`);
}
