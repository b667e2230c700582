/**
 * Pipeline benchmark. Builds a catalog of N items from the shipped sample (default 10,000), and
 * for each scenario embeds it cold, then again unchanged, in a separate process whose peak RSS is
 * reported (servers it talks to run in this parent process):
 *   local      the default: USE Lite (TF.js WASM) + embedded PGlite + local Parquet folder, all in one process
 *   local-pg   USE Lite, Postgres over the wire (PGlite behind pglite-socket, in the parent): the
 *              pipeline process alone, as with DATABASE_URL in production
 *   openai     text-embedding-3-large (3072-d) against the local OpenAI-compatible server with 50 ms
 *              latency, embedded PGlite, no HNSW build (minutes at 3072-d on WASM)
 *
 *   npm run bench -- [--items 10000] [--scenario local,local-pg,openai]
 */
import { execFile } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { buildCatalog } from './catalog.js';
import { startOpenAIServer } from '../test/support/openai-server.js';
import { startPgliteServer } from '../test/support/pglite-server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'bench', '.out');
const { values } = parseArgs({ options: { items: { type: 'string', default: '10000' }, scenario: { type: 'string', default: 'local,local-pg,openai' } } });
const items = Number(values.items);
const scenarios = values.scenario!.split(',');

async function runScenario(scenario: string, catalog: string): Promise<string[]> {
  const home = path.join(out, `home-${scenario}`);
  await rm(home, { recursive: true, force: true });
  const api = scenario === 'openai' ? await startOpenAIServer({ latencyMs: 50 }) : null;
  const database = scenario === 'local-pg' ? await startPgliteServer() : null;
  const args = ['--catalog', catalog, '--home', home];
  if (api) args.push('--base-url', api.url, '--no-index');
  if (database) args.push('--database-url', database.url);
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(root, 'bench', 'run-once.ts'), ...args], {
      cwd: root,
      maxBuffer: 16 * 1024 * 1024,
    });
    const r = JSON.parse(stdout.trim().split('\n').pop()!);
    return [
      scenario,
      `${r.cold.provider}/${r.cold.model} ${r.cold.dims}-d`,
      String(r.cold.embedded),
      String(r.cold.items_per_s),
      String(r.cold.wall_s),
      api ? `${api.counters.requests} (max ${api.counters.maxInFlight} in flight)` : String(r.cold.api_calls),
      `${r.cold.latency_ms_mean}/${r.cold.latency_ms_p95}`,
      `${r.rerun.wall_s} s, ${r.rerun.api_calls} calls`,
      String(r.peak_rss_mb),
    ];
  } finally {
    await api?.close();
    await database?.close();
    await rm(home, { recursive: true, force: true });
  }
}

await mkdir(out, { recursive: true });
const catalog = await buildCatalog(items, out);
console.log(`itemvec pipeline benchmark: ${items} items · ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'} · ${Math.round(os.totalmem() / 2 ** 30)} GiB · Node ${process.version}`);
const rows: string[][] = [];
for (const scenario of scenarios) rows.push(await runScenario(scenario, catalog));
const header = ['scenario', 'model', 'embedded', 'items/s', 'wall s', 'calls', 'latency ms mean/p95', 'unchanged rerun', 'peak RSS MB'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
console.log([line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
