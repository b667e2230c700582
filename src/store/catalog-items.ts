/**
 * Reads of `catalog_items` for display (the review console): what a person needs to recognise an
 * item — its image URL, title, brand, category, tags and description. Writes live in embeddings.ts.
 */
import type { Queryable } from './db.js';

export interface CatalogCard {
  item_id: string;
  title: string | null;
  brand: string;
  category: string;
  description: string;
  image_url: string;
  tags: string[];
}

/** The org's catalog rows of `ids` in a namespace, by primary key; ids not in the catalog are absent from the map. */
export async function catalogCards(db: Queryable, orgId: string, namespace: string, ids: string[]): Promise<Map<string, CatalogCard>> {
  if (ids.length === 0) return new Map();
  const rows = await db.query<CatalogCard>(
    `SELECT c.item_id, c.title, c.brand, c.category, c.description, c.image_url, c.tags
     FROM unnest($3::text[]) AS i(item_id)
     JOIN catalog_items c ON c.org_id = $1 AND c.namespace = $2 AND c.item_id = i.item_id`,
    [orgId, namespace, ids],
  );
  return new Map(rows.map((r) => [r.item_id, r]));
}
