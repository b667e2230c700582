/**
 * The tag retriever: items of the same org and namespace that share tags with the query item,
 * scored by the Jaccard overlap of their tags,
 *
 *   tag_score = |tags ∩ tags'| / |tags ∪ tags'|     (0–1)
 *
 * Tags only: brand and category are text, which the lexical retriever already weighs, and a score
 * that rewarded the same category would let an evaluation of category agreement see its own label.
 * Tags compare exactly as stored (trimmed, case kept), so the GIN index on `tags` serves the
 * overlap test. It reads `catalog_items` only, so it also finds items that have no vector yet.
 */
import type { Queryable } from '../store/db.js';
import type { VersionRecord } from '../store/versions.js';

/** The tag score of catalog row `c` against the tags in parameter `tags`, as an SQL expression. */
export function tagScoreSql(c: string, tags: string): string {
  return `COALESCE(
      cardinality(ARRAY(SELECT unnest(${c}.tags) INTERSECT SELECT unnest(${tags}::text[])))::float8
      / NULLIF(cardinality(ARRAY(SELECT unnest(${c}.tags) UNION SELECT unnest(${tags}::text[]))), 0), 0)`;
}

/** The query item as the retrievers see it. */
export interface QueryItem {
  /** It has a vector in the version: the dense retriever can answer. */
  hasVector: boolean;
  /** It has a lexical document in the version. */
  hasLexical: boolean;
  /** Its tags; null when it is not in the catalog. */
  tags: string[] | null;
}

export async function queryItem(db: Queryable, v: VersionRecord, orgId: string, itemId: string): Promise<QueryItem> {
  const [row] = await db.query<{ has_vector: boolean; has_lexical: boolean; tags: string[] | null }>(
    `SELECT EXISTS (SELECT 1 FROM item_embeddings
                    WHERE org_id = $1 AND namespace = $2 AND modality = $3 AND version = $4 AND item_id = $5) AS has_vector,
            $3 = 'text' AND EXISTS (SELECT 1 FROM lexical_documents
                    WHERE org_id = $1 AND namespace = $2 AND version = $4 AND item_id = $5) AS has_lexical,
            c.tags
     FROM (SELECT 1) AS one
     LEFT JOIN catalog_items c ON c.org_id = $1 AND c.namespace = $2 AND c.item_id = $5`,
    [orgId, v.namespace, v.modality, v.version, itemId],
  );
  return { hasVector: Boolean(row?.has_vector), hasLexical: Boolean(row?.has_lexical), tags: row?.tags ?? null };
}

/** The `limit` catalog items with the highest tag score that share a tag with the query item, best first (ties by item id). */
export async function tagCandidates(
  db: Queryable,
  v: Pick<VersionRecord, 'namespace'>,
  q: { orgId: string; itemId: string; tags: string[]; limit: number },
): Promise<Array<{ item_id: string; score: number }>> {
  if (q.tags.length === 0) return [];
  const rows = await db.query<{ item_id: string; score: number }>(
    `SELECT c.item_id, ${tagScoreSql('c', '$3')} AS score
     FROM catalog_items c
     WHERE c.org_id = $1 AND c.namespace = $2 AND c.item_id <> $4 AND c.tags && $3::text[]
     ORDER BY score DESC, c.item_id
     LIMIT $5`,
    [q.orgId, v.namespace, q.tags, q.itemId, q.limit],
  );
  return rows.map((r) => ({ item_id: r.item_id, score: Number(r.score) }));
}
