/**
 * API key → org_id. A request names no org: its key decides which org's rows it reads, and every
 * query is scoped to that org. Keys come from the config (serve.apiKeys) and from the api_keys
 * table (`itemvec keys add`); both are compared by SHA-256, so the service never holds a table key.
 *
 * Timing: configured digests are compared with timingSafeEqual, all of them, so the time taken says
 * nothing about which entry (or how much of one) matched. The table is searched by digest through its
 * primary key; an attacker cannot steer a digest, so that lookup's timing leaks nothing useful.
 * Table hits are cached for `cacheTtlMs` (default 30 s): a revoked key stops working within that time.
 */
import { timingSafeEqual } from 'node:crypto';
import { findApiKeyOrg, hashApiKey } from '../store/api-keys.js';
import type { Queryable } from '../store/db.js';
import type { ServeSettings } from './settings.js';

export interface KeyResolver {
  /** The org of `key`, or null when the key is unknown or revoked. */
  orgFor(key: string): Promise<string | null>;
}

const MAX_CACHED = 10_000;

export function createKeyResolver(db: Queryable, configured: () => ServeSettings['apiKeys'], cacheTtlMs = 30_000): KeyResolver {
  const cache = new Map<string, { orgId: string; until: number }>();
  return {
    async orgFor(key) {
      const hex = hashApiKey(key);
      const digest = Buffer.from(hex, 'hex');
      let match: string | null = null;
      for (const entry of configured()) if (timingSafeEqual(entry.sha256, digest)) match = entry.orgId;
      if (match) return match;
      const hit = cache.get(hex);
      if (hit && hit.until > Date.now()) return hit.orgId;
      cache.delete(hex);
      const orgId = await findApiKeyOrg(db, hex);
      if (orgId) {
        if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
        cache.set(hex, { orgId, until: Date.now() + cacheTtlMs });
      }
      return orgId;
    },
  };
}

/** The key of an `Authorization: Bearer <key>` header; null when the header is missing or not Bearer. */
export function bearerKey(header: string | undefined): string | null {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return m ? m[1]! : null;
}
