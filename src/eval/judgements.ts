/**
 * Relevance judgement files for `itemvec eval`: which items are good answers to a query item or
 * to a free-text query, and how good (grade 0 = not relevant, 1 = relevant, 2 = very relevant …).
 *
 * JSON Lines (`.jsonl`, `.ndjson`), one judgement per line:
 *   {"query_item_id": "sku-00001", "item_id": "sku-00546", "grade": 2}
 *   {"query": "waterproof hiking boots", "item_id": "sku-00080", "grade": 1}
 * or CSV (`.csv`) with a header naming the same columns (`query_item_id` and/or `query`,
 * `item_id`, `grade`; a row fills exactly one of the two query columns).
 *
 * `grade` is a non-negative integer; when absent it is 1, so a file of plain pairs is binary
 * judgements. Every bad line is an error naming file:line, since a silently skipped judgement
 * would change the metrics without anyone noticing.
 *
 * `--judgements review` reads the marks reviewers set in the console (/ui) from the
 * review_judgements table instead of a file: readReviewJudgements.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { ExitCode, errorMessage, ItemvecError } from '../errors.js';
import type { Queryable } from '../store/db.js';
import { listMarks } from '../store/judgements.js';

/** A judgement file is missing, of an unknown kind, or has a bad line. Exit code 2, like other bad input flags. */
export class JudgementError extends ItemvecError {
  constructor(message: string, context: { file: string; line?: number }, options?: { cause?: unknown }) {
    super('JUDGEMENTS_INVALID', message, ExitCode.usage, context, options);
  }
}

export type JudgementKind = 'item' | 'text';

/** One query and its judged items. */
export interface JudgedQuery {
  /** `item`: a query item id, answered by `similar`; `text`: free text, answered by `search`. */
  kind: JudgementKind;
  /** The query item's id, or the query text. */
  query: string;
  /** Judged item id → grade. */
  grades: Map<string, number>;
  /** Line of the query's first judgement, for messages. */
  line: number;
}

export interface JudgementSet {
  file: string;
  judgements: number;
  queries: JudgedQuery[];
}

/** Largest grade accepted: gains are 2^grade − 1, and graded scales in practice stop at 3 or 4. */
const MAX_GRADE = 10;

/** Read and check a judgement file; the format follows the extension. */
export async function readJudgements(file: string): Promise<JudgementSet> {
  const format = formatOf(file);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new JudgementError(`cannot read judgement file ${file}: ${errorMessage(err)}`, { file }, { cause: err });
  }
  return parseJudgements(text, file, format);
}

export function formatOf(file: string): 'jsonl' | 'csv' {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  throw new JudgementError(`judgement file ${file}: unknown format "${ext || '(no extension)'}"; use .jsonl, .ndjson or .csv`, { file });
}

/** Parse judgements from text (`file` names it in messages). */
export function parseJudgements(text: string, file: string, format: 'jsonl' | 'csv'): JudgementSet {
  const records = format === 'csv' ? csvRecords(text, file) : jsonlRecords(text, file);
  const byQuery = new Map<string, JudgedQuery>();
  const firstLine = new Map<string, number>();
  for (const { record, line } of records) {
    const j = toJudgement(record, file, line);
    const queryKey = `${j.kind}\u0000${j.query}`;
    let q = byQuery.get(queryKey);
    if (!q) {
      q = { kind: j.kind, query: j.query, grades: new Map(), line };
      byQuery.set(queryKey, q);
    }
    const pairKey = `${queryKey}\u0000${j.itemId}`;
    const earlier = firstLine.get(pairKey);
    if (earlier !== undefined) {
      throw new JudgementError(`${file}:${line}: item "${j.itemId}" is judged twice for ${describe(j)} (first at line ${earlier})`, { file, line });
    }
    firstLine.set(pairKey, line);
    q.grades.set(j.itemId, j.grade);
  }
  return { file, judgements: records.length, queries: [...byQuery.values()] };
}

interface RawRecord {
  record: Record<string, unknown>;
  line: number;
}

function jsonlRecords(text: string, file: string): RawRecord[] {
  const out: RawRecord[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new JudgementError(`${file}:${line}: not valid JSON (${errorMessage(err)})`, { file, line });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new JudgementError(`${file}:${line}: expected a JSON object like {"query": "…", "item_id": "…", "grade": 1}`, { file, line });
    }
    out.push({ record: value as Record<string, unknown>, line });
  });
  return out;
}

function csvRecords(text: string, file: string): RawRecord[] {
  let parsed: Array<{ record: Record<string, string>; info: { lines: number } }>;
  try {
    parsed = parse(text, {
      columns: (header: string[]) => {
        const names = header.map((h) => h.trim());
        if (!names.includes('item_id') || !(names.includes('query_item_id') || names.includes('query'))) {
          throw new JudgementError(`${file}:1: the CSV header needs item_id and query_item_id or query (and optionally grade); got ${names.join(',')}`, {
            file,
            line: 1,
          });
        }
        return names;
      },
      bom: true,
      info: true,
      skip_empty_lines: true,
    }) as Array<{ record: Record<string, string>; info: { lines: number } }>;
  } catch (err) {
    if (err instanceof JudgementError) throw err;
    const line = (err as { lines?: number }).lines;
    throw new JudgementError(`${file}${line ? `:${line}` : ''}: ${errorMessage(err)}`, { file, line }, { cause: err });
  }
  // An empty CSV cell means "not given", as an absent key does in JSON.
  return parsed.map(({ record, info }) => ({
    record: Object.fromEntries(Object.entries(record).filter(([, v]) => v.trim() !== '')),
    // csv-parse counts to the record's last line; judgement rows are one line each.
    line: info.lines,
  }));
}

interface Judgement {
  kind: JudgementKind;
  query: string;
  itemId: string;
  grade: number;
}

const describe = (j: Pick<Judgement, 'kind' | 'query'>) => (j.kind === 'item' ? `query item "${j.query}"` : `query "${j.query}"`);

/** An id as the catalog stores it: a non-empty string, or an integer as its decimal string. */
function idOf(value: unknown): string | null {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  return null;
}

function toJudgement(r: Record<string, unknown>, file: string, line: number): Judgement {
  const fail = (why: string) => new JudgementError(`${file}:${line}: ${why}`, { file, line });
  const hasItemQuery = r.query_item_id !== undefined && r.query_item_id !== null;
  const hasTextQuery = r.query !== undefined && r.query !== null;
  if (hasItemQuery === hasTextQuery) throw fail('give exactly one of query_item_id (an item id) or query (free text)');
  let kind: JudgementKind;
  let query: string;
  if (hasItemQuery) {
    const id = idOf(r.query_item_id);
    if (id === null) throw fail(`query_item_id must be a non-empty string or an integer, got ${JSON.stringify(r.query_item_id)}`);
    kind = 'item';
    query = id;
  } else {
    if (typeof r.query !== 'string' || r.query.trim() === '') throw fail(`query must be non-empty text, got ${JSON.stringify(r.query)}`);
    kind = 'text';
    query = r.query.trim();
  }
  const itemId = idOf(r.item_id);
  if (itemId === null) throw fail(`item_id must be a non-empty string or an integer, got ${JSON.stringify(r.item_id)}`);
  if (kind === 'item' && itemId === query) throw fail(`item "${itemId}" is judged against itself; similar never returns the query item`);
  let grade = 1;
  if (r.grade !== undefined && r.grade !== null) {
    grade = typeof r.grade === 'string' ? Number(r.grade.trim()) : (r.grade as number);
    if (typeof grade !== 'number' || !Number.isInteger(grade) || grade < 0 || grade > MAX_GRADE) {
      throw fail(`grade must be an integer from 0 to ${MAX_GRADE}, got ${JSON.stringify(r.grade)}`);
    }
  }
  return { kind, query, itemId, grade };
}

/** What `--judgements` takes to read the review console's marks instead of a file. */
export const REVIEW_JUDGEMENTS = 'review';

/**
 * The review console's marks of an org's namespace as item→item judgements (good = grade 1, bad =
 * grade 0). Marks are kept per version; a pair judged under several versions counts once, with its
 * latest mark: the reviewer's last word on whether the item answers the query.
 */
export async function readReviewJudgements(db: Queryable, orgId: string, namespace: string): Promise<JudgementSet> {
  const marks = await listMarks(db, orgId, namespace);
  const byQuery = new Map<string, JudgedQuery>();
  // Oldest first: a later mark of the same pair overwrites an earlier one.
  marks.forEach((m, i) => {
    let q = byQuery.get(m.query_item_id);
    if (!q) {
      q = { kind: 'item', query: m.query_item_id, grades: new Map(), line: i + 1 };
      byQuery.set(m.query_item_id, q);
    }
    q.grades.set(m.item_id, m.grade);
  });
  const pairs = [...byQuery.values()].reduce((n, q) => n + q.grades.size, 0);
  const counted = pairs === marks.length ? `${marks.length} marks` : `${marks.length} marks, latest of each pair: ${pairs}`;
  return { file: `review table (${counted})`, judgements: pairs, queries: [...byQuery.values()] };
}
