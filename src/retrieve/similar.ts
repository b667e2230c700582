/**
 * Similar items and search: three retrievers, fused (fusion.ts).
 *
 * - **dense**: nearest neighbours by cosine similarity over the version's partial HNSW index;
 * - **lexical**: BM25 over the version's lexical index (src/store/lexical.ts);
 * - **tags**: tag overlap with the query item (tags.ts), for `similar` only.
 *
 * Each offers its best candidates, weighted reciprocal rank fusion orders them, and every returned
 * candidate carries each signal's own score (computed for the candidate where its list did not reach
 * it). Every query is scoped to one org_id: a tenant never sees another's items, even for an item id
 * both use.
 */
import { toSql } from 'pgvector';
import { RETRIEVE_DEFAULTS } from '../defaults.js';
import type { EmbeddingProvider } from '../embed/provider.js';
import { ConfigError, NotFoundError } from '../errors.js';
import { QUERY_RETRY_POLICY, type RetryPolicy, withRetries } from '../retry.js';
import type { Db, Queryable } from '../store/db.js';
import type { Modality } from '../store/keys.js';
import { type Bm25Settings, type LexicalQuery, lexicalScores, lexicalSearch } from '../store/lexical.js';
import { type VersionRecord, vectorIndexShape } from '../store/versions.js';
import { type FusedItem, type FusionSettings, fuse, type RankedList, roundScore, type Signal } from './fusion.js';
import { queryItem, tagCandidates, tagScoreSql } from './tags.js';
import { type BlendVersions, resolveVersion } from './version.js';

export interface Candidate {
  item_id: string;
  /** The score the list is ranked by: the fused score, or the one signal's score in a single-signal mode. */
  score: number;
  version: string;
  modality: Modality;
  /** Cosine similarity in [-1, 1] with the query; null when the candidate has no vector in the version. */
  dense_score: number | null;
  /** BM25 score for the query's terms (≥ 0); null when it shares none of the terms used, or for image versions and vector queries. */
  lexical_score: number | null;
  /** Tag overlap with the query item in [0, 1]; null for search and for items not in the catalog. */
  tag_score: number | null;
  /** Rank in each signal's candidate list (1 = best); null when that list did not return it. */
  ranks: Record<Signal, number | null>;
  title: string | null;
  brand: string | null;
  category: string | null;
  description: string | null;
}

/** `fused` (default): every available signal fused; or one signal alone, e.g. to measure it (src/eval). */
export type RetrievalMode = 'fused' | Signal;
export const RETRIEVAL_MODES: readonly RetrievalMode[] = ['fused', 'dense', 'lexical', 'tags'];

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
  mode?: RetrievalMode;
  /** Signal weights and the RRF constant (the namespace's own: options.ts, fusionFor). */
  fusion?: FusionSettings;
  lexical?: Partial<Bm25Settings>;
}

export interface SimilarResult {
  version: VersionRecord;
  mode: RetrievalMode;
  /** The fusion settings the candidates were ranked with (fused mode). */
  fusion: FusionSettings;
  candidates: Candidate[];
}

const MAX_K = RETRIEVE_DEFAULTS.maxK;

function checkK(k: number): number {
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw new ConfigError(`k must be an integer from 1 to ${MAX_K}, got ${k}`);
  return k;
}

interface Checked {
  k: number;
  mode: RetrievalMode;
  efSearch: number;
  fusion: FusionSettings;
  bm25: Bm25Settings;
  /** Candidates each signal offers the fusion. */
  depth: number;
}

function check(q: SimilarQuery): Checked {
  const k = checkK(q.k ?? RETRIEVE_DEFAULTS.k);
  const mode = q.mode ?? 'fused';
  if (!RETRIEVAL_MODES.includes(mode)) throw new ConfigError(`mode must be one of ${RETRIEVAL_MODES.join(', ')}, got "${String(mode)}"`);
  const efSearch = q.efSearch ?? RETRIEVE_DEFAULTS.efSearch;
  if (!Number.isInteger(efSearch) || efSearch < 1 || efSearch > 1000) throw new ConfigError(`efSearch must be an integer from 1 to 1000, got ${efSearch}`);
  const fusion = q.fusion ?? RETRIEVE_DEFAULTS.fusion;
  for (const s of ['dense', 'lexical', 'tags'] as const) {
    if (!(fusion[s] >= 0)) throw new ConfigError(`fusion weight ${s} must be a number ≥ 0, got ${fusion[s]}`);
  }
  if (!(Number.isInteger(fusion.rrfK) && fusion.rrfK >= 1)) throw new ConfigError(`fusion rrfK must be a positive integer, got ${fusion.rrfK}`);
  const bm25 = { ...RETRIEVE_DEFAULTS.lexical, ...q.lexical };
  // A fused list ranks by evidence from several lists, so each offers more than k.
  const depth = mode === 'fused' ? Math.min(MAX_K, Math.max(2 * k, RETRIEVE_DEFAULTS.depth)) : k;
  return { k, mode, efSearch, fusion, bm25, depth };
}

/** The query of a nearest-neighbour search: a stored item (its vector never leaves the database) or a vector literal. */
type DenseQuery = { itemId: string } | { vector: string };

/**
 * The nearest-neighbour SQL. Parameters: $1 org, $2 query item id or vector, $3 limit, and for an
 * item $4 namespace, $5 modality, $6 version. It repeats the index's literal predicate and exact
 * cast so the planner can use the partial index; `exact` fences the ORDER BY off the index so
 * every row of the org is measured.
 */
function nearestSql(v: VersionRecord, query: 'item' | 'vector', exact: boolean): string {
  const { cast, expression, predicate } = vectorIndexShape(v);
  const q = query === 'vector' ? `$2::${cast}` : queryVectorSql(v, '$2');
  const rows = `SELECT item_id, ${expression} <=> ${q} AS distance FROM item_embeddings
         WHERE ${predicate} AND org_id = $1${query === 'item' ? ' AND item_id <> $2' : ''}`;
  // ORDER BY the output column is ORDER BY the expression: the index can serve it, unless OFFSET 0 fences it off.
  const nn = exact ? `SELECT item_id, distance FROM (${rows} OFFSET 0) AS measured ORDER BY distance LIMIT $3` : `${rows} ORDER BY distance LIMIT $3`;
  return `WITH nn AS (${nn}) SELECT item_id, distance FROM nn ORDER BY distance, item_id`;
}

/** The stored vector of item `param` in the version, cast as its index is. Uses $1 org, $4 namespace, $5 modality, $6 version. */
function queryVectorSql(v: VersionRecord, param: string): string {
  const { expression } = vectorIndexShape(v);
  return `(SELECT s.${expression} FROM item_embeddings s WHERE s.org_id = $1 AND s.namespace = $4 AND s.modality = $5 AND s.version = $6 AND s.item_id = ${param})`;
}

/**
 * The `k` nearest items of the org in version `v`, as (item, cosine similarity).
 * Iterative index scans keep a filtered query (other orgs share the index) returning k rows; if the
 * scan still stops short (hnsw.max_scan_tuples reached before k rows of a small org were found),
 * the org's rows are measured exactly instead: few by then, so that is cheap.
 */
async function nearest(
  db: Db,
  v: VersionRecord,
  orgId: string,
  query: DenseQuery,
  k: number,
  efSearch: number,
): Promise<Array<{ item_id: string; score: number }>> {
  const kind = 'itemId' in query ? 'item' : 'vector';
  const params: unknown[] = [orgId, 'itemId' in query ? query.itemId : query.vector, k];
  if (kind === 'item') params.push(v.namespace, v.modality, v.version);
  type Row = { item_id: string; distance: number };
  let rows = await db.transaction(async (tx) => {
    await tx.exec(`SET LOCAL hnsw.ef_search = ${Math.max(efSearch, k)}; SET LOCAL hnsw.iterative_scan = relaxed_order`);
    // relaxed_order may return neighbours slightly out of order, hence the outer ORDER BY.
    return tx.query<Row>(nearestSql(v, kind, false), params);
  });
  if (rows.length < k) rows = await db.query<Row>(nearestSql(v, kind, true), params);
  // Unrounded: the fusion ranks by these scores, as the documented SQL does (docs/retriever-sql.md).
  return rows.map((r) => ({ item_id: r.item_id, score: 1 - Number(r.distance) }));
}

interface Details {
  title: string | null;
  brand: string | null;
  category: string | null;
  description: string | null;
  dense: number | null;
  tags: number | null;
}

/**
 * Catalog attributes of the chosen items, with their cosine similarity to the query (a stored item
 * or a vector) and their tag overlap with the query item's tags: the part scores a fused list
 * shows for candidates one list did not reach. Rows are looked up by primary key.
 */
async function details(
  db: Queryable,
  v: VersionRecord,
  orgId: string,
  ids: string[],
  query: { itemId: string; tags: string[] | null } | { vector: string } | null,
): Promise<Map<string, Details>> {
  const { cast, expression } = vectorIndexShape(v);
  // A vector query, or none at all (a lexical-only search): $7 is the vector literal or NULL.
  const q = query !== null && 'itemId' in query ? queryVectorSql(v, '$7') : `$7::${cast}`;
  const rows = await db.query<{
    item_id: string;
    title: string | null;
    brand: string | null;
    category: string | null;
    description: string | null;
    distance: number | null;
    tag_score: number | null;
  }>(
    `SELECT i.item_id, c.title, c.brand, c.category, c.description,
            e.${expression} <=> ${q} AS distance,
            CASE WHEN c.item_id IS NULL OR $8::text[] IS NULL THEN NULL ELSE ${tagScoreSql('c', '$8')} END AS tag_score
     FROM unnest($2::text[]) AS i(item_id)
     LEFT JOIN catalog_items c ON c.org_id = $1 AND c.namespace = $3 AND c.item_id = i.item_id
     LEFT JOIN item_embeddings e ON e.org_id = $1 AND e.namespace = $4 AND e.modality = $5 AND e.version = $6 AND e.item_id = i.item_id`,
    [
      orgId,
      ids,
      v.namespace,
      v.namespace,
      v.modality,
      v.version,
      query === null ? null : 'itemId' in query ? query.itemId : query.vector,
      query !== null && 'itemId' in query ? query.tags : null,
    ],
  );
  return new Map(
    rows.map((r) => [
      r.item_id,
      {
        title: r.title,
        brand: r.brand,
        category: r.category,
        description: r.description,
        dense: r.distance === null ? null : roundScore(1 - Number(r.distance)),
        tags: r.tag_score === null ? null : roundScore(Number(r.tag_score)),
      },
    ]),
  );
}

/** What one request knows: the lists each signal offered and how to compute part scores for the rest. */
interface Gathered {
  lists: RankedList[];
  lexicalQuery: LexicalQuery | null;
  detailsQuery: Parameters<typeof details>[4];
}

/** Fuse (or take the one signal's list), then fill every candidate's part scores and attributes. */
async function finish(db: Db, v: VersionRecord, orgId: string, c: Checked, g: Gathered): Promise<SimilarResult> {
  const chosen: FusedItem[] =
    c.mode === 'fused'
      ? fuse(g.lists, c.fusion, c.k)
      : fuse(
          g.lists.filter((l) => l.signal === c.mode),
          { dense: 1, lexical: 1, tags: 1, rrfK: 1 },
          c.k,
        ).map((f) => ({ ...f, score: f.scores[c.mode as Signal]! }));
  const ids = chosen.map((f) => f.item_id);
  const missingLexical = g.lexicalQuery ? ids.filter((_, i) => chosen[i]!.scores.lexical === null) : [];
  const [info, lexical] = await Promise.all([
    ids.length ? details(db, v, orgId, ids, g.detailsQuery) : new Map<string, Details>(),
    missingLexical.length ? lexicalScores(db, lexicalScope(v), g.lexicalQuery!, c.bm25, missingLexical) : new Map<string, number>(),
  ]);
  const candidates = chosen.map((f): Candidate => {
    const d = info.get(f.item_id);
    const lexicalScore = f.scores.lexical ?? lexical.get(f.item_id) ?? null;
    return {
      item_id: f.item_id,
      score: roundScore(f.score),
      version: v.version,
      modality: v.modality,
      dense_score: f.scores.dense !== null ? roundScore(f.scores.dense) : (d?.dense ?? null),
      lexical_score: lexicalScore === null ? null : roundScore(lexicalScore),
      tag_score: f.scores.tags !== null ? roundScore(f.scores.tags) : (d?.tags ?? null),
      ranks: f.ranks,
      title: d?.title ?? null,
      brand: d?.brand ?? null,
      category: d?.category ?? null,
      description: d?.description ?? null,
    };
  });
  return { version: v, mode: c.mode, fusion: c.fusion, candidates };
}

const lexicalScope = (v: VersionRecord) => ({ orgId: v.orgId, namespace: v.namespace, version: v.version, textSearchConfig: v.textSearchConfig });
const wanted = (c: Checked, s: Signal) => (c.mode === 'fused' ? c.fusion[s] > 0 : c.mode === s);

/**
 * Items most similar to `itemId` (the item itself excluded), by dense, lexical and tag evidence
 * fused; `mode` asks one signal alone. The item must be in the catalog or in the version;
 * otherwise NotFoundError.
 *
 *   const { candidates } = await similar(db, { orgId, namespace: 'default', itemId: 'sku-00001', k: 10 });
 *   await similar(db, { orgId, namespace: 'default', itemId: 'sku-00001', version: 'v2', mode: 'dense' });
 */
export async function similar(db: Db, q: SimilarQuery & { itemId: string }): Promise<SimilarResult> {
  const c = check(q);
  const modality = q.modality ?? 'text';
  const v = await resolveVersion(db, { ...q, modality });
  const item = await queryItem(db, v, q.orgId, q.itemId);
  if (!item.hasVector && !item.hasLexical && item.tags === null) {
    throw new NotFoundError(
      `item "${q.itemId}" has no ${modality} embedding in namespace "${q.namespace}", version "${v.version}", and is not in its catalog`,
      { itemId: q.itemId, namespace: q.namespace, version: v.version },
    );
  }
  const lexicalQuery = item.hasLexical ? { itemId: q.itemId } : null;
  const [dense, lexical, tags] = await Promise.all([
    wanted(c, 'dense') && item.hasVector ? nearest(db, v, q.orgId, { itemId: q.itemId }, c.depth, c.efSearch) : [],
    wanted(c, 'lexical') && lexicalQuery ? lexicalSearch(db, lexicalScope(v), lexicalQuery, c.bm25, c.depth) : [],
    wanted(c, 'tags') && item.tags?.length ? tagCandidates(db, v, { orgId: q.orgId, itemId: q.itemId, tags: item.tags, limit: c.depth }) : [],
  ]);
  return finish(db, v, q.orgId, c, {
    lists: [
      { signal: 'dense', items: dense },
      { signal: 'lexical', items: lexical },
      { signal: 'tags', items: tags },
    ],
    lexicalQuery,
    detailsQuery: { itemId: q.itemId, tags: item.tags },
  });
}

/**
 * Items for a text — dense (embedded with the version's own model; `provider` must run it, or be a
 * function returning the provider for the resolved version) fused with lexical (BM25 over the
 * text's terms) — or nearest to a vector (dense only). `mode: 'lexical'` needs no provider.
 *
 *   await search(db, { orgId, namespace: 'default', text: 'waterproof hiking boots', provider, k: 5 });
 *   await search(db, { orgId, namespace: 'default', vector: [0.01, …], k: 5 });
 */
export async function search(
  db: Db,
  q: SimilarQuery &
    (
      | { vector: ArrayLike<number> }
      | {
          text: string;
          provider?: EmbeddingProvider | ((version: VersionRecord) => Promise<EmbeddingProvider>);
          /** How a transient provider error (429, 5xx, timeout) is retried when embedding the text; default QUERY_RETRY_POLICY. */
          retry?: RetryPolicy;
        }
    ),
): Promise<SimilarResult> {
  const c = check(q);
  if (c.mode === 'tags') throw new ConfigError('search has no query item: mode tags cannot answer it (use fused, dense or lexical)');
  const modality = q.modality ?? 'text';
  const v = await resolveVersion(db, { ...q, modality });
  let vector: ArrayLike<number> | null = null;
  if ('vector' in q) {
    if (c.mode === 'lexical') throw new ConfigError('a vector query has no words: mode lexical cannot answer it');
    vector = q.vector;
  } else {
    if (q.text.trim() === '') throw new ConfigError('search text is empty');
    if (wanted(c, 'dense')) {
      if (!q.provider) throw new ConfigError("a text search with dense evidence needs a provider running the version's model");
      // A function picks the provider once the version is known (the HTTP service: one per version's model).
      const p = typeof q.provider === 'function' ? await q.provider(v) : q.provider;
      if (p.name !== v.provider || p.model !== v.model || p.dims !== v.dims) {
        throw new ConfigError(
          `version "${v.version}" was embedded with ${v.provider}/${v.model} (${v.dims}-d); ` +
            `this search uses ${p.name}/${p.model} (${p.dims}-d). Pass the same --provider/--model/--dims, or another --version.`,
        );
      }
      const text = q.text;
      [vector] = (await withRetries(q.retry ?? QUERY_RETRY_POLICY, () => p.embed([text]))).vectors as [Float32Array];
    }
  }
  let literal: string | null = null;
  if (vector) {
    if (vector.length !== v.dims) throw new ConfigError(`query vector has ${vector.length} dims; version "${v.version}" has ${v.dims}`);
    if (!Array.from(vector).every(Number.isFinite)) throw new ConfigError('query vector has a value that is not a finite number');
    if (Array.from(vector).every((x) => x === 0)) throw new ConfigError('query vector is all zeros: it has no direction to compare');
    literal = toSql(Array.from(vector)) as string;
  }
  const lexicalQuery = 'text' in q && v.modality === 'text' ? { text: q.text } : null;
  const [dense, lexical] = await Promise.all([
    literal !== null ? nearest(db, v, q.orgId, { vector: literal }, c.depth, c.efSearch) : [],
    lexicalQuery && wanted(c, 'lexical') ? lexicalSearch(db, lexicalScope(v), lexicalQuery, c.bm25, c.depth) : [],
  ]);
  return finish(db, v, q.orgId, c, {
    lists: [
      { signal: 'dense', items: dense },
      { signal: 'lexical', items: lexical },
    ],
    lexicalQuery,
    detailsQuery: literal !== null ? { vector: literal } : null,
  });
}
