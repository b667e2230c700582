/** SQL for `item_embeddings` and `catalog_items`: change detection and loads. */
import type { CatalogItem } from '../catalog/item.js';
import { encodeCopyBinary, encodeVector } from './binary.js';
import type { Queryable } from './db.js';
import type { VersionKey } from './keys.js';

export interface ExistingState {
  /** Null when the item has no vector in this version yet. */
  metadataHash: string | null;
  metadataVersion: string | null;
  /** Null when the item is not in catalog_items yet. */
  attributesHash: string | null;
  /** The prompt hash its lexical document was written with (text versions); null when it has none. */
  lexicalHash: string | null;
}

/** What is stored for these items in this version, one query per batch of ids. */
export async function lookupExisting(db: Queryable, key: VersionKey, itemIds: string[]): Promise<Map<string, ExistingState>> {
  const rows = await db.query<{
    item_id: string;
    metadata_hash: string | null;
    metadata_version: string | null;
    attributes_hash: string | null;
    lexical_hash: string | null;
  }>(
    `SELECT i.item_id, e.metadata_hash, e.metadata_version, c.attributes_hash, l.metadata_hash AS lexical_hash
     FROM unnest($5::text[]) AS i(item_id)
     LEFT JOIN item_embeddings e
       ON e.org_id = $1 AND e.item_id = i.item_id AND e.namespace = $2 AND e.modality = $3 AND e.version = $4
     LEFT JOIN catalog_items c
       ON c.org_id = $1 AND c.namespace = $2 AND c.item_id = i.item_id
     LEFT JOIN lexical_documents l
       ON $3 = 'text' AND l.org_id = $1 AND l.namespace = $2 AND l.version = $4 AND l.item_id = i.item_id`,
    [key.orgId, key.namespace, key.modality, key.version, itemIds],
  );
  return new Map(
    rows.map((r) => [
      r.item_id,
      { metadataHash: r.metadata_hash, metadataVersion: r.metadata_version, attributesHash: r.attributes_hash, lexicalHash: r.lexical_hash },
    ]),
  );
}

export interface ItemVectorRow {
  itemId: string;
  vector: Float32Array;
  metadataHash: string;
  metadataVersion: string | null;
  chunkCount: number;
  tokenCount: number;
  generatedAt: Date;
}

export interface CatalogRow {
  item: CatalogItem;
  attributesHash: string;
}

const ITEM_COLUMNS =
  'org_id, namespace, modality, version, model, item_id, dims, vector, half, metadata_hash, metadata_version, chunk_count, token_count, generated_at';
const ON_CONFLICT_UPDATE = `ON CONFLICT (org_id, item_id, namespace, modality, version) DO UPDATE SET
  dims = EXCLUDED.dims, vector = EXCLUDED.vector, half = EXCLUDED.half, model = EXCLUDED.model,
  metadata_hash = EXCLUDED.metadata_hash, metadata_version = EXCLUDED.metadata_version,
  chunk_count = EXCLUDED.chunk_count, token_count = EXCLUDED.token_count, generated_at = EXCLUDED.generated_at`;

/**
 * The version a statement writes to ($1 org, $2 namespace, $3 modality, $4 version), joined as
 * `target` for its storage. The statement looks it up itself, so callers hand over float32 vectors
 * whatever the storage, through one code path, at no extra round trip. No row (an unknown version)
 * leaves the float32 column set, and the foreign key then refuses the row as before.
 */
const TARGET_VERSION = 'LEFT JOIN embedding_versions target ON target.org_id = $1 AND target.namespace = $2 AND target.modality = $3 AND target.version = $4';

/**
 * The `vector, half` values of a row: `f32` (a vector) as it is, or cast to float16 server-side for
 * a halfvec version. The cast stays outside the CASE: inside it, the planner folds the cast of a
 * constant (a single row of parameters) at plan time, for a float32 version too, which costs a
 * conversion per value and fails on values beyond float16's range.
 */
const storedAs = (f32: string, f16 = `(CASE WHEN target.storage = 'halfvec' THEN ${f32} END)::halfvec`) =>
  `CASE WHEN target.storage = 'halfvec' THEN NULL ELSE ${f32} END, ${f16}`;

/**
 * Upsert item vectors of one version. Vectors travel in binary (see binary.ts for the measured
 * difference): where one session runs every statement (PGlite; a pg transaction) as COPY BINARY
 * into a temporary staging table, then one INSERT … SELECT … ON CONFLICT; elsewhere as binary
 * parameters of one multi-row INSERT. Either way they arrive as float32, and the INSERT casts them
 * to float16 for a halfvec version (TARGET_VERSION).
 */
export async function upsertItemVectors(db: Queryable, key: VersionKey, model: string, rows: ItemVectorRow[]): Promise<void> {
  if (rows.length === 0) return;
  const fixed = [key.orgId, key.namespace, key.modality, key.version, model];
  if (db.copyBinary) {
    // Emptied before each load rather than after: at most one batch stays in it between loads.
    await db.exec(`CREATE TEMP TABLE IF NOT EXISTS item_embeddings_load (
      item_id TEXT, vector vector, metadata_hash TEXT, metadata_version TEXT, chunk_count INT, token_count INT, generated_at TIMESTAMPTZ);
      TRUNCATE item_embeddings_load`);
    await db.copyBinary(
      'item_embeddings_load',
      encodeCopyBinary(
        rows.map((r) => [
          { text: r.itemId },
          { vector: r.vector },
          { text: r.metadataHash },
          r.metadataVersion === null ? null : { text: r.metadataVersion },
          { int4: r.chunkCount },
          { int4: r.tokenCount },
          { timestamptz: r.generatedAt },
        ]),
      ),
    );
    await db.query(
      `INSERT INTO item_embeddings (${ITEM_COLUMNS})
       SELECT $1, $2, $3, $4, $5, l.item_id, vector_dims(l.vector), ${storedAs('l.vector')}, l.metadata_hash, l.metadata_version, l.chunk_count, l.token_count, l.generated_at
       FROM item_embeddings_load l ${TARGET_VERSION} ${ON_CONFLICT_UPDATE}`,
      fixed,
    );
    return;
  }
  const perRow = 7;
  // A statement takes at most 65,535 parameters.
  const maxRows = Math.floor((65_535 - fixed.length) / perRow);
  if (rows.length > maxRows) {
    for (let i = 0; i < rows.length; i += maxRows) await upsertItemVectors(db, key, model, rows.slice(i, i + maxRows));
    return;
  }
  const values = rows.map((_, i) => {
    const p = (n: number) => `$${fixed.length + i * perRow + n}`;
    return `(${p(1)}::text, ${p(2)}::vector, ${p(3)}::text, ${p(4)}::text, ${p(5)}::int, ${p(6)}::int, ${p(7)}::timestamptz)`;
  });
  await db.query(
    `INSERT INTO item_embeddings (${ITEM_COLUMNS})
     SELECT $1, $2, $3, $4, $5, r.item_id, vector_dims(r.vector), ${storedAs('r.vector')}, r.metadata_hash, r.metadata_version, r.chunk_count, r.token_count, r.generated_at
     FROM (VALUES ${values.join(', ')}) AS r(item_id, vector, metadata_hash, metadata_version, chunk_count, token_count, generated_at)
     ${TARGET_VERSION}
     ${ON_CONFLICT_UPDATE}`,
    [
      ...fixed,
      ...rows.flatMap((r) => [r.itemId, encodeVector(r.vector), r.metadataHash, r.metadataVersion, r.chunkCount, r.tokenCount, r.generatedAt.toISOString()]),
    ],
  );
}

export async function upsertCatalogItems(db: Queryable, orgId: string, namespace: string, rows: CatalogRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO catalog_items (org_id, namespace, item_id, brand, category, description, image_url, tags, metadata_version, attributes_hash, title, updated_at)
     SELECT $1, $2, r.item_id, r.brand, r.category, r.description, r.image_url,
            COALESCE((SELECT array_agg(t) FROM jsonb_array_elements_text(r.tags) t), '{}'), r.metadata_version, r.attributes_hash, r.title, now()
     FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[], $9::text[], $10::text[], $11::text[])
       AS r(item_id, brand, category, description, image_url, tags, metadata_version, attributes_hash, title)
     ON CONFLICT (org_id, namespace, item_id) DO UPDATE SET
       title = EXCLUDED.title, brand = EXCLUDED.brand, category = EXCLUDED.category, description = EXCLUDED.description, image_url = EXCLUDED.image_url,
       tags = EXCLUDED.tags, metadata_version = EXCLUDED.metadata_version, attributes_hash = EXCLUDED.attributes_hash, updated_at = now()`,
    [
      orgId,
      namespace,
      rows.map((r) => r.item.itemId),
      rows.map((r) => r.item.brand),
      rows.map((r) => r.item.category),
      rows.map((r) => r.item.description),
      rows.map((r) => r.item.imageUrl),
      // text[][] cannot be ragged, so each item's tags travel as one JSON array.
      rows.map((r) => JSON.stringify(r.item.tags)),
      rows.map((r) => r.item.metadataVersion),
      rows.map((r) => r.attributesHash),
      rows.map((r) => r.item.title),
    ],
  );
}

export interface ReusableItem {
  itemId: string;
  metadataHash: string;
  metadataVersion: string | null;
}

/**
 * The content cache: copy, inside the database, the vector of any row of this org and modality
 * that has the same metadata_hash (provider, model, dims and prompt text) into this version, for
 * each item that has one. Nothing travels to the client and no cache table holds a second copy of
 * every vector. Between a float32 and a halfvec version the copy is cast; a float32 source is
 * preferred, since a float16 one copied into a float32 version keeps float16 precision.
 * Returns the ids of the items it filled.
 */
export async function reuseVectors(db: Queryable, key: VersionKey, items: ReusableItem[]): Promise<string[]> {
  if (items.length === 0) return [];
  const rows = await db.query<{ item_id: string }>(
    `WITH wanted AS (
       SELECT * FROM unnest($5::text[], $6::text[], $7::text[]) AS w(item_id, metadata_hash, metadata_version)
     ), source AS (
       SELECT DISTINCT ON (e.metadata_hash) e.metadata_hash, e.model, e.dims, e.vector, e.half, e.chunk_count, e.token_count
       FROM item_embeddings e
       WHERE e.org_id = $1 AND e.modality = $3 AND e.metadata_hash IN (SELECT metadata_hash FROM wanted)
       ORDER BY e.metadata_hash, e.vector IS NULL, e.generated_at DESC
     )
     INSERT INTO item_embeddings (${ITEM_COLUMNS})
     SELECT $1, $2, $3, $4, s.model, w.item_id, s.dims, ${storedAs('COALESCE(s.vector, s.half::vector)', "CASE WHEN target.storage = 'halfvec' THEN COALESCE(s.half, s.vector::halfvec) END")},
            w.metadata_hash, w.metadata_version, s.chunk_count, s.token_count, now()
     FROM wanted w JOIN source s USING (metadata_hash) ${TARGET_VERSION}
     ${ON_CONFLICT_UPDATE}
     RETURNING item_id`,
    [key.orgId, key.namespace, key.modality, key.version, items.map((i) => i.itemId), items.map((i) => i.metadataHash), items.map((i) => i.metadataVersion)],
  );
  return rows.map((r) => r.item_id);
}

/** Which of these metadata hashes the content cache can serve (read-only, for --dry-run). */
export async function reusableHashes(db: Queryable, key: Pick<VersionKey, 'orgId' | 'modality'>, hashes: string[]): Promise<Set<string>> {
  if (hashes.length === 0) return new Set();
  const rows = await db.query<{ metadata_hash: string }>(
    'SELECT DISTINCT metadata_hash FROM item_embeddings WHERE org_id = $1 AND modality = $2 AND metadata_hash = ANY($3::text[])',
    [key.orgId, key.modality, hashes],
  );
  return new Set(rows.map((r) => r.metadata_hash));
}

export async function countItemVectors(db: Queryable, key: VersionKey): Promise<number> {
  const rows = await db.query<{ n: string }>(
    'SELECT count(*) AS n FROM item_embeddings WHERE org_id = $1 AND namespace = $2 AND modality = $3 AND version = $4',
    [key.orgId, key.namespace, key.modality, key.version],
  );
  return Number(rows[0]?.n ?? 0);
}

export async function getCatalogItem(
  db: Queryable,
  orgId: string,
  namespace: string,
  itemId: string,
): Promise<{ title: string | null; brand: string; category: string; description: string } | null> {
  const rows = await db.query<{ title: string | null; brand: string; category: string; description: string }>(
    'SELECT title, brand, category, description FROM catalog_items WHERE org_id = $1 AND namespace = $2 AND item_id = $3',
    [orgId, namespace, itemId],
  );
  return rows[0] ?? null;
}
