/**
 * Row validation shared by every catalog reader: one raw row (a parsed JSON object, a CSV record,
 * a Parquet row, a Postgres row) in, a validated CatalogItem or a RowRejection out. Never throws.
 *
 * Plain checks rather than a schema library so every reason reads like `brand must be a string, got number`.
 */
import { accessSync, closeSync, constants as fsConstants, openSync, readSync, type Stats, statSync } from 'node:fs';
import { errorMessage, SourceError } from '../errors.js';
import { NAME_PATTERN } from '../names.js';
import type { CatalogItem, InvalidTextPolicy, RowDefaults, RowRef, RowResult } from './item.js';

export const ITEM_ID_MAX_LENGTH = 512;
/** Any 8-4-4-4-12 hex UUID (what Postgres' uuid type accepts in canonical form); version/variant not checked. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Optional text fields: absent or blank is '' (real catalogs miss brands and images), a wrong type is a rejection. */
const OPTIONAL_TEXT_FIELDS = ['brand', 'category', 'image_url'] as const;

/** A human name for the type of a value, for `got …` in reasons. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Date) return 'date';
  if (value instanceof Uint8Array) return 'bytes';
  return typeof value;
}

/** A short, quoted rendering of a value for reasons (long values are cut). */
function quote(value: string, max = 80): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(cut);
}

/** NUL, an unpaired surrogate, or U+FFFD: text that cannot be stored, or that a decoder found broken. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this rejects (Postgres text cannot store it)
const INVALID_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|\ufffd/g;

function invalidTextReason(field: string, value: string): string | null {
  INVALID_TEXT.lastIndex = 0;
  const m = INVALID_TEXT.exec(value);
  if (!m) return null;
  const byte = Buffer.byteLength(value.slice(0, m.index));
  const what =
    m[0] === '\u0000'
      ? 'a NUL character (Postgres text cannot hold one)'
      : m[0] === '\ufffd'
        ? 'U+FFFD, where the file has bytes that are not valid UTF-8'
        : 'an unpaired UTF-16 surrogate (not valid Unicode)';
  return `${field} contains ${what} at byte ${byte}`;
}

/**
 * Apply the invalid-text policy to every string of the item. Run once, here, so no reader's text
 * reaches SQL unchecked. Returns whether anything was removed.
 */
function checkText(item: CatalogItem, policy: InvalidTextPolicy): boolean {
  const fields: Array<[string, () => string | null, (v: string) => void]> = [
    ['item_id', () => item.itemId, (v) => (item.itemId = v)],
    ['title', () => item.title, (v) => (item.title = v)],
    ['description', () => item.description, (v) => (item.description = v)],
    ['brand', () => item.brand, (v) => (item.brand = v)],
    ['category', () => item.category, (v) => (item.category = v)],
    ['image_url', () => item.imageUrl, (v) => (item.imageUrl = v)],
    ['metadata_version', () => item.metadataVersion, (v) => (item.metadataVersion = v)],
    ...item.tags.map((_, i): [string, () => string, (v: string) => void] => [`tags[${i}]`, () => item.tags[i]!, (v) => (item.tags[i] = v)]),
  ];
  let cleaned = false;
  for (const [field, get, set] of fields) {
    const value = get();
    if (value === null) continue;
    const reason = invalidTextReason(field, value);
    if (reason === null) continue;
    // The id keys the item everywhere: a cleaned id could merge two items, so it is always rejected.
    if (policy === 'reject' || field === 'item_id')
      throw new FieldError(field, `${reason}; fix the source, or set catalog.invalidText to "clean" to drop such characters`);
    set(value.replace(INVALID_TEXT, ''));
    cleaned = true;
  }
  if (cleaned && (item.title ?? '') === '' && item.description === '')
    throw new FieldError('description', 'description is empty after removing invalid characters (a row needs a description or a title)');
  return cleaned;
}

class FieldError {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {}
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null;
}

function parseItemId(value: unknown): string {
  if (isAbsent(value)) throw new FieldError('item_id', 'item_id is missing');
  let id: string;
  if (typeof value === 'string') {
    id = value.trim();
  } else if (typeof value === 'bigint') {
    id = value.toString(10);
  } else if (typeof value === 'number') {
    if (!Number.isInteger(value)) {
      throw new FieldError('item_id', `item_id must be a string or an integer, got non-integer number ${value}`);
    }
    if (!Number.isSafeInteger(value)) {
      throw new FieldError('item_id', `item_id must be a string or an integer, got number ${value} beyond the safe integer range (send it as a string)`);
    }
    id = value.toString(10);
  } else {
    throw new FieldError('item_id', `item_id must be a string or an integer, got ${describeType(value)}`);
  }
  if (id.length === 0) throw new FieldError('item_id', 'item_id is empty');
  if (id.length > ITEM_ID_MAX_LENGTH) {
    throw new FieldError('item_id', `item_id is too long: ${id.length} characters (max ${ITEM_ID_MAX_LENGTH})`);
  }
  return id;
}

/**
 * The product's text: a title (`title`, or its alias `name`) and a description, at least one of
 * them non-empty. The description stays required when there is no title, as it always was.
 */
function parseText(row: Record<string, unknown>): { title: string | null; description: string } {
  const titleField = isAbsent(row.title) && !isAbsent(row.name) ? 'name' : 'title';
  const title = optionalString(titleField, row[titleField]) ?? null;
  const value = row.description;
  if (isAbsent(value)) {
    if (title !== null) return { title, description: '' };
    throw new FieldError('description', 'description is missing (a row needs a description or a title)');
  }
  if (typeof value !== 'string') throw new FieldError('description', `description must be a string, got ${describeType(value)}`);
  const description = value.trim();
  if (description.length === 0 && title === null) throw new FieldError('description', 'description is empty (a row needs a description or a title)');
  return { title, description };
}

function splitTags(list: string): string[] {
  return list
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}

function parseTags(value: unknown): string[] {
  if (isAbsent(value)) return [];
  if (typeof value === 'string') return splitTags(value);
  if (Array.isArray(value)) {
    const tags: string[] = [];
    for (let i = 0; i < value.length; i++) {
      const tag: unknown = value[i];
      if (tag === null || tag === undefined) continue;
      if (typeof tag !== 'string') throw new FieldError('tags', `tags[${i}] must be a string, got ${describeType(tag)}`);
      const trimmed = tag.trim();
      if (trimmed.length > 0) tags.push(trimmed);
    }
    return tags;
  }
  throw new FieldError('tags', `tags must be an array of strings or a comma-separated string, got ${describeType(value)}`);
}

function parseMetadataVersion(value: unknown): string | null {
  if (isAbsent(value)) return null;
  if (typeof value === 'string') {
    const v = value.trim();
    return v.length === 0 ? null : v;
  }
  if (typeof value === 'bigint') return value.toString(10);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new FieldError('metadata_version', `metadata_version must be a finite number, got ${value}`);
    return String(value);
  }
  throw new FieldError('metadata_version', `metadata_version must be a string or a number, got ${describeType(value)}`);
}

/** Optional string field: absent, null or blank → undefined (use the default); otherwise trimmed string. */
function optionalString(field: string, value: unknown): string | undefined {
  if (isAbsent(value)) return undefined;
  if (typeof value !== 'string') throw new FieldError(field, `${field} must be a string, got ${describeType(value)}`);
  const v = value.trim();
  return v.length === 0 ? undefined : v;
}

function parseOrgId(value: unknown, fallback: string): string {
  const v = optionalString('org_id', value);
  if (v === undefined) return fallback;
  if (!UUID_PATTERN.test(v)) throw new FieldError('org_id', `org_id is not a UUID: ${quote(v)}`);
  return v.toLowerCase();
}

function parseNamespace(value: unknown, fallback: string): string {
  const v = optionalString('namespace', value);
  if (v === undefined) return fallback;
  if (!NAME_PATTERN.test(v)) {
    throw new FieldError(
      'namespace',
      `namespace is not valid: ${quote(v)} (lowercase letters, digits, '_', '.', '-'; starts with a letter or digit; at most 63 characters)`,
    );
  }
  return v;
}

/**
 * Validate one raw row. `raw` is expected to be a plain object keyed by column name: `item_id`, a
 * `description` or a `title` (alias `name`) or both, optional `brand, category, image_url, tags,
 * metadata_version, org_id, namespace`; unknown extra keys are ignored.
 */
export function validateRow(raw: unknown, ref: RowRef, defaults: RowDefaults): RowResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return {
      ok: false,
      rejection: { ref, itemId: null, field: 'row', reason: `row is not an object, got ${describeType(raw)}`, raw },
    };
  }
  const row = raw as Record<string, unknown>;
  let itemId: string | null = null;
  try {
    itemId = parseItemId(row.item_id);
    const { title, description } = parseText(row);
    const [brand, category, imageUrl] = OPTIONAL_TEXT_FIELDS.map((f) => optionalString(f, row[f]) ?? '') as [string, string, string];
    const item: CatalogItem = {
      itemId,
      title,
      description,
      brand,
      category,
      imageUrl,
      tags: parseTags(row.tags),
      metadataVersion: parseMetadataVersion(row.metadata_version),
      orgId: parseOrgId(row.org_id, defaults.orgId),
      namespace: parseNamespace(row.namespace, defaults.namespace),
    };
    return checkText(item, defaults.invalidText ?? 'reject') ? { ok: true, item, ref, cleaned: true } : { ok: true, item, ref };
  } catch (err) {
    if (err instanceof FieldError) {
      return { ok: false, rejection: { ref, itemId, field: err.field, reason: err.reason, raw } };
    }
    // A bug or an exotic value (e.g. a throwing getter) — still a rejection, never a throw.
    return {
      ok: false,
      rejection: { ref, itemId, field: 'row', reason: `row could not be validated: ${err instanceof Error ? err.message : String(err)}`, raw },
    };
  }
}

/** Build a rejection for a row that could not even be parsed (bad JSON, wrong column count). */
export function rowRejection(ref: RowRef, reason: string, raw: unknown, itemId: string | null = null): RowResult {
  return { ok: false, rejection: { ref, itemId, field: 'row', reason, raw } };
}

/**
 * Check that a catalog file exists and is a readable regular file; returns its size in bytes.
 * Shared by the file readers so a missing or unreadable file is a SourceError naming the path up front.
 */
export function statCatalogFile(path: string): number {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : errorMessage(err);
    throw new SourceError(`cannot read catalog file ${path}: ${why}`, { path }, { cause: err });
  }
  if (!stats.isFile()) throw new SourceError(`cannot read catalog file ${path}: not a regular file`, { path });
  try {
    accessSync(path, fsConstants.R_OK);
  } catch (err) {
    throw new SourceError(`cannot read catalog file ${path}: ${errorMessage(err)}`, { path }, { cause: err });
  }
  return stats.size;
}

/**
 * A text catalog (JSONL, CSV) must be UTF-8 text. A compressed or UTF-16 file read as lines would
 * become thousands of rejected rows, each a line of garbage: say what the file is instead, once.
 * Reads the first 4 KiB.
 */
export function checkTextFile(path: string): void {
  const head = Buffer.alloc(4096);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const bytes = head.subarray(0, n);
  const is = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  let what: string | null = null;
  if (is(0x1f, 0x8b)) what = 'gzip-compressed: decompress it first (gunzip)';
  else if (is(0x50, 0x4b, 0x03, 0x04)) what = 'a zip archive: extract the catalog from it first';
  else if (is(0xff, 0xfe) || is(0xfe, 0xff)) what = 'UTF-16 text: convert it to UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)';
  else if (bytes.includes(0)) what = `not UTF-8 text (a NUL byte at offset ${bytes.indexOf(0)}; UTF-16 without a byte-order mark, or binary)`;
  if (what) throw new SourceError(`catalog file ${path} is ${what}`, { path });
}

/** Wrap an error raised while streaming a file into a SourceError naming the path (SourceErrors pass through). */
export function fileReadError(path: string, err: unknown, what = 'cannot read catalog file'): SourceError {
  if (err instanceof SourceError) return err;
  return new SourceError(`${what} ${path}: ${errorMessage(err)}`, { path }, { cause: err });
}
