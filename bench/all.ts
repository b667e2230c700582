/**
 * Every benchmark in one run, one table. Each benchmark script runs in its own child process with
 * --json (so one cannot skew the next one's memory), its progress going to bench/.out/all-<step>.log;
 * this script collects the JSON and prints one table, with the machine and each row's settings.
 *
 *   npm run bench:all                       # the default sizes: ~10 min on 2 vCPUs
 *   npm run bench:all -- --only retrieval --retrieval-items 100000,100000
 *   npm run bench:all -- --full             # full sizes: add the local-model pipeline and 100k retrieval (over an hour on PGlite)
 *
 * Options: --only STEPS (comma list of pipeline, pipeline-large, peers, rate-limit, retrieval, images),
 * --items N (pipeline, 10000), --large-items N (pipeline-large, 100000), --peers-items N (5000),
 * --retrieval-dims (384,3072), --retrieval-items (20000,20000), --images N (300),
 * --database-url URL (retrieval on a Postgres server), --json (the collected results as one object).
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ImageRunSummary } from '../src/pipeline/image-job.js';
import { machine, machineLine } from './machine.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'bench', '.out');
const STEPS = ['pipeline', 'pipeline-large', 'peers', 'rate-limit', 'retrieval', 'images'] as const;
type Step = (typeof STEPS)[number];

const { values: o } = parseArgs({
  options: {
    only: { type: 'string' },
    full: { type: 'boolean', default: false },
    items: { type: 'string', default: '10000' },
    'large-items': { type: 'string', default: '100000' },
    'peers-items': { type: 'string', default: '5000' },
    'retrieval-dims': { type: 'string', default: '384,3072' },
    'retrieval-items': { type: 'string' },
    images: { type: 'string', default: '300' },
    'database-url': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const steps = (o.only?.split(',').map((s) => s.trim()) ?? [...STEPS]) as Step[];
for (const s of steps) if (!STEPS.includes(s)) throw new Error(`unknown step "${s}"; steps: ${STEPS.join(', ')}`);
// The HNSW build over 3072-d dominates on PGlite (~2 min at 10,000 rows, ~5 at 20,000); 100,000 takes ~33 min.
const retrievalItems = o['retrieval-items'] ?? (o.full ? '100000,100000' : '20000,20000');

/** The command line of each step (script and its flags, --json added). */
function commandOf(step: Step): string[] {
  switch (step) {
    case 'pipeline':
      return ['pipeline.ts', '--items', o.items!, '--scenario', o.full ? 'openai,local-pg,local' : 'openai'];
    case 'pipeline-large':
      return ['pipeline.ts', '--items', o['large-items']!, '--scenario', 'openai'];
    case 'peers':
      return ['vs-langchain.ts', '--items', o['peers-items']!];
    case 'rate-limit':
      return ['rate-limit.ts'];
    case 'retrieval':
      return ['retrieval.ts', '--dims', o['retrieval-dims']!, '--items', retrievalItems, ...(o['database-url'] ? ['--database-url', o['database-url']] : [])];
    case 'images':
      return ['images.ts', '--images', o.images!];
  }
}

interface StepResult {
  step: Step;
  command: string;
  wall_s: number;
  load_average: [number, number];
  result: Record<string, unknown> | null;
  error: string | null;
  log: string;
}

async function runStep(step: Step): Promise<StepResult> {
  const [script, ...args] = commandOf(step);
  const log = path.join(out, `all-${step}.log`);
  const command = `node --import tsx bench/${script} ${args.join(' ')} --json`;
  const loadBefore = os.loadavg()[0]!;
  const started = performance.now();
  process.stderr.write(`▶ ${step}: ${command} (log: ${path.relative(root, log)})\n`);
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench', script!), ...args, '--json'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logStream = createWriteStream(log);
  child.stderr.pipe(logStream);
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  logStream.end();
  const wall = Math.round((performance.now() - started) / 100) / 10;
  const loadAverage: [number, number] = [Math.round(loadBefore * 10) / 10, Math.round(os.loadavg()[0]! * 10) / 10];
  let result: Record<string, unknown> | null = null;
  let error: string | null = null;
  try {
    if (code !== 0) throw new Error(`exit code ${code}`);
    result = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  } catch (err) {
    error = `${err instanceof Error ? err.message : String(err)}; see ${path.relative(root, log)}`;
  }
  process.stderr.write(`  ${error ? `✖ ${error}` : '✔'} in ${wall} s\n`);
  return { step, command, wall_s: wall, load_average: loadAverage, result, error, log: path.relative(root, log) };
}

// ---- one table ----------------------------------------------------------------------------------

type Row = [benchmark: string, kase: string, items: string, itemsPerS: string, wall: string, requests: string, rss: string, notes: string];
type Summary = Record<string, number | string | Record<string, number>>;
const num = (x: unknown) => (typeof x === 'number' ? x.toLocaleString('en-US') : '—');
const fixed = (x: unknown, d = 1) => (typeof x === 'number' ? x.toFixed(d) : '—');

// What each step's --json prints (the fields read here): see the JSON.stringify at the end of each script.
type PipelineJson = { items: number; scenarios: Array<{ scenario: string; cold: Summary; rerun: Summary; changed: Summary; peak_rss_mb: number }> };
type PeersJson = {
  items: number;
  cold_speedup: number | null;
  results: Array<{ side: string; phase: string; wallS: number; embedded: number; requests: number; inputs: number; maxInFlight: number; peakRssMb: number }>;
};
type RateLimitJson = {
  tpm: number;
  items: number;
  wall_s: number;
  requests: number;
  share_of_limit_used: number;
  ideal_wall_s: number;
  failed: number;
  rate_limited_retries: number;
};
type Percentiles = { p50: number; p95: number; mean: number };
type RetrievalJson = {
  k: number;
  peak_rss_mb: number;
  results: Array<{ dims: number; index: string; items: number; in_process_ms: Percentiles; http_ms: Percentiles; recall_at_k: number; index_build_s: number }>;
};
type ImagesJson = {
  results: Array<
    | { scenario: 'fetch'; images: number; images_per_s: number; wall_s: number; mb: number; peak_rss_mb: number }
    | { scenario: 'job'; cold: ImageRunSummary; rerun: ImageRunSummary; peak_rss_mb: number }
  >;
};

function rowsOf(r: StepResult): Row[] {
  if (!r.result) return [[r.step, 'failed', '', '', '', '', '', r.error ?? '']];
  switch (r.step) {
    case 'pipeline':
    case 'pipeline-large': {
      const res = r.result as PipelineJson;
      return res.scenarios.flatMap((s) => {
        const [c, u, ch] = [s.cold, s.rerun, s.changed] as Summary[];
        const name = `pipeline ${num(res.items)} (${s.scenario})`;
        // items = catalog rows read; items/s over the whole run, as the run summary reports it.
        return [
          [
            name,
            `cold, ${c!.provider}/${c!.model} ${c!.dims}-d`,
            num(c!.items_seen),
            num(c!.items_per_s),
            fixed(c!.wall_s, 2),
            num(c!.api_calls),
            String(s.peak_rss_mb),
            `embedded ${num(c!.embedded)}; call latency mean/p95 ${c!.latency_ms_mean}/${c!.latency_ms_p95} ms; peak RSS of the one process of all three runs`,
          ],
          [name, 'unchanged rerun', num(u!.items_seen), num(u!.items_per_s), fixed(u!.wall_s, 2), num(u!.api_calls), '', `embedded ${num(u!.embedded)}`],
          [name, '1% changed rerun', num(ch!.items_seen), num(ch!.items_per_s), fixed(ch!.wall_s, 2), num(ch!.api_calls), '', `embedded ${num(ch!.embedded)}`],
        ] as Row[];
      });
    }
    case 'peers': {
      const res = r.result as PeersJson;
      const rows = res.results.map(
        (p): Row => [
          `vs LangChain.js ${num(res.items)}: ${p.side}`,
          p.phase === 'changed' ? '1% changed rerun' : p.phase === 'unchanged' ? 'unchanged rerun' : 'cold',
          num(res.items),
          num(Math.round(res.items / p.wallS)),
          fixed(p.wallS, 2),
          num(p.requests),
          String(p.peakRssMb),
          `embedded ${p.embedded}, ${p.inputs} inputs, max ${p.maxInFlight} in flight`,
        ],
      );
      if (typeof res.cold_speedup === 'number')
        rows.push([`vs LangChain.js ${num(res.items)}`, 'cold items/s ratio', '', '', '', '', '', `itemvec / LangChain.js = ${res.cold_speedup.toFixed(2)}×`]);
      return rows;
    }
    case 'rate-limit': {
      const res = r.result as RateLimitJson;
      return [
        [
          'rate limit',
          `${num(res.tpm)} tokens/min server limit`,
          num(res.items),
          num(Math.round(res.items / res.wall_s)),
          fixed(res.wall_s),
          num(res.requests),
          '',
          `${(res.share_of_limit_used * 100).toFixed(1)} % of the limit used (ideal ${res.ideal_wall_s} s), ${res.failed} failed, ${res.rate_limited_retries} 429s`,
        ],
      ];
    }
    case 'retrieval': {
      const res = r.result as RetrievalJson;
      return res.results.map((x, i) => [
        'retrieval',
        `${x.dims}-d ${x.index} HNSW`,
        num(x.items),
        '',
        '',
        '',
        i === 0 ? String(res.peak_rss_mb) : '',
        `similar k=${res.k} p50/p95 ${x.in_process_ms.p50}/${x.in_process_ms.p95} ms in-process, ${x.http_ms.p50}/${x.http_ms.p95} ms HTTP; recall@${res.k} ${x.recall_at_k}; index build ${x.index_build_s} s`,
      ]);
    }
    case 'images':
      return (r.result as ImagesJson).results.map(
        (x): Row =>
          x.scenario === 'fetch'
            ? ['images', 'fetch + decode', num(x.images), fixed(x.images_per_s), fixed(x.wall_s, 2), '', String(x.peak_rss_mb), `${fixed(x.mb)} MB fetched`]
            : [
                'images',
                `job cold (${x.cold.provider}/${x.cold.model})`,
                num(x.cold.embedded),
                num(x.cold.items_per_s),
                fixed(x.cold.wall_s, 2),
                num(x.cold.api_calls),
                String(x.peak_rss_mb),
                `unchanged rerun ${x.rerun.wall_s} s, ${x.rerun.api_calls} model calls, ${x.rerun.images?.not_modified ?? '?'} × 304`,
              ],
      );
  }
}

function settingsOf(r: StepResult): string {
  const res = r.result;
  if (!res) return r.command;
  const scenarios = res.scenarios as Array<{ scenario: string; settings: string }> | undefined;
  const settings = scenarios ? scenarios.map((s) => `${s.scenario}: ${s.settings}`).join('; ') : String(res.settings ?? '');
  const db = res.database ? ` · ${res.database}` : '';
  return `${settings}${db} · load average ${r.load_average[0]} → ${r.load_average[1]} · ${r.wall_s} s · ${r.command}`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

await mkdir(out, { recursive: true });
const host = machine();
const started = performance.now();
const results: StepResult[] = [];
for (const step of steps) results.push(await runStep(step));
const totalS = Math.round((performance.now() - started) / 1000);

if (o.json) {
  process.stdout.write(`${JSON.stringify({ machine: host, total_s: totalS, steps: results })}\n`);
} else {
  const date = host.date.slice(0, 10);
  console.log(`itemvec benchmarks · ${date} · ${machineLine(host)} · ${host.platform} · ${Math.round(totalS / 6) / 10} min in all`);
  console.log(table(['benchmark', 'case', 'items', 'items/s', 'wall s', 'API requests', 'peak RSS MB', 'notes'], results.flatMap(rowsOf)));
  console.log('\nSettings (each row above was produced on the machine above with these):');
  for (const r of results) console.log(`  ${r.step}: ${settingsOf(r)}`);
}
if (results.some((r) => r.error)) process.exitCode = 1;
