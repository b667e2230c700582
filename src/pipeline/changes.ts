/** Change detection: which items of a batch need embedding in this version, and which only new attributes. */
import type { CatalogItem } from '../catalog/item.js';
import type { EmbeddingProvider } from '../embed/provider.js';
import type { CompiledTemplate } from '../prompt/template.js';
import type { Queryable } from '../store/db.js';
import { type CatalogRow, lookupExisting } from '../store/embeddings.js';
import type { VersionKey } from '../store/keys.js';
import { attributesHash, metadataHash } from './hash.js';

export interface ChangedItem {
  item: CatalogItem;
  prompt: string;
  metadataHash: string;
  attributesHash: string;
  /** Same text as stored, but a new `metadata_version`: upstream asks for a fresh vector, so the content cache must not answer. */
  forced?: boolean;
}

/**
 * Items of one (org, namespace) → those to embed (new, prompt/model changed, or a new
 * `metadata_version`), how many are unchanged, the unchanged ones whose stored attributes (tags,
 * image URL…) are stale, and the unchanged ones whose lexical document is missing or stale (a
 * version loaded before lexical retrieval existed): those are indexed without a model call.
 * One query per batch.
 */
export async function findChanges(
  db: Queryable,
  key: VersionKey,
  items: CatalogItem[],
  template: Pick<CompiledTemplate, 'render'>,
  provider: Pick<EmbeddingProvider, 'name' | 'model' | 'dims'>,
): Promise<{ changed: ChangedItem[]; unchanged: number; attributesOnly: CatalogRow[]; lexicalOnly: ChangedItem[] }> {
  const existing = await lookupExisting(
    db,
    key,
    items.map((i) => i.itemId),
  );
  const changed: ChangedItem[] = [];
  const attributesOnly: CatalogRow[] = [];
  const lexicalOnly: ChangedItem[] = [];
  let unchanged = 0;
  for (const item of items) {
    const prompt = template.render(item);
    const hash = metadataHash(prompt, provider.name, provider.model, provider.dims);
    const attrs = attributesHash(item);
    const state = existing.get(item.itemId);
    if (state?.metadataHash === hash && (item.metadataVersion === null || item.metadataVersion === state.metadataVersion)) {
      unchanged += 1;
      if (state.attributesHash !== attrs) attributesOnly.push({ item, attributesHash: attrs });
      if (key.modality === 'text' && state.lexicalHash !== hash) lexicalOnly.push({ item, prompt, metadataHash: hash, attributesHash: attrs });
    } else {
      changed.push({ item, prompt, metadataHash: hash, attributesHash: attrs, forced: state?.metadataHash === hash });
    }
  }
  return { changed, unchanged, attributesOnly, lexicalOnly };
}

/** Items whose catalog_items row is missing or stale, with their new attributes hash (no embedding involved). */
export async function staleAttributes(db: Queryable, key: VersionKey, items: CatalogItem[]): Promise<CatalogRow[]> {
  const existing = await lookupExisting(
    db,
    key,
    items.map((i) => i.itemId),
  );
  return items.map((item) => ({ item, attributesHash: attributesHash(item) })).filter((r) => existing.get(r.item.itemId)?.attributesHash !== r.attributesHash);
}
