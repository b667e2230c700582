/**
 * Review marks (`review_judgements`): a reviewer in the console (/ui) says whether a neighbour is a
 * good (1) or bad (0) answer to a query item under one version. One row per (org, namespace,
 * version, query item, item); marking again overwrites. `itemvec eval --judgements review` reads
 * them back as relevance judgements (src/eval/judgements.ts).
 */
import type { Queryable } from './db.js';

export interface ReviewMark {
  namespace: string;
  version: string;
  query_item_id: string;
  item_id: string;
  /** 1 good, 0 bad. */
  grade: number;
  judged_at: Date;
  /** The API key's id (keyId in api-keys.ts), never the key. */
  judged_by: string;
}

export async function saveMark(db: Queryable, orgId: string, mark: Omit<ReviewMark, 'judged_at'>): Promise<void> {
  await db.query(
    `INSERT INTO review_judgements (org_id, namespace, version, query_item_id, item_id, grade, judged_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (org_id, namespace, version, query_item_id, item_id)
     DO UPDATE SET grade = EXCLUDED.grade, judged_by = EXCLUDED.judged_by, judged_at = now()`,
    [orgId, mark.namespace, mark.version, mark.query_item_id, mark.item_id, mark.grade, mark.judged_by],
  );
}

/** The marks of one query item's neighbours in one version: item id → grade. */
export async function marksFor(db: Queryable, orgId: string, key: { namespace: string; version: string; queryItemId: string }): Promise<Map<string, number>> {
  const rows = await db.query<{ item_id: string; grade: number }>(
    'SELECT item_id, grade FROM review_judgements WHERE org_id = $1 AND namespace = $2 AND version = $3 AND query_item_id = $4',
    [orgId, key.namespace, key.version, key.queryItemId],
  );
  return new Map(rows.map((r) => [r.item_id, Number(r.grade)]));
}

/** Every mark of an org's namespace, oldest first (so a later mark of the same pair comes after the earlier one). */
export async function listMarks(db: Queryable, orgId: string, namespace: string): Promise<ReviewMark[]> {
  const rows = await db.query<ReviewMark>(
    `SELECT namespace, version, query_item_id, item_id, grade, judged_at, judged_by FROM review_judgements
     WHERE org_id = $1 AND namespace = $2 ORDER BY judged_at, version, query_item_id, item_id`,
    [orgId, namespace],
  );
  return rows.map((r) => ({ ...r, grade: Number(r.grade), judged_at: new Date(r.judged_at) }));
}
