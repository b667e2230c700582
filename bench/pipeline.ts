/**
 * Pipeline benchmark. Builds a catalog of N items from the shipped sample (default 10,000), and
 * for each scenario embeds it cold, then again unchanged, then with 1 % of the descriptions changed,
 * in a separate process whose peak RSS is reported (servers it talks to run in this parent process):
 *   local      the default: USE Lite (TF.js WASM) + embedded PGlite + local Parquet folder, all in one process
 *   local-pg   USE Lite, Postgres over the wire (PGlite behind pglite-socket, in the parent): the
 *              pipeline process alone, as with DATABASE_URL in production
 *   openai     text-embedding-3-large (3072-d) against the local OpenAI-compatible server with 50 ms
 *              latency, embedded PGlite, no HNSW build (minutes at 3072-d on WASM)
 *
 *   npm run bench -- [--items 10000] [--scenario local,local-pg,openai] [--json]
 *
 * --json prints one JSON object (machine, settings, each scenario's run summaries) instead of the table.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { startOpenAIServer } from '../testkit/openai-server.js';
import { startPgliteServer } from '../testkit/pglite-server.js';
import { catalogRows, changeOnePercent, writeCatalog } from './catalog.js';
import { machine, machineLine } from './machine.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'bench', '.out');
const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '10000' },
    scenario: { type: 'string', default: 'local,local-pg,openai' },
    json: { type: 'boolean', default: false },
  },
});
const items = Number(values.items);
const scenarios = values.scenario!.split(',');

/** What each scenario runs, for the figures' settings line. */
const SETTINGS: Record<string, string> = {
  local: 'USE Lite (TF.js WASM) + embedded PGlite + local Parquet, HNSW index built',
  'local-pg': 'USE Lite + PGlite over the wire (pglite-socket in the parent), HNSW index built',
  openai: 'text-embedding-3-large 3072-d on the local OpenAI-compatible server (50 ms latency, in the parent) + embedded PGlite, no index',
};

interface ScenarioResult {
  scenario: string;
  settings: string;
  // Run summaries (src/pipeline/summary.ts) of the three runs.
  cold: Record<string, unknown>;
  rerun: Record<string, unknown>;
  changed: Record<string, unknown>;
  /** Requests the local server answered over the three runs (openai only). */
  server_requests: number | null;
  server_max_in_flight: number | null;
  peak_rss_mb: number;
}

async function runScenario(scenario: string, catalog: string, changed: string): Promise<ScenarioResult> {
  const home = path.join(out, `home-${scenario}`);
  await rm(home, { recursive: true, force: true });
  const api = scenario === 'openai' ? await startOpenAIServer({ latencyMs: 50 }) : null;
  const database = scenario === 'local-pg' ? await startPgliteServer() : null;
  const args = ['--catalog', catalog, '--changed-catalog', changed, '--home', home];
  if (api) args.push('--base-url', api.url, '--no-index');
  if (database) args.push('--database-url', database.url);
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(root, 'bench', 'run-once.ts'), ...args], {
      cwd: root,
      maxBuffer: 16 * 1024 * 1024,
    });
    const r = JSON.parse(stdout.trim().split('\n').pop()!);
    return {
      scenario,
      settings: SETTINGS[scenario] ?? scenario,
      cold: r.cold,
      rerun: r.rerun,
      changed: r.changed,
      server_requests: api ? api.counters.requests : null,
      server_max_in_flight: api ? api.counters.maxInFlight : null,
      peak_rss_mb: r.peak_rss_mb,
    };
  } finally {
    await api?.close();
    await database?.close();
    await rm(home, { recursive: true, force: true });
  }
}

await mkdir(out, { recursive: true });
const rowsOfCatalog = await catalogRows(items);
const catalog = await writeCatalog(path.join(out, `catalog-${items}.jsonl`), rowsOfCatalog);
const changedCatalog = await writeCatalog(path.join(out, `catalog-${items}-changed.jsonl`), changeOnePercent(rowsOfCatalog));
const started = machine();
if (!values.json) console.log(`itemvec pipeline benchmark: ${items} items · ${machineLine(started)}`);
const results: ScenarioResult[] = [];
for (const scenario of scenarios) results.push(await runScenario(scenario, catalog, changedCatalog));
if (values.json) {
  process.stdout.write(`${JSON.stringify({ benchmark: 'pipeline', items, machine: started, load_average_end: os.loadavg()[0], scenarios: results })}\n`);
  process.exit(0);
}
type Summary = Record<string, number | string>;
const rows = results.map((res) => {
  const [c, u, ch] = [res.cold, res.rerun, res.changed] as Summary[];
  return [
    res.scenario,
    `${c!.provider}/${c!.model} ${c!.dims}-d`,
    String(c!.embedded),
    String(c!.items_per_s),
    String(c!.wall_s),
    res.server_requests !== null ? `${c!.api_calls} (max ${res.server_max_in_flight} in flight)` : String(c!.api_calls),
    `${c!.latency_ms_mean}/${c!.latency_ms_p95}`,
    `${u!.wall_s} s, ${u!.api_calls} calls`,
    `${ch!.wall_s} s, ${ch!.embedded} items, ${ch!.api_calls} calls`,
    String(res.peak_rss_mb),
  ];
});
const header = ['scenario', 'model', 'embedded', 'items/s', 'wall s', 'calls', 'latency ms mean/p95', 'unchanged rerun', '1% changed rerun', 'peak RSS MB'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
console.log([line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
