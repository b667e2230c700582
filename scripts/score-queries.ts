/**
 * Scores shopper queries by product type: for each query, how many of the top k results are of a
 * type the shopper would accept. A coarse but label-only check (no relevance judgements needed) for
 * real catalogs such as the Flipkart one built by scripts/flipkart-catalog.ts.
 *
 *   node --import tsx scripts/score-queries.ts --catalog bench/.out/flipkart-20k.jsonl \
 *       [--queries samples/flipkart-queries.jsonl] [--k 10] [--json] -- <search command…>
 *
 *   node --import tsx scripts/score-queries.ts --catalog bench/.out/flipkart-20k.jsonl \
 *       -- node dist/cli/bin.js search --home /tmp/fk
 *     runs, once per query and one at a time:
 *       node dist/cli/bin.js search --home /tmp/fk "analog watch for women" --k 10 --json
 *
 * The command must print JSON shaped like {"candidates": [{"item_id": "…", …}, …], …} on stdout.
 * Each returned item_id is looked up in the --catalog JSONL for its `category`; a query's score is
 * the number of the top k whose category is in the query's `types` (a missing result or an id not in
 * the catalog counts as wrong, so returning fewer than k items cannot raise the score).
 *
 * Queries file: JSON Lines, {"query": "…", "types": ["WAT"], "note": "…"} (note optional).
 * Output: a table (query, types, right/k, the result categories in rank order, runs collapsed as
 * CODE*n, `?` for ids not in the catalog) and the mean; with --json one object
 * {queries: [{query, types, right, k, categories}], mean_right}.
 *
 * Benchmarks can skip the CLI and call scoreQueries() with their own search function.
 *
 * Exit codes: 0 ok, 1 the search command failed or printed something unusable, 2 bad arguments or
 * input files.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_QUERIES = path.join(root, 'samples', 'flipkart-queries.jsonl');
const DEFAULT_K = 10;
const USAGE =
  'usage: node --import tsx scripts/score-queries.ts --catalog <catalog.jsonl> [--queries <queries.jsonl>] ' + '[--k 10] [--json] -- <search command…>\n';

export interface TypedQuery {
  query: string;
  /** Product-type codes (catalog `category` values) the shopper would accept. */
  types: string[];
  note?: string;
}

export interface QueryScore {
  query: string;
  types: string[];
  /** How many of the top k have an accepted type. */
  right: number;
  k: number;
  /** Category of each returned item in rank order (at most k); `?` when the id is not in the catalog. */
  categories: string[];
}

export interface ScoreReport {
  queries: QueryScore[];
  /** Mean of `right` over the queries (divide by k for precision@k). */
  mean_right: number;
}

/** Returns the ranked item ids for a query, best first. */
export type RunSearch = (query: string, k: number) => Promise<string[]>;

export const UNKNOWN_CATEGORY = '?';

/** Bad command-line arguments: exit 2 with the usage line. */
class UsageError extends Error {}
/** Unreadable or malformed queries/catalog file: exit 2. */
class InputError extends Error {}
/** The search command failed or printed something unusable: exit 1. */
class SearchError extends Error {}

/**
 * Scores each query on its top k results. Queries run one after another: the CLI under test may
 * hold an embedded database that does not take concurrent openers, and latency stays comparable.
 */
export async function scoreQueries(queries: TypedQuery[], runSearch: RunSearch, categoryOf: Map<string, string>, k: number): Promise<ScoreReport> {
  const scores: QueryScore[] = [];
  for (const q of queries) {
    const ids = (await runSearch(q.query, k)).slice(0, k);
    const categories = ids.map((id) => categoryOf.get(id) ?? UNKNOWN_CATEGORY);
    const accepted = new Set(q.types);
    const right = categories.filter((c) => accepted.has(c)).length;
    scores.push({ query: q.query, types: [...q.types], right, k, categories });
  }
  const mean = scores.length === 0 ? 0 : scores.reduce((sum, s) => sum + s.right, 0) / scores.length;
  return { queries: scores, mean_right: mean };
}

/** Reads JSON Lines, naming the file and line of anything that does not parse. */
function readJsonl(file: string): { value: unknown; line: number }[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const out: { value: unknown; line: number }[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    try {
      out.push({ value: JSON.parse(raw), line: i + 1 });
    } catch {
      throw new InputError(`${file}:${i + 1}: not valid JSON`);
    }
  });
  return out;
}

export function loadQueries(file: string): TypedQuery[] {
  return readJsonl(file).map(({ value, line }) => {
    const v = value as Partial<TypedQuery> | null;
    const typesOk = Array.isArray(v?.types) && v.types.length > 0 && v.types.every((t) => typeof t === 'string');
    if (typeof v?.query !== 'string' || v.query.trim() === '' || !typesOk) {
      throw new InputError(`${file}:${line}: expected {"query": "…", "types": ["CODE", …]}`);
    }
    return v as TypedQuery;
  });
}

/** item_id → category from a catalog JSONL (the converter's output or any itemvec catalog). */
export function loadCategoryMap(file: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const { value, line } of readJsonl(file)) {
    const v = value as { item_id?: unknown; category?: unknown } | null;
    if (typeof v?.item_id !== 'string' || typeof v.category !== 'string') {
      throw new InputError(`${file}:${line}: expected string item_id and category`);
    }
    map.set(v.item_id, v.category);
  }
  return map;
}

/** A RunSearch that spawns `command… <query> --k <k> --json` without a shell and reads its stdout. */
export function commandSearch(command: string[]): RunSearch {
  const [file, ...baseArgs] = command;
  if (file === undefined) throw new UsageError('no search command after --');
  return async (query, k) => {
    const args = [...baseArgs, query, '--k', String(k), '--json'];
    let stdout: string;
    try {
      ({ stdout } = await execFileAsync(file, args, { maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }));
    } catch (err) {
      const e = err as { code?: unknown; stderr?: string; message: string };
      const detail = e.stderr?.trim() || e.message;
      throw new SearchError(`search command failed (exit ${String(e.code)}): ${shellLine(file, args)}\n${detail}`);
    }
    return parseCandidates(stdout, shellLine(file, args));
  };
}

export function parseCandidates(stdout: string, what: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new SearchError(`${what} did not print JSON; stdout began:\n${stdout.slice(0, 500)}`);
  }
  const candidates = (parsed as { candidates?: unknown } | null)?.candidates;
  if (!Array.isArray(candidates)) throw new SearchError(`${what} printed JSON without a "candidates" array`);
  return candidates.map((c, i) => {
    const id = (c as { item_id?: unknown } | null)?.item_id;
    if (typeof id !== 'string') throw new SearchError(`${what}: candidates[${i}] has no string item_id`);
    return id;
  });
}

/** For error messages only: the command as one could paste it into a shell. */
function shellLine(file: string, args: string[]): string {
  const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return [file, ...args].map(quote).join(' ');
}

/** Rank-ordered categories with runs collapsed, e.g. `WAT*7 RNG WAT*2`, so a row stays short. */
export function compactCategories(categories: string[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < categories.length) {
    let j = i;
    while (categories[j + 1] === categories[i]) j++;
    const run = j - i + 1;
    parts.push(run > 1 ? `${categories[i]}*${run}` : String(categories[i]));
    i = j + 1;
  }
  return parts.join(' ') || '(none)';
}

export function formatTable(report: ScoreReport): string {
  const rows = report.queries.map((s) => [s.query, s.types.join(','), `${s.right}/${s.k}`, compactCategories(s.categories)]);
  const header = ['query', 'types', 'right', 'returned categories (rank order)'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === cells.length - 1 ? cell : cell.padEnd(widths[c] ?? 0))).join('  ');
  const k = report.queries[0]?.k ?? 0;
  const precision = k === 0 ? 0 : report.mean_right / k;
  return [
    line(header),
    ...rows.map(line),
    '',
    `mean right-type: ${report.mean_right.toFixed(2)} / ${k} over ${report.queries.length} queries (precision@${k} ${precision.toFixed(3)})`,
  ].join('\n');
}

interface CliOptions {
  catalog: string;
  queries: string;
  k: number;
  json: boolean;
  command: string[];
}

function parseCli(argv: string[]): CliOptions {
  // Everything after the first `--` is the search command, passed through untouched.
  const split = argv.indexOf('--');
  if (split === -1) throw new UsageError('missing `-- <search command…>`');
  const { values } = parseArgs({
    args: argv.slice(0, split),
    options: {
      catalog: { type: 'string' },
      queries: { type: 'string' },
      k: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.catalog === undefined) throw new UsageError('--catalog <catalog.jsonl> is required');
  const k = Number(values.k ?? DEFAULT_K);
  if (!Number.isInteger(k) || k < 1) throw new UsageError(`--k must be a positive integer, got "${values.k}"`);
  const command = argv.slice(split + 1);
  if (command.length === 0) throw new UsageError('no search command after --');
  return {
    catalog: path.resolve(values.catalog),
    queries: values.queries !== undefined ? path.resolve(values.queries) : DEFAULT_QUERIES,
    k,
    json: values.json,
    command,
  };
}

/** Warns about query types that no catalog item has: such a query can only score 0 for that type. */
function warnUnknownTypes(queries: TypedQuery[], categoryOf: Map<string, string>): void {
  const known = new Set(categoryOf.values());
  for (const q of queries) {
    const missing = q.types.filter((t) => !known.has(t));
    if (missing.length > 0) process.stderr.write(`warning: "${q.query}": no catalog item has type ${missing.join(', ')}\n`);
  }
}

async function main(argv: string[]): Promise<number> {
  try {
    const options = parseCli(argv);
    const queries = loadQueries(options.queries);
    const categoryOf = loadCategoryMap(options.catalog);
    warnUnknownTypes(queries, categoryOf);
    const report = await scoreQueries(queries, commandSearch(options.command), categoryOf, options.k);
    process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : `${formatTable(report)}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`score-queries: ${(err as Error).message}\n`);
    if (err instanceof SearchError) return 1;
    if (err instanceof InputError) return 2;
    const code = (err as { code?: unknown }).code;
    if (err instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(USAGE);
      return 2;
    }
    throw err;
  }
}

// Importing the module (a benchmark calling scoreQueries) must not run the CLI.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
