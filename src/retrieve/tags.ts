/**
 * The tag retriever: items of the same org and namespace that share tags with the query item,
 * scored by how much of their tags, category and brand they share. It reads `catalog_items`
 * only, so it also serves items that have no vector yet.
 *
 *   tag_score = 0.6 · |tags ∩ tags'| / |tags ∪ tags'|  +  0.25 · [same category]  +  0.15 · [same brand]
 *
 * Tags compare exactly as stored (trimmed, case kept), so the GIN index on `tags` serves the
 * overlap test. A candidate shares at least one tag with the query item; category and brand only
 * add to its score, since a whole category would otherwise tie at the same score.
 */
import type { Queryable } from '../store/db.js';
import { vectorIndexShape, type VersionRecord } from '../store/versions.js';
import { roundScore } from './blend.js';

/** Weights of the tag score; they sum to 1, so the score is in [0, 1]. */
export const TAG_SCORE_WEIGHTS = { tags: 0.6, category: 0.25, brand: 0.15 } as const;

/** What the tag score compares a candidate with. */
export interface TagProfile {
  tags: string[];
  category: string;
  brand: string;
}

/** A catalog row scored against a query item, with its embedding score when it has a vector. */
export interface ScoredItem {
  item_id: string;
  /** Cosine similarity with the query item in the version; null when either has no vector there. */
  embedding_score: number | null;
  /** Tag score against the query item; null when the candidate is not in the catalog. */
  tag_score: number | null;
  brand: string | null;
  category: string | null;
  description: string | null;
}

/**
 * The tag score of catalog row `c` against the profile in parameters $tags, $category, $brand,
 * as an SQL expression: one formula for the tag retriever and for scoring embedding candidates.
 */
export function tagScoreSql(c: string, p: { tags: string; category: string; brand: string }): string {
  const w = TAG_SCORE_WEIGHTS;
  return `(${w.tags} * COALESCE(
      cardinality(ARRAY(SELECT unnest(${c}.tags) INTERSECT SELECT unnest(${p.tags}::text[])))::float8
      / NULLIF(cardinality(ARRAY(SELECT unnest(${c}.tags) UNION SELECT unnest(${p.tags}::text[]))), 0), 0)
    + ${w.category} * (${c}.category = ${p.category})::int
    + ${w.brand} * (${c}.brand = ${p.brand})::int)`;
}

/** The query item as the retrievers see it: its catalog profile and whether it has a vector in `version`. */
export async function queryItem(
  db: Queryable,
  v: VersionRecord,
  orgId: string,
  itemId: string,
): Promise<{ hasVector: boolean; profile: TagProfile | null }> {
  const [row] = await db.query<{ has_vector: boolean; tags: string[] | null; category: string | null; brand: string | null }>(
    `SELECT EXISTS (SELECT 1 FROM item_embeddings
                    WHERE org_id = $1 AND namespace = $2 AND modality = $3 AND version = $4 AND item_id = $5) AS has_vector,
            c.tags, c.category, c.brand
     FROM (SELECT 1) AS one
     LEFT JOIN catalog_items c ON c.org_id = $1 AND c.namespace = $2 AND c.item_id = $5`,
    [orgId, v.namespace, v.modality, v.version, itemId],
  );
  const profile = row?.tags ? { tags: row.tags, category: row.category!, brand: row.brand! } : null;
  return { hasVector: Boolean(row?.has_vector), profile };
}

/**
 * The `limit` catalog items with the highest tag score that share a tag with `itemId`, best first
 * (ties by item id), each with its cosine similarity to `itemId` in version `v` when both have a vector.
 */
export async function tagCandidates(
  db: Queryable,
  v: VersionRecord,
  q: { orgId: string; itemId: string; profile: TagProfile; limit: number },
): Promise<ScoredItem[]> {
  if (q.profile.tags.length === 0) return [];
  const { cast } = vectorIndexShape(v);
  // The embedding score uses the same cast as the ANN query, so an item found by both retrievers
  // gets the same score from each. Candidates are looked up by primary key: no index scan over vectors.
  const rows = await db.query<Omit<ScoredItem, 'embedding_score'> & { distance: number | null }>(
    `WITH t AS (
       SELECT c.item_id, c.brand, c.category, c.description, ${tagScoreSql('c', { tags: '$3', category: '$4', brand: '$5' })} AS tag_score
       FROM catalog_items c
       WHERE c.org_id = $1 AND c.namespace = $2 AND c.item_id <> $6 AND c.tags && $3::text[]
       ORDER BY tag_score DESC, c.item_id
       LIMIT $7
     )
     SELECT t.*, e.vector::${cast} <=> (
              SELECT q.vector::${cast} FROM item_embeddings q
              WHERE q.org_id = $1 AND q.namespace = $2 AND q.modality = $8 AND q.version = $9 AND q.item_id = $6
            ) AS distance
     FROM t LEFT JOIN item_embeddings e
       ON e.org_id = $1 AND e.namespace = $2 AND e.modality = $8 AND e.version = $9 AND e.item_id = t.item_id
     ORDER BY t.tag_score DESC, t.item_id`,
    [q.orgId, v.namespace, q.profile.tags, q.profile.category, q.profile.brand, q.itemId, q.limit, v.modality, v.version],
  );
  return rows.map(({ distance, ...r }) => ({ ...r, tag_score: roundScore(Number(r.tag_score)), embedding_score: distance === null ? null : roundScore(1 - Number(distance)) }));
}
