/**
 * itemvec vs LangChain.js on the same OpenAI-compatible server (50 ms latency) and the same
 * database, both started here, once, in this parent process: PGlite + pgvector over the wire by
 * default, or a real PostgreSQL server with pgvector (`--database-url`), where each side gets a
 * fresh database of its own before every cold phase.
 * Each side runs three phases on one N-item catalog (default 5,000), every phase in its own child
 * process so its peak RSS is its own:
 *   cold       empty tables, every item embedded
 *   unchanged  the same catalog again: nothing should be embedded
 *   changed    1 % of the items (every 100th, spread over the catalog) with a new description
 * Requests, inputs, max in flight and the API's busy time (at least one request in flight) are
 * read from the server's counters around each phase; wall minus busy is the client's own share.
 * `--rounds N` repeats everything N times, the sides' order alternating, so drift on a shared
 * machine falls on both.
 *
 *   npm run bench:peers -- [--items 5000] [--sides itemvec,langchain] [--database-url URL] [--rounds 1]
 *                          [--log-level info] [--cpu-prof] [--json]
 *
 * --database-url needs a role that may CREATE DATABASE: it drops and creates itemvec_peers_itemvec
 * and itemvec_peers_langchain on that server. --json prints one JSON object (machine, settings,
 * every phase's figures) instead of the table.
 *
 * The peers live in bench/peers (their own package and lock file, so the product's `npm ci` never
 * installs them); this script runs `npm ci --prefix bench/peers` when they are missing.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import pg from 'pg';
import { type OpenAIServer, startOpenAIServer } from '../testkit/openai-server.js';
import { startPgliteServer } from '../testkit/pglite-server.js';
import { catalogRows, changeOnePercent, writeCatalog } from './catalog.js';
import { machine, machineLine } from './machine.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'bench', '.out');
const peers = path.join(root, 'bench', 'peers');
const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '5000' },
    sides: { type: 'string', default: 'itemvec,langchain' },
    'database-url': { type: 'string' },
    rounds: { type: 'string', default: '1' },
    'log-level': { type: 'string', default: 'warn' },
    'cpu-prof': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const items = Number(values.items);
const sides = values.sides!.split(',') as Side[];
const rounds = Number(values.rounds);
const serverUrl = values['database-url'];

type Side = 'itemvec' | 'langchain';
type Phase = 'cold' | 'unchanged' | 'changed';
const PHASES: Phase[] = ['cold', 'unchanged', 'changed'];

interface PhaseResult {
  round: number;
  side: Side;
  phase: Phase;
  wallS: number;
  /** Time with at least one API request in flight during the phase. */
  apiBusyS: number;
  embedded: number;
  requests: number;
  inputs: number;
  maxInFlight: number;
  peakRssMb: number;
  /** The child's CPU time and garbage-collection pauses during the phase. */
  cpuS: number;
  gcS: number;
  note: string;
}

function ensurePeers(): void {
  if (existsSync(path.join(peers, 'node_modules', '@langchain', 'openai', 'package.json'))) return;
  console.error('installing the peers: npm ci --prefix bench/peers');
  // npm's output goes to stderr: with --json, stdout carries only the result.
  execFileSync('npm', ['ci', '--prefix', peers, '--no-audit', '--no-fund'], { stdio: ['ignore', process.stderr, 'inherit'] });
}

function childCommand(side: Side, phase: Phase, catalog: string, api: OpenAIServer, dbUrl: string): string[] {
  const prof = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', path.join(out, 'prof'), '--cpu-prof-name', `${side}-${phase}.cpuprofile`] : [];
  if (side === 'itemvec') {
    return [
      ...prof,
      '--import',
      'tsx',
      path.join(root, 'bench', 'vs-langchain-itemvec.ts'),
      '--catalog',
      catalog,
      '--home',
      path.join(out, 'home-vs-langchain'),
      '--base-url',
      api.url,
      '--database-url',
      dbUrl,
      '--log-level',
      values['log-level']!,
    ];
  }
  return [
    ...prof,
    path.join(peers, 'langchain.mjs'),
    '--catalog',
    catalog,
    '--base-url',
    api.url,
    '--database-url',
    dbUrl,
    ...(phase === 'cold' ? ['--try-hnsw'] : []),
  ];
}

async function runPhase(round: number, side: Side, phase: Phase, catalog: string, api: OpenAIServer, dbUrl: string): Promise<PhaseResult> {
  // Counters are cumulative; in-flight peak is reset so each phase reports its own.
  const before = { requests: api.counters.requests, inputs: api.counters.inputs, busyMs: api.counters.busyMs };
  api.counters.maxInFlight = api.counters.inFlight;
  const { stdout, stderr } = await promisify(execFile)(process.execPath, childCommand(side, phase, catalog, api, dbUrl), {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
  }).catch((err: { stderr?: string; message: string }) => {
    throw new Error(`${side} ${phase} failed: ${err.message}\n${err.stderr?.slice(-2000) ?? ''}`);
  });
  await writeFile(path.join(out, `vs-langchain-${side}-${phase}.log`), stderr);
  const r = JSON.parse(stdout.trim().split('\n').pop()!);
  const embedded = side === 'itemvec' ? r.summary.embedded : r.result.numAdded + r.result.numUpdated;
  const note =
    side === 'itemvec'
      ? `failed ${r.summary.failed}, ${r.summary.parquet_parts} parquet parts`
      : `deleted ${r.result.numDeleted}, skipped ${r.result.numSkipped}${r.logged_errors.length ? `, console.error calls: ${r.logged_errors.length}` : ''}${r.hnsw !== 'not tried' ? `; HNSW: ${r.hnsw}` : ''}`;
  return {
    round,
    side,
    phase,
    wallS: r.wall_s,
    apiBusyS: (api.counters.busyMs - before.busyMs) / 1000,
    embedded,
    requests: api.counters.requests - before.requests,
    inputs: api.counters.inputs - before.inputs,
    maxInFlight: api.counters.maxInFlight,
    peakRssMb: r.peak_rss_mb,
    cpuS: r.cpu_s,
    gcS: r.gc_s,
    note,
  };
}

function printTable(results: PhaseResult[]): void {
  const header = [
    'round',
    'side',
    'phase',
    'items/s',
    'wall s',
    'API busy s',
    'client s',
    'embedded',
    'requests',
    'inputs',
    'max in flight',
    'peak RSS MB',
    'CPU s',
    'GC s',
  ];
  const rows = results.map((r) => [
    String(r.round),
    r.side,
    r.phase,
    (items / r.wallS).toFixed(0),
    r.wallS.toFixed(2),
    r.apiBusyS.toFixed(2),
    (r.wallS - r.apiBusyS).toFixed(2),
    String(r.embedded),
    String(r.requests),
    String(r.inputs),
    String(r.maxInFlight),
    String(r.peakRssMb),
    r.cpuS.toFixed(2),
    r.gcS.toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log([line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
  for (const r of results) if (r.note) console.log(`  round ${r.round} ${r.side} ${r.phase}: ${r.note}`);
  for (const { round, speedup } of coldSpeedups(results)) console.log(`round ${round}: cold wall LangChain.js / itemvec: ${speedup.toFixed(2)}×`);
}

/** Per round, LangChain's cold wall over itemvec's: how many times faster itemvec was. */
function coldSpeedups(results: PhaseResult[]): Array<{ round: number; speedup: number }> {
  const cold = (round: number, side: Side) => results.find((r) => r.round === round && r.side === side && r.phase === 'cold');
  const out: Array<{ round: number; speedup: number }> = [];
  for (let round = 1; round <= rounds; round++) {
    const [a, b] = [cold(round, 'itemvec'), cold(round, 'langchain')];
    if (a && b) out.push({ round, speedup: b.wallS / a.wallS });
  }
  return out;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/**
 * The database each side writes to. On a real server: a fresh database per side, dropped and
 * created before the side's cold phase, so both start from nothing and neither sees the other's
 * tables; on PGlite (one database) a fresh PGlite server per round does the same.
 */
async function freshServerDatabase(side: Side): Promise<string> {
  const name = `itemvec_peers_${side}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl!);
  url.pathname = `/${name}`;
  return url.toString();
}

async function describeServer(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ v: string }>("SELECT split_part(version(), ' on ', 1) AS v");
    const ext = await client.query<{ v: string }>("SELECT default_version AS v FROM pg_available_extensions WHERE name = 'vector'");
    return `${rows[0]!.v} + pgvector ${ext.rows[0]?.v ?? 'missing'} (${new URL(url).host})`;
  } finally {
    await client.end();
  }
}

ensurePeers();
await mkdir(out, { recursive: true });
const rows = await catalogRows(items);
const catalogs: Record<Phase, string> = {
  cold: await writeCatalog(path.join(out, `vs-catalog-${items}.jsonl`), rows),
  unchanged: path.join(out, `vs-catalog-${items}.jsonl`),
  changed: await writeCatalog(path.join(out, `vs-catalog-${items}-changed.jsonl`), changeOnePercent(rows)),
};
const started = machine();
const database = serverUrl ? await describeServer(serverUrl) : 'one PGlite over the wire';
const settings = `${items} items, text-embedding-3-large 3072-d, one local OpenAI-compatible server (50 ms latency) and ${database} for both sides, no index`;
if (!values.json) console.log(`itemvec vs LangChain.js: ${settings} · ${machineLine(started)}`);

const api = await startOpenAIServer({ latencyMs: 50 });
const results: PhaseResult[] = [];
try {
  for (let round = 1; round <= rounds; round++) {
    const pglite = serverUrl ? undefined : await startPgliteServer({ maxConnections: 16 });
    try {
      for (const side of round % 2 === 1 ? sides : [...sides].reverse()) {
        const dbUrl = pglite ? pglite.url : await freshServerDatabase(side);
        await rm(path.join(out, 'home-vs-langchain'), { recursive: true, force: true });
        for (const phase of PHASES) results.push(await runPhase(round, side, phase, catalogs[phase], api, dbUrl));
      }
    } finally {
      await pglite?.close();
    }
  }
} finally {
  await api.close();
  await rm(path.join(out, 'home-vs-langchain'), { recursive: true, force: true });
}
if (values.json) {
  const speedups = coldSpeedups(results);
  process.stdout.write(
    `${JSON.stringify({ benchmark: 'vs-langchain', items, settings, machine: started, load_average_end: os.loadavg()[0], results, cold_speedups: speedups, cold_speedup: median(speedups.map((x) => x.speedup)) })}\n`,
  );
} else {
  printTable(results);
}
