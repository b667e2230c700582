/**
 * Converts the Flipkart 20k product CSV into an itemvec catalog (JSON Lines), optionally as a
 * deterministic sample stratified by product type, for evaluating retrieval on real retail titles.
 *
 *   node --import tsx scripts/flipkart-catalog.ts
 *       → 3,000 items, bench/.out/flipkart-3000.jsonl
 *   node --import tsx scripts/flipkart-catalog.ts --sample all --out bench/.out/flipkart-20k.jsonl
 *   node --import tsx scripts/flipkart-catalog.ts --input ../shared/data/flipkart-20k.csv \
 *       --out bench/.out/flipkart-500.jsonl --sample 500 --seed itemvec
 *
 * Options (paths on the command line are relative to the current directory; the defaults are
 * relative to the repository root):
 *   --input   the CSV (default ../shared/data/flipkart-20k.csv)
 *   --out     the JSONL to write (default bench/.out/flipkart-<N>.jsonl, flipkart-20k.jsonl for all)
 *   --sample  N items, or `all` / 0 for every row (default 3000)
 *   --seed    changes which items the sample picks (default itemvec)
 *
 * Each output line is {"item_id", "title", "brand"?, "category"}:
 *   item_id  = uniq_id
 *   title    = product_name, trimmed (the CSV has no description; the pipeline accepts a title alone)
 *   brand    = brand, trimmed; the key is left out when empty (about 30% of rows)
 *   category = the first 3 letters of pid, Flipkart's product-vertical code (TSH t-shirt, WAT watch…)
 * The category is the evaluation label. It is not part of the title, so when the pipeline embeds
 * title + brand only, category agreement measures the model rather than the label.
 *
 * Sampling: each label gets floor(N·count/total) places, the places left over go to the labels with
 * the largest fractional remainders (ties by label name), and within a label items are taken in
 * order of the first 4 bytes of SHA-256(`${seed}:${uniq_id}`). Output is sorted by item_id, so the
 * same input and options always give a byte-identical file.
 *
 * Data licence: the CSV is a cut of the public "Flipkart Products" data set by PromptCloud, published
 * on Kaggle (believed CC BY-SA 4.0). Keep this attribution with any copy of the data or of files
 * derived from it, including the JSONL this script writes. See ../shared/data/README.md.
 *
 * Exit codes: 0 ok, 2 bad arguments or unusable CSV, 3 input file missing.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse/sync';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_INPUT = path.join(root, '..', 'shared', 'data', 'flipkart-20k.csv');
const DEFAULT_SAMPLE = 3000;
const DEFAULT_SEED = 'itemvec';
// From ../shared/data/README.md. A mismatch only warns: a fresh download of the same data set is
// still usable, but sample membership and any recorded scores would no longer be comparable.
const EXPECTED_SHA256 = '4519246f481232990a8a0fc088a32d6cc30d786ace1042fa7313dafae8785f8e';
const SOURCE_HINT =
  'It is the 20k-row Flipkart sample described in ../shared/data/README.md (expected at ' +
  '../shared/data/flipkart-20k.csv next to this repository). The original is the PromptCloud ' +
  '"Flipkart Products" data set on Kaggle (https://www.kaggle.com/datasets/PromptCloudHQ/flipkart-products, ' +
  'file flipkart_com-ecommerce_sample.csv); it has the same uniq_id, product_name, pid and brand columns and can ' +
  'be passed with --input (expect a checksum warning).';

export interface CatalogRow {
  item_id: string;
  title: string;
  brand?: string;
  category: string;
}

interface Options {
  input: string;
  out: string;
  /** null = every row. */
  sample: number | null;
  seed: string;
}

class UsageError extends Error {}
class MissingInputError extends Error {}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      input: { type: 'string' },
      out: { type: 'string' },
      sample: { type: 'string' },
      seed: { type: 'string' },
    },
    strict: true,
  });
  const sample = parseSample(values.sample ?? String(DEFAULT_SAMPLE));
  const defaultOut = path.join(root, 'bench', '.out', `flipkart-${sample === null ? '20k' : sample}.jsonl`);
  return {
    input: values.input !== undefined ? path.resolve(values.input) : DEFAULT_INPUT,
    out: values.out !== undefined ? path.resolve(values.out) : defaultOut,
    sample,
    seed: values.seed ?? DEFAULT_SEED,
  };
}

function parseSample(raw: string): number | null {
  if (raw === 'all') return null;
  if (!/^\d+$/.test(raw)) throw new UsageError(`--sample must be a whole number or "all", got "${raw}"`);
  const n = Number(raw);
  return n === 0 ? null : n;
}

/** Reads the CSV bytes, exiting with a pointer to the data when the file is not there. */
function readInput(file: string): Buffer {
  if (!existsSync(file)) throw new MissingInputError(`input file not found: ${file}\n${SOURCE_HINT}`);
  return readFileSync(file);
}

function checkSha256(bytes: Buffer, file: string): void {
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== EXPECTED_SHA256) {
    process.stderr.write(
      `warning: sha256 of ${file} is ${actual}, not ${EXPECTED_SHA256} (../shared/data/README.md); ` +
        'a different file gives a different sample, so results are not comparable with earlier runs\n',
    );
  }
}

/** Turns CSV records into catalog rows, skipping (and reporting) rows that cannot be used. */
function toCatalogRows(bytes: Buffer): { rows: CatalogRow[]; read: number } {
  const records = parse(bytes, { columns: true, bom: true, skip_empty_lines: true }) as Record<string, string | undefined>[];
  const first = records[0];
  for (const column of ['uniq_id', 'product_name', 'pid', 'brand']) {
    if (first !== undefined && !(column in first)) throw new UsageError(`the CSV has no "${column}" column`);
  }
  const rows: CatalogRow[] = [];
  const seen = new Set<string>();
  let skipped = 0;
  let duplicates = 0;
  for (const record of records) {
    const row = toCatalogRow(record);
    if (row === null) {
      skipped++;
      continue;
    }
    // A repeated id would make the catalog load reject or overwrite rows; keep the first.
    if (seen.has(row.item_id)) {
      duplicates++;
      continue;
    }
    seen.add(row.item_id);
    rows.push(row);
  }
  if (skipped > 0) process.stderr.write(`warning: skipped ${skipped} rows without uniq_id, product_name or a 3-letter pid\n`);
  if (duplicates > 0) process.stderr.write(`warning: skipped ${duplicates} rows repeating an earlier uniq_id\n`);
  return { rows, read: records.length };
}

function toCatalogRow(record: Record<string, string | undefined>): CatalogRow | null {
  const id = (record.uniq_id ?? '').trim();
  const title = (record.product_name ?? '').trim();
  const pid = (record.pid ?? '').trim();
  if (id === '' || title === '' || pid.length < 3) return null;
  const brand = (record.brand ?? '').trim();
  // Key order is fixed here (item_id, title, brand, category) so JSON.stringify output is stable.
  return brand === '' ? { item_id: id, title, category: pid.slice(0, 3) } : { item_id: id, title, brand, category: pid.slice(0, 3) };
}

function groupByLabel(rows: CatalogRow[]): Map<string, CatalogRow[]> {
  const groups = new Map<string, CatalogRow[]>();
  for (const row of rows) {
    const group = groups.get(row.category);
    if (group === undefined) groups.set(row.category, [row]);
    else group.push(row);
  }
  return groups;
}

/**
 * Largest-remainder allocation of n places over the labels, in proportion to their sizes. Integer
 * arithmetic throughout (n·count stays far below 2^53), so remainders compare exactly and a
 * floating-point tie can never depend on rounding.
 */
export function allocate(counts: Map<string, number>, n: number): Map<string, number> {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const quota = new Map<string, number>();
  const remainders: { label: string; rest: number }[] = [];
  let given = 0;
  for (const [label, count] of counts) {
    const share = Math.floor((n * count) / total);
    quota.set(label, share);
    remainders.push({ label, rest: (n * count) % total });
    given += share;
  }
  remainders.sort((a, b) => b.rest - a.rest || compareStrings(a.label, b.label));
  // Fewer places are left than there are labels, and a label with a place left has rest > 0, so
  // it never gets more places than it has items.
  for (const { label } of remainders.slice(0, n - given)) quota.set(label, (quota.get(label) ?? 0) + 1);
  return quota;
}

/** A stable pseudo-random rank: the same seed and id give the same position on every machine. */
function rank(seed: string, id: string): number {
  return createHash('sha256').update(`${seed}:${id}`).digest().readUInt32BE(0);
}

/** Code-unit order, not localeCompare, so the output does not depend on the machine's locale. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function stratifiedSample(rows: CatalogRow[], n: number, seed: string): CatalogRow[] {
  if (n >= rows.length) return [...rows];
  const groups = groupByLabel(rows);
  const counts = new Map([...groups].map(([label, group]) => [label, group.length] as const));
  const quota = allocate(counts, n);
  const picked: CatalogRow[] = [];
  for (const [label, group] of groups) {
    const ranked = group.map((row) => ({ row, r: rank(seed, row.item_id) })).sort((a, b) => a.r - b.r || compareStrings(a.row.item_id, b.row.item_id));
    picked.push(...ranked.slice(0, quota.get(label) ?? 0).map((x) => x.row));
  }
  return picked;
}

function toJsonl(rows: CatalogRow[]): string {
  const sorted = [...rows].sort((a, b) => compareStrings(a.item_id, b.item_id));
  return sorted.map((row) => JSON.stringify(row)).join('\n') + (sorted.length > 0 ? '\n' : '');
}

/** Short path when the file is under the current directory, absolute otherwise. */
function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative === '' || relative.startsWith('..') ? file : relative;
}

function report(read: number, written: CatalogRow[], out: string): void {
  const counts = new Map<string, number>();
  for (const row of written) counts.set(row.category, (counts.get(row.category) ?? 0) + 1);
  const withPairs = [...counts.values()].filter((c) => c >= 2).length;
  process.stderr.write(
    `rows read: ${read}\n` +
      `rows written: ${written.length} → ${displayPath(out)}\n` +
      `distinct labels: ${counts.size}\n` +
      // Only these labels can score category agreement: an item alone in its label has no neighbour
      // of the same type to find.
      `labels with >= 2 items: ${withPairs}\n`,
  );
}

function main(argv: string[]): number {
  try {
    const options = parseOptions(argv);
    const bytes = readInput(options.input);
    checkSha256(bytes, options.input);
    const { rows, read } = toCatalogRows(bytes);
    const written = options.sample === null ? rows : stratifiedSample(rows, options.sample, options.seed);
    mkdirSync(path.dirname(options.out), { recursive: true });
    writeFileSync(options.out, toJsonl(written));
    report(read, written, options.out);
    return 0;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`flipkart-catalog: ${message}\n`);
    if (err instanceof MissingInputError) return 3;
    const code = (err as { code?: unknown }).code;
    // Bad flags (node:util parseArgs) and malformed CSV (csv-parse) are the user's to fix: exit 2.
    if (err instanceof UsageError || (typeof code === 'string' && /^(ERR_PARSE_ARGS|CSV_)/.test(code))) return 2;
    throw err;
  }
}

// Importing the module (for allocate/stratifiedSample) must not run the converter.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
