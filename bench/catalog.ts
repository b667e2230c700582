/**
 * Benchmark catalogs: the shipped sample repeated to N items, each copy with its own id and an
 * "Edition n" phrase so no two prompts are the same (a repeated prompt would let a cache or a
 * dedupe step skip work that a real catalog has to do). Shared by bench/pipeline.ts,
 * bench/vs-langchain.ts and bench/rate-limit.ts.
 */
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export type CatalogRow = Record<string, unknown> & { item_id: string; description: string };

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** N rows from samples/catalog.jsonl. */
export async function catalogRows(n: number): Promise<CatalogRow[]> {
  const sample: Array<Record<string, unknown>> = [];
  for await (const line of createInterface({ input: createReadStream(path.join(root, 'samples', 'catalog.jsonl')) })) {
    if (line.trim()) sample.push(JSON.parse(line) as Record<string, unknown>);
  }
  const rows: CatalogRow[] = [];
  for (let i = 0; i < n; i++) {
    const base = sample[i % sample.length]!;
    const copy = Math.floor(i / sample.length);
    rows.push({ ...base, item_id: `${base.item_id}-c${copy}`, description: `${base.description} Edition ${copy + 1}.` });
  }
  return rows;
}

export async function writeCatalog(file: string, rows: CatalogRow[]): Promise<string> {
  await writeFile(file, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
  return file;
}

/** Every 100th item gets a new description: 1 % of the catalog, none of them adjacent. */
export function changeOnePercent(rows: CatalogRow[]): CatalogRow[] {
  return rows.map((r, i) => (i % 100 === 50 ? { ...r, description: `${r.description} Revised: now with a recycled lining.` } : r));
}

/** `catalog-N.jsonl` in `dir`. */
export async function buildCatalog(n: number, dir: string): Promise<string> {
  return writeCatalog(path.join(dir, `catalog-${n}.jsonl`), await catalogRows(n));
}
