/**
 * itemvec vs LangChain.js on the same OpenAI-compatible server (50 ms latency) and the same
 * database (PGlite + pgvector over the wire), both started here, once, in this parent process.
 * Each side runs three phases on one N-item catalog (default 5,000), every phase in its own child
 * process so its peak RSS is its own:
 *   cold       empty tables, every item embedded
 *   unchanged  the same catalog again: nothing should be embedded
 *   changed    1 % of the items (every 100th, spread over the catalog) with a new description
 * Requests, inputs and max in flight are read from the server's counters around each phase.
 *
 *   npm run bench:peers -- [--items 5000] [--sides itemvec,langchain] [--log-level info] [--cpu-prof] [--json]
 *
 * --json prints one JSON object (machine, settings, every phase's figures) instead of the table.
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
    'log-level': { type: 'string', default: 'warn' },
    'cpu-prof': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const items = Number(values.items);
const sides = values.sides!.split(',') as Side[];

type Side = 'itemvec' | 'langchain';
type Phase = 'cold' | 'unchanged' | 'changed';
const PHASES: Phase[] = ['cold', 'unchanged', 'changed'];

interface PhaseResult {
  side: Side;
  phase: Phase;
  wallS: number;
  embedded: number;
  requests: number;
  inputs: number;
  maxInFlight: number;
  peakRssMb: number;
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

async function runPhase(side: Side, phase: Phase, catalog: string, api: OpenAIServer, dbUrl: string): Promise<PhaseResult> {
  // Counters are cumulative; in-flight peak is reset so each phase reports its own.
  const before = { requests: api.counters.requests, inputs: api.counters.inputs };
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
    side,
    phase,
    wallS: r.wall_s,
    embedded,
    requests: api.counters.requests - before.requests,
    inputs: api.counters.inputs - before.inputs,
    maxInFlight: api.counters.maxInFlight,
    peakRssMb: r.peak_rss_mb,
    note,
  };
}

function printTable(results: PhaseResult[]): void {
  const header = ['side', 'phase', 'items/s', 'wall s', 'embedded', 'requests', 'inputs', 'max in flight', 'peak RSS MB'];
  const rows = results.map((r) => [
    r.side,
    r.phase,
    (items / r.wallS).toFixed(0),
    r.wallS.toFixed(2),
    String(r.embedded),
    String(r.requests),
    String(r.inputs),
    String(r.maxInFlight),
    String(r.peakRssMb),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log([line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
  for (const r of results) if (r.note) console.log(`  ${r.side} ${r.phase}: ${r.note}`);
  const cold = (side: Side) => results.find((r) => r.side === side && r.phase === 'cold');
  const [a, b] = [cold('itemvec'), cold('langchain')];
  if (a && b) console.log(`cold items/s itemvec / LangChain.js: ${(b.wallS / a.wallS).toFixed(2)}×`);
}

ensurePeers();
await mkdir(out, { recursive: true });
await rm(path.join(out, 'home-vs-langchain'), { recursive: true, force: true });
const rows = await catalogRows(items);
const catalogs: Record<Phase, string> = {
  cold: await writeCatalog(path.join(out, `vs-catalog-${items}.jsonl`), rows),
  unchanged: path.join(out, `vs-catalog-${items}.jsonl`),
  changed: await writeCatalog(path.join(out, `vs-catalog-${items}-changed.jsonl`), changeOnePercent(rows)),
};
const started = machine();
const settings = `${items} items, text-embedding-3-large 3072-d, one local OpenAI-compatible server (50 ms latency) and one PGlite over the wire for both sides, no index`;
if (!values.json) console.log(`itemvec vs LangChain.js: ${settings} · ${machineLine(started)}`);

const api = await startOpenAIServer({ latencyMs: 50 });
const database = await startPgliteServer({ maxConnections: 16 });
const results: PhaseResult[] = [];
try {
  for (const side of sides) {
    for (const phase of PHASES) results.push(await runPhase(side, phase, catalogs[phase], api, database.url));
  }
} finally {
  await api.close();
  await database.close();
  await rm(path.join(out, 'home-vs-langchain'), { recursive: true, force: true });
}
if (values.json) {
  const cold = (side: Side) => results.find((r) => r.side === side && r.phase === 'cold');
  const [a, b] = [cold('itemvec'), cold('langchain')];
  process.stdout.write(
    `${JSON.stringify({ benchmark: 'vs-langchain', items, settings, machine: started, load_average_end: os.loadavg()[0], results, cold_speedup: a && b ? b.wallS / a.wallS : null })}\n`,
  );
} else {
  printTable(results);
}
