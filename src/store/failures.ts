/** Dead letters (`embedding_failures`): what a run could not embed, and why. */
import type { Queryable } from './db.js';
import type { VersionKey } from './keys.js';

export type FailureStage = 'extract' | 'transform' | 'embed' | 'load';

export interface FailureRecord {
  /** The item id, or null when the row had no usable one (then `sourceRef` identifies it). */
  itemId: string | null;
  sourceRef: string | null;
  stage: FailureStage;
  errorClass: string;
  field: string | null;
  message: string;
  /** The input as read, so an operator can fix and replay it. */
  payload: unknown;
}

/**
 * What a dead letter keeps of the raw row, whatever the row holds: the row is stored for a human
 * and for `failures retry`, so it must never be the reason the failure is lost. Nesting is cut at
 * MAX_DEPTH levels (a 20,000-deep row would overflow JSON.stringify), the JSON at MAX_PAYLOAD
 * characters (kept as its head), and text Postgres cannot store (NUL; an unpaired surrogate, which
 * jsonb refuses) becomes U+FFFD.
 */
export const DEAD_LETTER_LIMITS = { maxDepth: 32, maxPayloadChars: 64 * 1024, maxTextChars: 4 * 1024 } as const;

// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this replaces (Postgres text and jsonb cannot store it)
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The first `max` characters, never ending in half a surrogate pair. */
const head = (text: string, max: number) => text.slice(0, /[\ud800-\udbff]/.test(text.charAt(max - 1)) ? max - 1 : max);

/** Text Postgres can store, at most `max` characters. */
export function storableText(text: string, max: number = DEAD_LETTER_LIMITS.maxTextChars): string {
  const clean = text.replace(UNSTORABLE, '\ufffd');
  return clean.length > max ? `${head(clean, max)}… (${clean.length} characters)` : clean;
}

function storable(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return storableText(value, DEAD_LETTER_LIMITS.maxPayloadChars);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (value === null || typeof value === 'boolean') return value;
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? String(value) : value.toISOString();
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (depth >= DEAD_LETTER_LIMITS.maxDepth) return `<nested deeper than ${DEAD_LETTER_LIMITS.maxDepth} levels: cut>`;
  if (Array.isArray(value)) return value.map((v) => storable(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[storableText(k)] = storable(v, depth + 1);
  return out;
}

/** The payload as jsonb text that cannot fail to insert. */
export function payloadJson(value: unknown): string | null {
  if (value === undefined) return null;
  const json = JSON.stringify(storable(value, 0));
  if (json.length <= DEAD_LETTER_LIMITS.maxPayloadChars) return json;
  return JSON.stringify({ truncated: true, chars: json.length, head: head(json, DEAD_LETTER_LIMITS.maxPayloadChars) });
}

export async function recordFailures(db: Queryable, key: VersionKey, runId: string, failures: FailureRecord[]): Promise<void> {
  if (failures.length === 0) return;
  // Two failures of one key in a single statement would make ON CONFLICT touch a row twice.
  const byKey = new Map(failures.map((f) => [storableText(f.itemId ?? f.sourceRef ?? 'unknown'), f]));
  const rows = [...byKey.entries()];
  await db.query(
    `INSERT INTO embedding_failures
       (org_id, namespace, modality, version, run_id, failure_key, item_id, source_ref, stage, error_class, field, message, payload)
     SELECT $1, $2, $3, $4, $5, r.failure_key, r.item_id, r.source_ref, r.stage, r.error_class, r.field, r.message, r.payload
     FROM unnest($6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::jsonb[])
       AS r(failure_key, item_id, source_ref, stage, error_class, field, message, payload)
     ON CONFLICT (org_id, namespace, modality, version, failure_key) DO UPDATE SET
       run_id = EXCLUDED.run_id, item_id = EXCLUDED.item_id, source_ref = EXCLUDED.source_ref, stage = EXCLUDED.stage,
       error_class = EXCLUDED.error_class, field = EXCLUDED.field, message = EXCLUDED.message, payload = EXCLUDED.payload,
       attempts = embedding_failures.attempts + 1, last_seen = now()`,
    [
      key.orgId,
      key.namespace,
      key.modality,
      key.version,
      runId,
      rows.map(([k]) => k),
      rows.map(([, f]) => (f.itemId === null ? null : storableText(f.itemId))),
      rows.map(([, f]) => (f.sourceRef === null ? null : storableText(f.sourceRef))),
      rows.map(([, f]) => f.stage),
      rows.map(([, f]) => f.errorClass),
      rows.map(([, f]) => (f.field === null ? null : storableText(f.field))),
      rows.map(([, f]) => storableText(f.message)),
      rows.map(([, f]) => payloadJson(f.payload)),
    ],
  );
}

/** A success resolves the item's dead letter. */
export async function clearFailures(db: Queryable, key: VersionKey, itemIds: string[]): Promise<void> {
  if (itemIds.length === 0) return;
  await db.query('DELETE FROM embedding_failures WHERE org_id = $1 AND namespace = $2 AND modality = $3 AND version = $4 AND failure_key = ANY($5::text[])', [
    key.orgId,
    key.namespace,
    key.modality,
    key.version,
    itemIds,
  ]);
}

export interface FailureRow {
  namespace: string;
  modality: string;
  version: string;
  failure_key: string;
  item_id: string | null;
  run_id: string;
  stage: FailureStage;
  error_class: string;
  field: string | null;
  message: string;
  source_ref: string | null;
  attempts: number;
  first_seen: Date;
  last_seen: Date;
}

export async function listFailures(
  db: Queryable,
  filter: { orgId: string; namespace?: string; version?: string; runId?: string; limit?: number },
): Promise<FailureRow[]> {
  return db.query<FailureRow>(
    `SELECT namespace, modality, version, failure_key, item_id, run_id, stage, error_class, field, message, source_ref, attempts, first_seen, last_seen
     FROM embedding_failures
     WHERE org_id = $1 AND ($2::text IS NULL OR namespace = $2) AND ($3::text IS NULL OR version = $3) AND ($4::uuid IS NULL OR run_id = $4)
     ORDER BY last_seen DESC, failure_key LIMIT $5`,
    [filter.orgId, filter.namespace ?? null, filter.version ?? null, filter.runId ?? null, filter.limit ?? 100],
  );
}

export interface FailureFilter {
  orgId: string;
  namespace?: string;
  version?: string;
  modality?: string;
  runId?: string;
  stage?: FailureStage;
}

const FILTER_SQL = `org_id = $1 AND ($2::text IS NULL OR namespace = $2) AND ($3::text IS NULL OR version = $3)
  AND ($4::text IS NULL OR modality = $4) AND ($5::uuid IS NULL OR run_id = $5) AND ($6::text IS NULL OR stage = $6)`;
const filterParams = (f: FailureFilter) => [f.orgId, f.namespace ?? null, f.version ?? null, f.modality ?? null, f.runId ?? null, f.stage ?? null];

/** The (namespace, modality, version) groups holding failures that match, with their counts. */
export async function failureGroups(db: Queryable, filter: FailureFilter): Promise<Array<VersionKey & { failures: number }>> {
  const rows = await db.query<{ namespace: string; modality: string; version: string; failures: number }>(
    `SELECT namespace, modality, version, count(*)::int AS failures FROM embedding_failures WHERE ${FILTER_SQL}
     GROUP BY namespace, modality, version ORDER BY namespace, modality, version`,
    filterParams(filter),
  );
  return rows.map((r) => ({
    orgId: filter.orgId,
    namespace: r.namespace,
    modality: r.modality as VersionKey['modality'],
    version: r.version,
    failures: r.failures,
  }));
}

export interface ReplayableFailure {
  failureKey: string;
  sourceRef: string | null;
  payload: unknown;
}

/** Failures of one version with their payloads, in pages, so a replay streams like any catalog. */
export async function* replayableFailures(db: Queryable, key: VersionKey, filter: FailureFilter, pageSize = 500): AsyncGenerator<ReplayableFailure> {
  let after = '';
  for (;;) {
    const rows = await db.query<{ failure_key: string; source_ref: string | null; payload: unknown }>(
      `SELECT failure_key, source_ref, payload FROM embedding_failures
       WHERE ${FILTER_SQL} AND namespace = $7 AND modality = $8 AND version = $9 AND failure_key > $10
       ORDER BY failure_key LIMIT $11`,
      [...filterParams(filter), key.namespace, key.modality, key.version, after, pageSize],
    );
    for (const r of rows) yield { failureKey: r.failure_key, sourceRef: r.source_ref, payload: r.payload };
    if (rows.length < pageSize) return;
    after = rows[rows.length - 1]!.failure_key;
  }
}

/**
 * After a replay: the replayed failures this run did not record again are resolved (the loader
 * already cleared the ones it embedded; this removes the rest, e.g. items found already current).
 * Returns how many of `failureKeys` are gone.
 */
export async function resolveReplayed(db: Queryable, key: VersionKey, failureKeys: string[], replayRunId: string): Promise<number> {
  if (failureKeys.length === 0) return 0;
  const params = [key.orgId, key.namespace, key.modality, key.version, failureKeys];
  const where = 'org_id = $1 AND namespace = $2 AND modality = $3 AND version = $4 AND failure_key = ANY($5::text[])';
  await db.query(`DELETE FROM embedding_failures WHERE ${where} AND run_id <> $6`, [...params, replayRunId]);
  const [left] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM embedding_failures WHERE ${where}`, params);
  return failureKeys.length - (left?.n ?? 0);
}
