/**
 * Pipeline benchmark: embeds a catalog of N items (default 10,000, built from the shipped sample
 * catalog) cold, then again unchanged, and prints items/s, calls and peak RSS per scenario:
 *   local   the offline default (USE Lite on TF.js WASM) into embedded PGlite
 *   openai  text-embedding-3-large (3072-d) against the local OpenAI-compatible server with 50 ms
 *           latency, into embedded PGlite: the pipeline's own overhead without a CPU-bound model
 *
 *   npm run bench -- [--items 10000] [--scenario local|openai|all]
 */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { startOpenAIServer } from '../test/support/openai-server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'bench', '.out');
const { values } = parseArgs({ options: { items: { type: 'string', default: '10000' }, scenario: { type: 'string', default: 'all' } } });
const items = Number(values.items);
const scenarios = values.scenario === 'all' ? ['openai', 'local'] : [values.scenario!];

/** N items: the sample catalog repeated, each copy with its own id and a distinguishing phrase. */
async function buildCatalog(n: number): Promise<string> {
  const sample: Array<Record<string, unknown>> = [];
  for await (const line of createInterface({ input: createReadStream(path.join(root, 'samples', 'catalog.jsonl')) })) {
    if (line.trim()) sample.push(JSON.parse(line) as Record<string, unknown>);
  }
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const base = sample[i % sample.length]!;
    const copy = Math.floor(i / sample.length);
    lines.push(JSON.stringify({ ...base, item_id: `${base.item_id}-c${copy}`, description: `${base.description} Edition ${copy + 1}.` }));
  }
  const file = path.join(out, `catalog-${n}.jsonl`);
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

await mkdir(out, { recursive: true });
const catalog = await buildCatalog(items);
const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
console.log(`itemvec pipeline benchmark: ${items} items · ${os.cpus().length} × ${cpu} · ${Math.round(os.totalmem() / 2 ** 30)} GiB · Node ${process.version}`);

const rows: string[][] = [];
for (const scenario of scenarios) {
  const home = path.join(out, `home-${scenario}`);
  await rm(home, { recursive: true, force: true });
  const server = scenario === 'openai' ? await startOpenAIServer({ latencyMs: 50 }) : null;
  const args = [path.join(root, 'bench', 'run-once.ts'), scenario, catalog, home, ...(server ? [server.url] : [])];
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', ...args], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
  const requests = server ? `${server.counters.requests} (max ${server.counters.maxInFlight} in flight)` : '-';
  await server?.close();
  const r = JSON.parse(stdout.trim().split('\n').pop()!);
  rows.push([
    scenario,
    `${r.cold.provider}/${r.cold.model} ${r.cold.dims}-d`,
    String(r.cold.embedded),
    String(r.cold.items_per_s),
    String(r.cold.wall_s),
    scenario === 'openai' ? requests : String(r.cold.api_calls),
    `${r.cold.latency_ms_mean}/${r.cold.latency_ms_p95}`,
    `${r.rerun.wall_s} s, ${r.rerun.api_calls} calls`,
    String(r.peak_rss_mb),
  ]);
  await rm(home, { recursive: true, force: true });
}
const header = ['scenario', 'model', 'embedded', 'items/s', 'wall s', 'calls (server requests)', 'latency ms mean/p95', 'unchanged rerun', 'peak RSS MB'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
console.log([line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
