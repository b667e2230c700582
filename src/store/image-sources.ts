/** SQL for `image_sources`: what the image job last fetched per item (migration 4). */
import type { Queryable } from './db.js';

export interface ImageSource {
  /** The catalog's image_url that was fetched (before redirects). */
  url: string;
  etag: string | null;
  lastModified: string | null;
  sha256: string;
  bytes: number;
  contentType: string | null;
}

/** Stored sources of these items of one (org, namespace), one query per batch. */
export async function getImageSources(db: Queryable, orgId: string, namespace: string, itemIds: string[]): Promise<Map<string, ImageSource>> {
  if (itemIds.length === 0) return new Map();
  const rows = await db.query<{
    item_id: string;
    url: string;
    etag: string | null;
    last_modified: string | null;
    sha256: string;
    bytes: number;
    content_type: string | null;
  }>(
    `SELECT item_id, url, etag, last_modified, sha256, bytes, content_type FROM image_sources
     WHERE org_id = $1 AND namespace = $2 AND item_id = ANY($3::text[])`,
    [orgId, namespace, itemIds],
  );
  return new Map(
    rows.map((r) => [r.item_id, { url: r.url, etag: r.etag, lastModified: r.last_modified, sha256: r.sha256, bytes: r.bytes, contentType: r.content_type }]),
  );
}

export interface ImageSourceUpdate {
  itemId: string;
  /** A full row after a 200; null after a 304 (only `checked_at` moves). */
  source: ImageSource | null;
}

/** Record fetches: new bytes and validators, or only that a 304 confirmed the stored ones. */
export async function recordImageSources(db: Queryable, orgId: string, namespace: string, updates: ImageSourceUpdate[]): Promise<void> {
  const full = [...new Map(updates.filter((u) => u.source).map((u) => [u.itemId, u.source!])).entries()];
  const checked = updates.filter((u) => !u.source).map((u) => u.itemId);
  if (full.length > 0) {
    await db.query(
      `INSERT INTO image_sources (org_id, namespace, item_id, url, etag, last_modified, sha256, bytes, content_type, fetched_at, checked_at)
       SELECT $1, $2, r.item_id, r.url, r.etag, r.last_modified, r.sha256, r.bytes, r.content_type, now(), now()
       FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::text[])
         AS r(item_id, url, etag, last_modified, sha256, bytes, content_type)
       ON CONFLICT (org_id, namespace, item_id) DO UPDATE SET
         url = EXCLUDED.url, etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified, sha256 = EXCLUDED.sha256,
         bytes = EXCLUDED.bytes, content_type = EXCLUDED.content_type, fetched_at = now(), checked_at = now()`,
      [
        orgId,
        namespace,
        full.map(([id]) => id),
        full.map(([, s]) => s.url),
        full.map(([, s]) => s.etag),
        full.map(([, s]) => s.lastModified),
        full.map(([, s]) => s.sha256),
        full.map(([, s]) => s.bytes),
        full.map(([, s]) => s.contentType),
      ],
    );
  }
  if (checked.length > 0) {
    await db.query('UPDATE image_sources SET checked_at = now() WHERE org_id = $1 AND namespace = $2 AND item_id = ANY($3::text[])', [
      orgId,
      namespace,
      checked,
    ]);
  }
}
