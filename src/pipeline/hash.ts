import { createHash } from 'node:crypto';
import type { CatalogItem } from '../catalog/item.js';

/**
 * The change key of an item's vector in a version: what the model saw and which model saw it.
 * Same hash → same vector, so the item is not embedded again.
 */
export function metadataHash(prompt: string, provider: string, model: string, dims: number): string {
  return createHash('sha256')
    .update(JSON.stringify([provider, model, dims, prompt]))
    .digest('hex');
}

/** Hash of every stored attribute, so tag or URL edits refresh catalog_items without re-embedding. */
export function attributesHash(item: CatalogItem): string {
  const attributes: unknown[] = [item.brand, item.category, item.description, item.imageUrl, item.tags, item.metadataVersion];
  // Appended only when present, so the hashes of catalogs without titles stay what they were.
  if (item.title !== null) attributes.push(item.title);
  return createHash('sha256').update(JSON.stringify(attributes)).digest('hex');
}
