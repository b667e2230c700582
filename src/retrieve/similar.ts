/**
 * Nearest neighbours by cosine similarity over a version's partial HNSW index. Every query is
 * scoped to one org_id: a tenant never sees another's items, even for an item id both use.
 */
import { toSql } from 'pgvector';
import { ConfigError, NotFoundError } from '../errors.js';
import type { EmbeddingProvider } from '../embed/provider.js';
import type { Db } from '../store/db.js';
import { vectorIndexShape, type Modality, type VersionRecord } from '../store/versions.js';
import { resolveVersion, type BlendVersions } from './version.js';

export interface Candidate {
  item_id: string;
  /** Cosine similarity in [-1, 1]; 1 is the same direction. */
  score: number;
  version: string;
  modality: Modality;
  source: 'embedding';
  brand: string | null;
  category: string | null;
  description: string | null;
}

export interface SimilarQuery {
  orgId: string;
  namespace: string;
  modality?: Modality;
  k?: number;
  version?: string;
  blend?: BlendVersions;
  /** HNSW candidate list size; higher is more accurate and slower (pgvector default 40). */
  efSearch?: number;
}

const DEFAULT_K = 10;
const MAX_K = 1000;

function checkK(k: number): number {
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw new ConfigError(`k must be an integer from 1 to ${MAX_K}, got ${k}`);
  return k;
}

async function nearest(db: Db, v: VersionRecord, orgId: string, query: string, k: number, excludeItemId: string | null, efSearch: number): Promise<Candidate[]> {
  const shape = vectorIndexShape(v);
  return db.transaction(async (tx) => {
    await tx.exec(`SET LOCAL hnsw.ef_search = ${Math.max(efSearch, k)}; SET LOCAL hnsw.iterative_scan = relaxed_order`);
    // The inner query repeats the index's literal predicate and cast so the planner can use it;
    // relaxed_order may return neighbours slightly out of order, hence the outer ORDER BY.
    const rows = await tx.query<{ item_id: string; distance: number; brand: string | null; category: string | null; description: string | null }>(
      `WITH nn AS (
         SELECT item_id, vector::${shape.cast} <=> $2::${shape.cast} AS distance
         FROM item_embeddings
         WHERE ${shape.predicate} AND org_id = $1 AND ($3::text IS NULL OR item_id <> $3)
         ORDER BY vector::${shape.cast} <=> $2::${shape.cast}
         LIMIT $4
       )
       SELECT nn.item_id, nn.distance, c.brand, c.category, c.description
       FROM nn LEFT JOIN catalog_items c ON c.org_id = $1 AND c.namespace = $5 AND c.item_id = nn.item_id
       ORDER BY nn.distance, nn.item_id`,
      [orgId, query, excludeItemId, k, v.namespace],
    );
    return rows.map((r) => ({
      item_id: r.item_id,
      score: Math.round((1 - Number(r.distance)) * 1e6) / 1e6,
      version: v.version,
      modality: v.modality,
      source: 'embedding' as const,
      brand: r.brand,
      category: r.category,
      description: r.description,
    }));
  });
}

/** Items most similar to `itemId` (the item itself excluded). */
export async function similar(db: Db, q: SimilarQuery & { itemId: string }): Promise<{ version: VersionRecord; candidates: Candidate[] }> {
  const k = checkK(q.k ?? DEFAULT_K);
  const modality = q.modality ?? 'text';
  const version = await resolveVersion(db, { ...q, modality });
  const rows = await db.query<{ vector: string }>(
    'SELECT vector::text AS vector FROM item_embeddings WHERE org_id = $1 AND namespace = $2 AND modality = $3 AND version = $4 AND item_id = $5',
    [q.orgId, q.namespace, modality, version.version, q.itemId],
  );
  if (!rows[0]) {
    throw new NotFoundError(`item "${q.itemId}" has no ${modality} embedding in namespace "${q.namespace}", version "${version.version}"`, {
      itemId: q.itemId,
    });
  }
  return { version, candidates: await nearest(db, version, q.orgId, rows[0].vector, k, q.itemId, q.efSearch ?? 100) };
}

/** Items nearest to a query vector, or to a text embedded with the version's own model. */
export async function search(
  db: Db,
  q: SimilarQuery & ({ vector: ArrayLike<number> } | { text: string; provider: EmbeddingProvider }),
): Promise<{ version: VersionRecord; candidates: Candidate[] }> {
  const k = checkK(q.k ?? DEFAULT_K);
  const modality = q.modality ?? 'text';
  const version = await resolveVersion(db, { ...q, modality });
  let vector: ArrayLike<number>;
  if ('text' in q) {
    const p = q.provider;
    if (p.name !== version.provider || p.model !== version.model || p.dims !== version.dims) {
      throw new ConfigError(
        `version "${version.version}" was embedded with ${version.provider}/${version.model} (${version.dims}-d); ` +
          `this search uses ${p.name}/${p.model} (${p.dims}-d). Pass the same --provider/--model/--dims, or another --version.`,
      );
    }
    if (q.text.trim() === '') throw new ConfigError('search text is empty');
    [vector] = (await p.embed([q.text])).vectors as [Float32Array];
  } else {
    vector = q.vector;
  }
  if (vector.length !== version.dims) throw new ConfigError(`query vector has ${vector.length} dims; version "${version.version}" has ${version.dims}`);
  return { version, candidates: await nearest(db, version, q.orgId, toSql(Array.from(vector)) as string, k, null, q.efSearch ?? 100) };
}
