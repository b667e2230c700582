/**
 * What "the last row wins across the whole catalog" costs: the extra read pass that counts repeated
 * item ids (src/pipeline/read.ts), against one plain read of the same file, and its memory. Writes a
 * JSONL catalog of --items rows (default 1,000,000, 1 % of ids repeated far apart), then also times
 * the two parts that grow with the catalog at 10 M rows: hashing 10 M ids and sorting 10 M
 * fingerprints (xxHash64, as the pipeline does).
 *
 *   npm run bench:duplicates -- [--items 1000000]
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import xxhash from 'xxhash-wasm';
import { openCatalog } from '../src/catalog/open.js';
import { repeatedKeys } from '../src/pipeline/read.js';

const { values } = parseArgs({ options: { items: { type: 'string', default: '1000000' } } });
const n = Number(values.items);
const defaults = { orgId: '00000000-0000-0000-0000-000000000001', namespace: 'default' };
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function writeCatalog(file: string): Promise<void> {
  const out = createWriteStream(file);
  for (let i = 0; i < n; i++) {
    // Every 100th row repeats the id of a row half the catalog earlier.
    const id = i % 100 === 99 && i > n / 2 ? `sku-${i - Math.floor(n / 2)}` : `sku-${i}`;
    const line = JSON.stringify({
      item_id: id,
      description: `A product described in a sentence or two, number ${i}.`,
      brand: 'Acme',
      category: 'Things > Stuff',
      image_url: `https://img.example.com/${i}.jpg`,
    });
    if (!out.write(`${line}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

const dir = await mkdtemp(path.join(tmpdir(), 'itemvec-bench-dups-'));
try {
  const file = path.join(dir, 'catalog.jsonl');
  await writeCatalog(file);
  console.log(`catalog: ${n.toLocaleString('en')} rows, ${mb((await stat(file)).size)}`);

  let t = performance.now();
  let rows = 0;
  for await (const r of openCatalog({ kind: 'file', path: file }, defaults).rows) if (r.ok) rows++;
  const plain = performance.now() - t;
  console.log(`one plain read + validation:        ${seconds(plain)} (${Math.round(rows / (plain / 1000)).toLocaleString('en')} rows/s)`);

  global.gc?.();
  const before = process.memoryUsage();
  t = performance.now();
  let peakRss = 0;
  const timer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  const repeats = await repeatedKeys(openCatalog({ kind: 'file', path: file }, defaults), () => true);
  clearInterval(timer);
  const pass = performance.now() - t;
  console.log(
    `counting pass (fingerprint + sort): ${seconds(pass)} (+${((pass / plain) * 100).toFixed(0)} % of a plain read); ${repeats.size.toLocaleString('en')} repeated ids`,
  );
  console.log(`memory: RSS ${mb(before.rss)} before, peak ${mb(peakRss)} during (8 bytes a row for fingerprints; only repeated ids are kept)`);

  const tenM = 10_000_000;
  const { h64 } = await xxhash();
  t = performance.now();
  const keys = new BigUint64Array(tenM);
  for (let i = 0; i < tenM; i++) keys[i] = h64(`${defaults.orgId}\0default\0sku-${i}`);
  const hashing = performance.now() - t;
  t = performance.now();
  keys.sort();
  const sorting = performance.now() - t;
  console.log(`at 10 M rows: hashing ids ${seconds(hashing)}, sorting fingerprints ${seconds(sorting)}, fingerprint array ${mb(keys.byteLength)}`);
  console.log(`extrapolated counting pass at 10 M rows: ~${seconds((pass / n) * tenM)} (a plain read: ~${seconds((plain / n) * tenM)})`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
