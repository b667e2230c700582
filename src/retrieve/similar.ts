/**
 * Similar items and search. `similar` merges two retrievers (see blend.ts): the tag retriever
 * (tags.ts) and nearest neighbours by cosine similarity over the version's partial HNSW index.
 * Every query is scoped to one org_id: a tenant never sees another's items, even for an item id
 * both use.
 */
import { toSql } from 'pgvector';
import { ConfigError, NotFoundError } from '../errors.js';
import type { EmbeddingProvider } from '../embed/provider.js';
import type { Db } from '../store/db.js';
import { vectorIndexShape, type Modality, type VersionRecord } from '../store/versions.js';
import { chooseMode, combine, roundScore, type CandidateSource, type RetrievalMode } from './blend.js';
import { RETRIEVE_DEFAULTS } from './defaults.js';
import { queryItem, tagCandidates, tagScoreSql, type ScoredItem, type TagProfile } from './tags.js';
import { resolveVersion, type BlendVersions } from './version.js';

export interface Candidate {
  item_id: string;
  /** The score the list is ranked by; what it means depends on `source` (README, "How scores are computed"). */
  score: number;
  version: string;
  modality: Modality;
  /** `embedding`: cosine similarity; `tags`: tag score; `blend`: weighted sum of both. */
  source: CandidateSource;
  /** Cosine similarity in [-1, 1] with the query; null when the candidate has no vector in the version. */
  embedding_score: number | null;
  /** Tag score in [0, 1] against the query item; null for `search` and for items not in the catalog. */
  tag_score: number | null;
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
  /** Parsed BLEND_EMBEDDING_VERSION: the version per namespace when the query names none. */
  blend?: BlendVersions;
  /** HNSW candidate list size; higher is more accurate and slower. Defaults: RETRIEVE_DEFAULTS. */
  efSearch?: number;
  /** Below this many tags on the query item, embeddings fill the tag list instead of blending with it. */
  minTags?: number;
  /** Weight of the embedding score in a blend, from 0 (tags only) to 1 (embedding only). */
  embeddingWeight?: number;
}

/**
 * Which retrievers answer `similar`: `auto` (default) blends or fills as the query item allows;
 * `embedding` and `tags` use one retriever alone, so an offline evaluation (src/eval) can measure
 * each against the other and against the blend.
 */
export type SimilarMode = 'auto' | 'embedding' | 'tags';

export interface SimilarResult {
  version: VersionRecord;
  /** `blend` or `fill` for `similar` (see blend.ts); `embedding` for `search`; `embedding` or `tags` when asked for one retriever. */
  mode: RetrievalMode | 'embedding' | 'tags';
  candidates: Candidate[];
}

const MAX_K = RETRIEVE_DEFAULTS.maxK;

function checkK(k: number): number {
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw new ConfigError(`k must be an integer from 1 to ${MAX_K}, got ${k}`);
  return k;
}

function checkOptions(q: SimilarQuery): { efSearch: number; minTags: number; embeddingWeight: number } {
  const efSearch = q.efSearch ?? RETRIEVE_DEFAULTS.efSearch;
  const minTags = q.minTags ?? RETRIEVE_DEFAULTS.minTags;
  const embeddingWeight = q.embeddingWeight ?? RETRIEVE_DEFAULTS.embeddingWeight;
  if (!Number.isInteger(efSearch) || efSearch < 1 || efSearch > 1000) throw new ConfigError(`efSearch must be an integer from 1 to 1000, got ${efSearch}`);
  if (!Number.isInteger(minTags) || minTags < 0) throw new ConfigError(`minTags must be a non-negative integer, got ${minTags}`);
  if (!(embeddingWeight >= 0 && embeddingWeight <= 1)) throw new ConfigError(`embeddingWeight must be from 0 to 1, got ${embeddingWeight}`);
  return { efSearch, minTags, embeddingWeight };
}

/** The query of a nearest-neighbour search: a stored item (its vector never leaves the database) or a vector. */
type Query = { itemId: string } | { vector: string };

/**
 * The nearest-neighbour SQL. Parameters: $1 org, $2 query item id or vector, $3 limit, $4 namespace,
 * $5 $6 $7 the query item's tags, category and brand (null for a vector), and for an item $8 modality, $9 version.
 * The nn CTE repeats the index's literal predicate and exact cast so the planner can use the partial
 * index; `exact` fences the ORDER BY off the index so every row of the org is measured.
 */
function nearestSql(v: VersionRecord, query: 'item' | 'vector', exact: boolean): string {
  const { cast, predicate } = vectorIndexShape(v);
  const q =
    query === 'vector'
      ? `$2::${cast}`
      : `(SELECT s.vector::${cast} FROM item_embeddings s WHERE s.org_id = $1 AND s.namespace = $4 AND s.modality = $8 AND s.version = $9 AND s.item_id = $2)`;
  const rows = `SELECT item_id, vector::${cast} <=> ${q} AS distance FROM item_embeddings
         WHERE ${predicate} AND org_id = $1${query === 'item' ? ' AND item_id <> $2' : ''}`;
  // ORDER BY the output column is ORDER BY the expression: the index can serve it, unless OFFSET 0 fences it off.
  const nn = exact ? `SELECT item_id, distance FROM (${rows} OFFSET 0) AS measured ORDER BY distance LIMIT $3` : `${rows} ORDER BY distance LIMIT $3`;
  return `WITH nn AS (
         ${nn}
       )
       SELECT nn.item_id, nn.distance, c.brand, c.category, c.description,
              ${tagScoreSql('c', { tags: '$5', category: '$6', brand: '$7' })} AS tag_score
       FROM nn LEFT JOIN catalog_items c ON c.org_id = $1 AND c.namespace = $4 AND c.item_id = nn.item_id
       ORDER BY nn.distance, nn.item_id`;
}

/**
 * The `k` nearest items of the org in version `v`, with their tag score against `profile`.
 * Iterative index scans keep a filtered query (other orgs share the index) returning k rows; if the
 * scan still stops short (hnsw.max_scan_tuples reached before k rows of a small org were found),
 * the org's rows are measured exactly instead: few by then, so that is cheap.
 */
async function nearest(db: Db, v: VersionRecord, orgId: string, query: Query, k: number, efSearch: number, profile: TagProfile | null): Promise<ScoredItem[]> {
  const kind = 'itemId' in query ? 'item' : 'vector';
  const params: unknown[] = [orgId, 'itemId' in query ? query.itemId : query.vector, k, v.namespace, profile?.tags ?? null, profile?.category ?? null, profile?.brand ?? null];
  if (kind === 'item') params.push(v.modality, v.version);
  type Row = { item_id: string; distance: number; brand: string | null; category: string | null; description: string | null; tag_score: number | null };
  let rows = await db.transaction(async (tx) => {
    await tx.exec(`SET LOCAL hnsw.ef_search = ${Math.max(efSearch, k)}; SET LOCAL hnsw.iterative_scan = relaxed_order`);
    // relaxed_order may return neighbours slightly out of order, hence the outer ORDER BY.
    return tx.query<Row>(nearestSql(v, kind, false), params);
  });
  if (rows.length < k) rows = await db.query<Row>(nearestSql(v, kind, true), params);
  return rows.map((r) => ({
    item_id: r.item_id,
    embedding_score: roundScore(1 - Number(r.distance)),
    tag_score: r.tag_score === null ? null : roundScore(Number(r.tag_score)),
    brand: r.brand,
    category: r.category,
    description: r.description,
  }));
}

const toCandidate = (v: VersionRecord) => (c: ScoredItem & { score: number; source: CandidateSource }): Candidate => ({
  item_id: c.item_id,
  score: c.score,
  version: v.version,
  modality: v.modality,
  source: c.source,
  embedding_score: c.embedding_score,
  tag_score: c.tag_score,
  brand: c.brand,
  category: c.category,
  description: c.description,
});

/**
 * Items most similar to `itemId` (the item itself excluded): tag and embedding candidates blended
 * when the item has at least `minTags` tags, otherwise the tag list filled up with embedding candidates.
 * The item must be in the catalog or have a vector in the version; otherwise NotFoundError.
 * `mode: 'embedding'` or `'tags'` asks one retriever alone (an empty list when the item has no
 * vector, or no tags).
 *
 *   const { candidates } = await similar(db, { orgId, namespace: 'default', itemId: 'sku-00001', k: 10 });
 *   await similar(db, { orgId, namespace: 'default', itemId: 'sku-00001', version: 'v2', mode: 'embedding' });
 */
export async function similar(db: Db, q: SimilarQuery & { itemId: string; mode?: SimilarMode }): Promise<SimilarResult> {
  const k = checkK(q.k ?? RETRIEVE_DEFAULTS.k);
  const { efSearch, minTags, embeddingWeight } = checkOptions(q);
  const modality = q.modality ?? 'text';
  const version = await resolveVersion(db, { ...q, modality });
  const { hasVector, profile } = await queryItem(db, version, q.orgId, q.itemId);
  if (!hasVector && !profile) {
    throw new NotFoundError(
      `item "${q.itemId}" has no ${modality} embedding in namespace "${q.namespace}", version "${version.version}", and is not in its catalog`,
      { itemId: q.itemId, namespace: q.namespace, version: version.version },
    );
  }
  if (q.mode === 'embedding') {
    const rows = hasVector ? await nearest(db, version, q.orgId, { itemId: q.itemId }, k, efSearch, profile) : [];
    return { version, mode: 'embedding', candidates: rows.map((r) => toCandidate(version)({ ...r, score: r.embedding_score ?? 0, source: 'embedding' })) };
  }
  if (q.mode === 'tags') {
    // Ranked by tag score, ties by item id only: a tags-only baseline must not borrow the embeddings' order.
    const rows = profile ? await tagCandidates(db, version, { orgId: q.orgId, itemId: q.itemId, profile, limit: k }) : [];
    return { version, mode: 'tags', candidates: rows.map((r) => toCandidate(version)({ ...r, score: r.tag_score ?? 0, source: 'tags' })) };
  }
  if (q.mode !== undefined && q.mode !== 'auto') throw new ConfigError(`mode must be auto, embedding or tags, got "${String(q.mode)}"`);
  const mode = chooseMode(profile?.tags.length ?? 0, hasVector, minTags);
  // A blend ranks by a mix of both scores, so each retriever offers more than k; a fill needs k from each.
  const pool = Math.min(MAX_K, Math.max(2 * k, 20));
  const [tagList, embeddingList] = await Promise.all([
    profile ? tagCandidates(db, version, { orgId: q.orgId, itemId: q.itemId, profile, limit: pool }) : [],
    hasVector ? nearest(db, version, q.orgId, { itemId: q.itemId }, mode === 'blend' ? pool : k, efSearch, profile) : [],
  ]);
  return { version, mode, candidates: combine(mode, k, embeddingWeight, tagList, embeddingList).map(toCandidate(version)) };
}

/**
 * Items nearest to a query vector, or to a text embedded with the version's own model (`provider`
 * must run that model; or pass a function that returns the provider for the resolved version).
 *
 *   await search(db, { orgId, namespace: 'default', text: 'waterproof hiking boots', provider, k: 5 });
 *   await search(db, { orgId, namespace: 'default', vector: [0.01, …], k: 5 });
 */
export async function search(
  db: Db,
  q: SimilarQuery & ({ vector: ArrayLike<number> } | { text: string; provider: EmbeddingProvider | ((version: VersionRecord) => Promise<EmbeddingProvider>) }),
): Promise<SimilarResult> {
  const k = checkK(q.k ?? RETRIEVE_DEFAULTS.k);
  const { efSearch } = checkOptions(q);
  const modality = q.modality ?? 'text';
  const version = await resolveVersion(db, { ...q, modality });
  let vector: ArrayLike<number>;
  if ('text' in q) {
    // A function picks the provider once the version is known (the HTTP service: one per version's model).
    const p = typeof q.provider === 'function' ? await q.provider(version) : q.provider;
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
  if (!Array.from(vector).every(Number.isFinite)) throw new ConfigError('query vector has a value that is not a finite number');
  if (Array.from(vector).every((x) => x === 0)) throw new ConfigError('query vector is all zeros: it has no direction to compare');
  const rows = await nearest(db, version, q.orgId, { vector: toSql(Array.from(vector)) as string }, k, efSearch, null);
  const candidates = rows.map((r) => toCandidate(version)({ ...r, score: r.embedding_score ?? 0, source: 'embedding' }));
  return { version, mode: 'embedding', candidates };
}
