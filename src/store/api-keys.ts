/**
 * API keys of the HTTP service (`api_keys`). A key is shown once, when it is created; the table
 * keeps only its SHA-256, so neither a database copy nor a log line can hand out access. A key's id
 * is the first 12 hex digits of that hash: enough to list and revoke it, useless to authenticate.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ConfigError, NotFoundError } from '../errors.js';
import type { Queryable } from './db.js';

/** Lower-case hex SHA-256 of a key, as stored and compared. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** `ivk_` + 256 random bits (base64url): the prefix lets secret scanners recognise a leaked key. */
export function generateApiKey(): string {
  return `ivk_${randomBytes(32).toString('base64url')}`;
}

export const keyId = (sha256: string) => sha256.slice(0, 12);

export interface ApiKeyRow {
  id: string;
  org_id: string;
  label: string | null;
  created_at: Date;
  revoked_at: Date | null;
}

/** Create a key for `orgId`. The returned `key` exists nowhere else: print it once. */
export async function createApiKey(
  db: Queryable,
  opts: { orgId: string; label?: string },
): Promise<{ key: string; id: string; orgId: string; label: string | null }> {
  const key = generateApiKey();
  const sha256 = hashApiKey(key);
  await db.query('INSERT INTO api_keys (key_sha256, org_id, label) VALUES ($1, $2, $3)', [sha256, opts.orgId, opts.label ?? null]);
  return { key, id: keyId(sha256), orgId: opts.orgId, label: opts.label ?? null };
}

/** The org of an unrevoked key, by the key's SHA-256; null when there is none. */
export async function findApiKeyOrg(db: Queryable, sha256: string): Promise<string | null> {
  const rows = await db.query<{ org_id: string }>('SELECT org_id FROM api_keys WHERE key_sha256 = $1 AND revoked_at IS NULL', [sha256]);
  return rows[0]?.org_id ?? null;
}

export async function listApiKeys(db: Queryable, orgId?: string): Promise<ApiKeyRow[]> {
  const rows = await db.query<Omit<ApiKeyRow, 'id'> & { key_sha256: string }>(
    'SELECT key_sha256, org_id, label, created_at, revoked_at FROM api_keys WHERE $1::uuid IS NULL OR org_id = $1 ORDER BY created_at, key_sha256',
    [orgId ?? null],
  );
  return rows.map(({ key_sha256, ...r }) => ({ id: keyId(key_sha256), ...r }));
}

/** Revoke the key with this id (see `listApiKeys`). Revoking twice is harmless. */
export async function revokeApiKey(db: Queryable, id: string): Promise<void> {
  if (!/^[0-9a-f]{12}$/.test(id)) throw new ConfigError(`key id must be 12 hex digits as \`itemvec keys list\` prints them, got "${id}"`);
  const rows = await db.query<{ key_sha256: string }>(
    "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE key_sha256 LIKE $1 || '%' RETURNING key_sha256",
    [id],
  );
  if (rows.length === 0) throw new NotFoundError(`no API key with id ${id}`, { keyId: id });
}
