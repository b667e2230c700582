/**
 * Image job benchmark. Generates N product-like images (JPEG, 640×480, stripes in varied colours),
 * serves them from a local HTTP server on 127.0.0.1 in this parent process, and measures each
 * scenario in its own child process (peak RSS is the child's alone):
 *   fetch    fetch (SSRF guard, limits, sniffing) + sharp decode to 224×224, 8 at a time; no model
 *   job      `itemvec run --modality image` with the default MobileNetV2 (TF.js WASM) + PGlite,
 *            cold, then again with every image unchanged (conditional requests → 304, no model call)
 *
 *   npm run bench:images -- [--images 300] [--scenario fetch,job] [--json]
 *
 * --json prints one JSON object (machine, settings, each scenario's figures) instead of the table.
 *
 * Speed is measured here only, never asserted by tests.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import pLimit from 'p-limit';
import { loadConfig } from '../src/config.js';
import { decodeImage } from '../src/images/decode.js';
import { fetchImage } from '../src/images/fetch.js';
import { createLogger } from '../src/log.js';
import { runImageJob } from '../src/pipeline/image-job.js';
import { makeImage, startImageServer } from '../testkit/image-server.js';
import { mulberry32 } from '../testkit/random.js';
import { machine, machineLine } from './machine.js';
import { peakRssMb } from './peak-rss.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'bench', '.out', 'images');
const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '300' },
    scenario: { type: 'string', default: 'fetch,job' },
    child: { type: 'string' },
    catalog: { type: 'string' },
    allow: { type: 'string' },
    home: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

/** Child: run one scenario and print one JSON line. */
async function child(scenario: string, catalog: string, allow: string, home: string): Promise<void> {
  const config = loadConfig({
    env: {},
    overrides: { home, modality: 'image', namespace: 'bench', images: { allowHosts: [allow] }, run: { createIndex: false } },
  });
  if (scenario === 'fetch') {
    const urls = (await import('node:fs/promises')).readFile(catalog, 'utf8').then((t) =>
      t
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { image_url: string }).image_url),
    );
    const list = await urls;
    const limit = pLimit(config.images.concurrency);
    const started = performance.now();
    let bytes = 0;
    await Promise.all(
      list.map((url) =>
        limit(async () => {
          const r = await fetchImage(url, { ...config.images, allowHosts: config.images.allowHosts });
          if (r.kind !== 'image') throw new Error('unexpected 304');
          bytes += r.bytes.length;
          await decodeImage(r.bytes, { size: 224, maxPixels: config.images.maxPixels });
        }),
      ),
    );
    const wall = (performance.now() - started) / 1000;
    console.log(JSON.stringify({ images: list.length, wall_s: wall, images_per_s: list.length / wall, mb: bytes / 2 ** 20, peak_rss_mb: peakRssMb() }));
    return;
  }
  const logger = createLogger({ level: 'silent' });
  const cold = await runImageJob({ config, source: { kind: 'file', path: catalog }, logger });
  const rerun = await runImageJob({ config, source: { kind: 'file', path: catalog }, logger });
  console.log(JSON.stringify({ cold, rerun, peak_rss_mb: peakRssMb() }));
}

async function parent(): Promise<void> {
  const n = Number(values.images);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const server = await startImageServer();
  const rand = mulberry32(6);
  const colour = (): [number, number, number] => [Math.floor(rand() * 256), Math.floor(rand() * 256), Math.floor(rand() * 256)];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `p-${i}.jpg`;
    server.put(name, await makeImage({ width: 640, height: 480, color: colour(), stripes: colour(), period: 8 + Math.floor(rand() * 60) }));
    lines.push(JSON.stringify({ item_id: `img-${i}`, description: 'd', brand: 'b', category: 'c', image_url: `${server.url}/img/${name}` }));
  }
  const catalog = path.join(out, 'catalog.jsonl');
  await writeFile(catalog, `${lines.join('\n')}\n`);
  const host = machine();
  const settings = `${n} images (JPEG 640×480) over loopback, fetched 8 at a time; job: MobileNetV2 (TF.js WASM) + embedded PGlite, no index`;
  if (!values.json) console.log(`itemvec image benchmark: ${settings} · ${machineLine(host)}`);

  const rows: string[][] = [];
  const results: Array<Record<string, unknown>> = [];
  try {
    for (const scenario of values.scenario!.split(',')) {
      const home = path.join(out, `home-${scenario}`);
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', scenario, '--catalog', catalog, '--allow', server.hostPort, '--home', home],
        { cwd: root, maxBuffer: 16 * 1024 * 1024 },
      );
      const r = JSON.parse(stdout.trim().split('\n').pop()!);
      results.push({ scenario, ...r });
      if (scenario === 'fetch') {
        rows.push([
          'fetch + decode',
          '—',
          String(r.images),
          r.images_per_s.toFixed(1),
          r.wall_s.toFixed(2),
          '—',
          '—',
          `${r.mb.toFixed(1)} MB fetched`,
          String(r.peak_rss_mb),
        ]);
      } else {
        const c = r.cold;
        rows.push([
          'job (cold)',
          `${c.provider}/${c.model} ${c.dims}-d`,
          String(c.embedded),
          String(c.items_per_s),
          String(c.wall_s),
          String(c.api_calls),
          `${c.latency_ms_mean}/${c.latency_ms_p95}`,
          `${r.rerun.wall_s} s, ${r.rerun.api_calls} calls, ${r.rerun.images.not_modified} × 304`,
          String(r.peak_rss_mb),
        ]);
      }
      await rm(home, { recursive: true, force: true });
    }
  } finally {
    await server.close();
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ benchmark: 'images', images: n, settings, machine: host, load_average_end: os.loadavg()[0], results })}\n`);
    return;
  }
  const header = ['scenario', 'model', 'images', 'images/s', 'wall s', 'model calls', 'call ms mean/p95', 'unchanged rerun', 'peak RSS MB'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log([line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
}

if (values.child) await child(values.child, values.catalog!, values.allow!, values.home!);
else await parent();
