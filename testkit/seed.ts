/** Store-level fixtures: a version, its vectors and catalog rows, written through the real store layer. */
import type { CatalogItem } from '../src/catalog/item.js';
import type { Queryable } from '../src/store/db.js';
import { type ItemVectorRow, upsertCatalogItems, upsertItemVectors } from '../src/store/embeddings.js';
import type { VersionKey } from '../src/store/keys.js';
import { writeLexicalDocuments } from '../src/store/lexical.js';
import { ensureVersion, type VersionSpec } from '../src/store/versions.js';

export const spec = (orgId: string, over: Partial<VersionSpec> = {}): VersionSpec => ({
  orgId,
  namespace: 'default',
  modality: 'text',
  version: 'v1',
  provider: 'test',
  model: 'test-512',
  dims: 512,
  promptTemplate: 'Product: {brand} {category}\nDescription: {description}',
  textSearchConfig: 'english',
  ...over,
});

export const keyOf = (s: VersionSpec): VersionKey => ({ orgId: s.orgId, namespace: s.namespace, modality: s.modality, version: s.version });

export function vectorRow(itemId: string, vector: Float32Array, metadataHash = `h-${itemId}`, over: Partial<ItemVectorRow> = {}): ItemVectorRow {
  return { itemId, vector, metadataHash, metadataVersion: null, chunkCount: 1, tokenCount: 12, generatedAt: new Date('2026-01-02T03:04:05.000Z'), ...over };
}

export function catalogItem(orgId: string, namespace: string, itemId: string, over: Partial<CatalogItem> = {}): CatalogItem {
  return {
    itemId,
    orgId,
    namespace,
    title: null,
    description: `Description of ${itemId}`,
    brand: 'Acme',
    category: 'Outdoor > Boots',
    imageUrl: `https://images.example.com/${itemId}.jpg`,
    tags: [],
    metadataVersion: null,
    ...over,
  };
}

/** Register a version and store `items` (id → vector) in it. */
export async function seed(db: Queryable, s: VersionSpec, items: Record<string, Float32Array>): Promise<void> {
  await ensureVersion(db, s);
  await upsertItemVectors(
    db,
    keyOf(s),
    s.model,
    Object.entries(items).map(([id, v]) => vectorRow(id, v)),
  );
}

/** Store catalog rows (id → fields over catalogItem's defaults) of one org and namespace. */
export async function seedCatalog(db: Queryable, orgId: string, namespace: string, items: Record<string, Partial<CatalogItem>>): Promise<void> {
  await upsertCatalogItems(
    db,
    orgId,
    namespace,
    Object.entries(items).map(([id, over]) => ({ item: catalogItem(orgId, namespace, id, over), attributesHash: `a-${id}` })),
  );
}

/** Write lexical documents (id → text) into a version, analysed with the version's configuration. */
export async function seedLexical(db: Queryable, s: VersionSpec, texts: Record<string, string>): Promise<void> {
  await writeLexicalDocuments(
    db,
    keyOf(s),
    s.textSearchConfig,
    Object.entries(texts).map(([itemId, text]) => ({ itemId, text, metadataHash: `h-${itemId}` })),
  );
}
