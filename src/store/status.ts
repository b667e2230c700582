/**
 * `itemvec status`: per version of one org, how much of the catalog still waits for a vector.
 * Pending = items in `catalog_items` of the namespace with no row in the version: new items, and
 * items a run saw but could not embed. (An item whose text changed has a row, so it shows as
 * embedded until the next run notices the change; that needs the prompt, which only a run renders.)
 */
import type { Queryable } from './db.js';

export interface VersionStatus {
  org_id: string;
  namespace: string;
  modality: string;
  version: string;
  status: string;
  catalog_items: number;
  embedded: number;
  pending: number;
  /** Dead letters of the version (itemvec failures list). */
  failures: number;
  /** Batch API files of the version still running (any namespace: batches are per version). */
  open_batches: number;
}

export async function versionStatus(db: Queryable, filter: { orgId: string; namespace?: string }): Promise<VersionStatus[]> {
  return db.query<VersionStatus>(
    `SELECT v.org_id, v.namespace, v.modality, v.version, v.status,
       (SELECT count(*)::int FROM catalog_items c WHERE c.org_id = v.org_id AND c.namespace = v.namespace) AS catalog_items,
       (SELECT count(*)::int FROM item_embeddings e
         WHERE e.org_id = v.org_id AND e.namespace = v.namespace AND e.modality = v.modality AND e.version = v.version) AS embedded,
       (SELECT count(*)::int FROM catalog_items c
         WHERE c.org_id = v.org_id AND c.namespace = v.namespace
           AND NOT EXISTS (SELECT 1 FROM item_embeddings e WHERE e.org_id = c.org_id AND e.namespace = c.namespace AND e.item_id = c.item_id
                             AND e.modality = v.modality AND e.version = v.version)) AS pending,
       (SELECT count(*)::int FROM embedding_failures f
         WHERE f.org_id = v.org_id AND f.namespace = v.namespace AND f.modality = v.modality AND f.version = v.version) AS failures,
       (SELECT count(*)::int FROM embedding_batches b
         WHERE b.version = v.version AND b.modality = v.modality AND b.status NOT IN ('loaded', 'failed')) AS open_batches
     FROM embedding_versions v
     WHERE v.org_id = $1 AND ($2::text IS NULL OR v.namespace = $2) AND v.status <> 'retired'
     ORDER BY v.namespace, v.modality, v.version`,
    [filter.orgId, filter.namespace ?? null],
  );
}
