/**
 * The lexical index of a text version: Okapi BM25 over the item's rendered text, in plain Postgres
 * tables, so the same SQL runs on PGlite and on a server and a service in another language can run
 * it as written (docs/retriever-sql.md).
 *
 * Text is analysed by Postgres itself (`to_tsvector` with the version's text search configuration:
 * lower case, stop words, Snowball stemming), for documents at write time and for query texts at
 * read time, so both always agree. Each document becomes postings (lexeme, item, tf, length); the
 * corpus statistics BM25 needs — document frequency per lexeme, document count, total length — are
 * kept exact by the same transaction that writes the item's vector and postings.
 *
 *   score(q, d) = Σ_{t ∈ q} idf(t) · tf·(k1 + 1) / (tf + k1·(1 − b + b·|d| / avgdl))
 *   idf(t)      = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))
 *
 * (Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond", 2009; the
 * non-negative idf is Lucene's.) A query term counts once however often the query repeats it.
 * Scores are rounded to six decimals (in float8: a numeric round measured twice as slow): two items
 * with the same words then tie exactly, whatever order the database summed their terms in (the
 * fusion ranks ties alike).
 * Query terms are taken rarest first, while the postings they would read stay within
 * `maxPostings`; the most common terms of a long query carry almost no weight and would cost the
 * most, so this bounds the work of one query at the price of an approximation that only long
 * queries over large catalogs meet (docs/lexical-retrieval.md has the measurements).
 *
 * Why these tables and not tsvector + GIN, or pgvector `sparsevec`: docs/lexical-retrieval.md.
 */
import type { Queryable } from './db.js';
import type { VersionKey } from './keys.js';

export interface LexicalDocument {
  itemId: string;
  /** The item's text as the lexical index reads it (src/prompt/template.ts, lexicalText). */
  text: string;
  /** The prompt hash of the vector written with it: a later run rewrites the document when it differs. */
  metadataHash: string;
}

/** BM25 parameters and the per-query work bound; read at query time, so changing them needs no re-indexing. */
export interface Bm25Settings {
  /** Term-frequency saturation: 0 counts presence only; larger values let repeats count longer. */
  k1: number;
  /** Length normalisation: 0 none, 1 full (a term in a long text weighs less). */
  b: number;
  /** Postings one query may read; its rarest terms are used first. */
  maxPostings: number;
}

/**
 * The first characters of a text that are indexed. A tsvector holds at most 1 MB; the run's token
 * cap (embed.maxTokensPerItem) keeps texts far below this, which only guards the transaction against
 * the one text that would otherwise fail it.
 */
export const LEXICAL_MAX_CHARS = 200_000;

type StatsRow = { lexeme: string | null; documents: number; length: string };

/**
 * Replace the lexical documents of `docs` in one version: old postings out, new ones in, and the
 * corpus statistics moved by the difference. Run it inside the transaction that writes the items'
 * vectors, so the two sides never disagree. Statistics rows are locked in one order (corpus, then
 * lexemes sorted by the database), so concurrent loads of a version wait for each other instead of
 * deadlocking. Postings go in in their primary key's order: a 500-item slice's ~15,000 index inserts
 * then walk the btree once instead of jumping across it (67–71 ms against 110–180 ms in item order
 * on PostgreSQL 15, bench/README.md, "On a PostgreSQL server").
 */
export async function writeLexicalDocuments(tx: Queryable, key: VersionKey, textSearchConfig: string, docs: LexicalDocument[]): Promise<void> {
  // The last one of an item wins, as for its vector.
  const unique = [...new Map(docs.map((d) => [d.itemId, d])).values()];
  if (unique.length === 0) return;
  const scope = [key.orgId, key.namespace, key.version];
  const ids = unique.map((d) => d.itemId);
  const old = await tx.query<{ item_id: string; lexemes: string[]; length: number }>(
    'DELETE FROM lexical_documents WHERE org_id = $1 AND namespace = $2 AND version = $3 AND item_id = ANY($4::text[]) RETURNING item_id, lexemes, length',
    [...scope, ids],
  );
  if (old.length > 0) {
    // The old postings by primary key. Written as a join with unnest, not a join with the deleted
    // rows: the planner then probes the key per pair instead of scanning every posting of the version.
    const pairs = old.flatMap((d) => d.lexemes.map((lexeme) => [lexeme, d.item_id] as const));
    await tx.query(
      `DELETE FROM lexical_postings p USING unnest($4::text[], $5::text[]) AS o(lexeme, item_id)
       WHERE p.org_id = $1 AND p.namespace = $2 AND p.version = $3 AND p.lexeme = o.lexeme AND p.item_id = o.item_id`,
      [...scope, pairs.map(([l]) => l), pairs.map(([, i]) => i)],
    );
  }
  const removed: StatsRow[] = [
    { lexeme: null, documents: old.length, length: String(old.reduce((n, d) => n + d.length, 0)) },
    ...old.flatMap((d) => d.lexemes.map((lexeme) => ({ lexeme, documents: 1, length: '0' }))),
  ];
  const added = await tx.query<StatsRow>(
    `WITH input AS (
       SELECT * FROM unnest($4::text[], $5::text[], $6::text[]) AS i(item_id, body, metadata_hash)
     ), analysed AS (
       SELECT i.item_id, l.lexeme, coalesce(array_length(l.positions, 1), 1)::smallint AS tf
       FROM input i, unnest(to_tsvector($7::regconfig, i.body)) AS l
     ), documents AS (
       INSERT INTO lexical_documents (org_id, namespace, version, item_id, metadata_hash, length, lexemes)
       SELECT $1, $2, $3, i.item_id, i.metadata_hash, coalesce(sum(a.tf), 0),
              coalesce(array_agg(a.lexeme ORDER BY a.lexeme) FILTER (WHERE a.lexeme IS NOT NULL), '{}')
       FROM input i LEFT JOIN analysed a USING (item_id)
       GROUP BY i.item_id, i.metadata_hash
       RETURNING item_id, length
     ), postings AS (
       INSERT INTO lexical_postings (org_id, namespace, version, lexeme, item_id, tf, length)
       SELECT $1, $2, $3, a.lexeme, a.item_id, a.tf, d.length FROM analysed a JOIN documents d USING (item_id)
       ORDER BY a.lexeme, a.item_id
     )
     SELECT a.lexeme, count(*)::int AS documents, '0' AS length FROM analysed a GROUP BY a.lexeme
     UNION ALL
     SELECT NULL, count(*)::int, coalesce(sum(length), 0)::text FROM documents`,
    [...scope, ids, unique.map((d) => d.text.slice(0, LEXICAL_MAX_CHARS)), unique.map((d) => d.metadataHash), textSearchConfig],
  );

  let documents = 0;
  let length = 0n;
  const df = new Map<string, number>();
  for (const [rows, sign] of [
    [removed, -1],
    [added, 1],
  ] as const) {
    for (const r of rows) {
      if (r.lexeme === null) {
        documents += sign * r.documents;
        length += BigInt(sign) * BigInt(r.length);
      } else {
        df.set(r.lexeme, (df.get(r.lexeme) ?? 0) + sign * r.documents);
      }
    }
  }
  const changed = [...df].filter(([, d]) => d !== 0);
  await tx.query(
    `INSERT INTO lexical_corpus (org_id, namespace, version, documents, total_length) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (org_id, namespace, version) DO UPDATE SET
       documents = lexical_corpus.documents + EXCLUDED.documents, total_length = lexical_corpus.total_length + EXCLUDED.total_length`,
    [...scope, documents, length.toString()],
  );
  if (changed.length === 0) return;
  await tx.query(
    `INSERT INTO lexical_terms (org_id, namespace, version, lexeme, df)
     SELECT $1, $2, $3, d.lexeme, d.df FROM unnest($4::text[], $5::int[]) AS d(lexeme, df) ORDER BY d.lexeme
     ON CONFLICT (org_id, namespace, version, lexeme) DO UPDATE SET df = lexical_terms.df + EXCLUDED.df`,
    [...scope, changed.map(([l]) => l), changed.map(([, d]) => d)],
  );
  const gone = changed.filter(([, d]) => d < 0).map(([l]) => l);
  if (gone.length > 0) {
    await tx.query('DELETE FROM lexical_terms WHERE org_id = $1 AND namespace = $2 AND version = $3 AND lexeme = ANY($4::text[]) AND df <= 0', [
      ...scope,
      gone,
    ]);
  }
}

/** The query of a lexical search: a stored item (its own document's lexemes) or a text, analysed like the documents. */
export type LexicalQuery = { itemId: string } | { text: string };

/**
 * The BM25 statement. Parameters: $1 org, $2 namespace, $3 version, $4 query item id or query text,
 * $5 k1, $6 b, $7 max postings, $8 limit (or, with `only`, the candidate ids to score), and for a
 * text query $9 the text search configuration. The item itself is never its own result.
 */
export function bm25Sql(query: 'item' | 'text', only = false): string {
  const lexemes =
    query === 'item'
      ? '(SELECT d.lexemes FROM lexical_documents d WHERE d.org_id = $1 AND d.namespace = $2 AND d.version = $3 AND d.item_id = $4)::text[]'
      : 'tsvector_to_array(to_tsvector($9::regconfig, $4))';
  return `WITH corpus AS (
  SELECT documents::float8 AS n, total_length::float8 / greatest(documents, 1) AS avgdl
  FROM lexical_corpus WHERE org_id = $1 AND namespace = $2 AND version = $3
), terms AS (
  SELECT t.lexeme, t.df, ln(1 + (c.n - t.df + 0.5) / (t.df + 0.5)) AS idf
  FROM lexical_terms t, corpus c
  WHERE t.org_id = $1 AND t.namespace = $2 AND t.version = $3 AND t.lexeme = ANY(${lexemes})
), query AS (
  SELECT lexeme, idf FROM (
    SELECT lexeme, idf, row_number() OVER w AS n, sum(df) OVER w AS postings FROM terms
    WINDOW w AS (ORDER BY idf DESC, lexeme)
  ) rarest_first
  WHERE n = 1 OR postings <= $7
)
SELECT p.item_id, round(1e6::float8 * sum(q.idf * p.tf * ($5::float8 + 1) / (p.tf + $5::float8 * (1 - $6::float8 + $6::float8 * p.length / c.avgdl)))) / 1e6 AS score
FROM query q
JOIN lexical_postings p ON p.org_id = $1 AND p.namespace = $2 AND p.version = $3 AND p.lexeme = q.lexeme
CROSS JOIN corpus c
WHERE ${query === 'item' ? 'p.item_id <> $4' : 'true'}${only ? ' AND p.item_id = ANY($8::text[])' : ''}
GROUP BY p.item_id
${only ? '' : 'ORDER BY score DESC, p.item_id\nLIMIT $8'}`;
}

export interface LexicalScope {
  orgId: string;
  namespace: string;
  version: string;
  textSearchConfig: string;
}

function bm25Params(scope: LexicalScope, q: LexicalQuery, s: Bm25Settings, last: number | string[]): unknown[] {
  const head = [scope.orgId, scope.namespace, scope.version, 'itemId' in q ? q.itemId : q.text, s.k1, s.b, s.maxPostings, last];
  return 'itemId' in q ? head : [...head, scope.textSearchConfig];
}

/** The `limit` best items by BM25 for the query, best first (ties by item id). */
export async function lexicalSearch(
  db: Queryable,
  scope: LexicalScope,
  q: LexicalQuery,
  s: Bm25Settings,
  limit: number,
): Promise<Array<{ item_id: string; score: number }>> {
  const rows = await db.query<{ item_id: string; score: number }>(bm25Sql('itemId' in q ? 'item' : 'text'), bm25Params(scope, q, s, limit));
  return rows.map((r) => ({ item_id: r.item_id, score: Number(r.score) }));
}

/** The BM25 score of each of `itemIds` for the query, with the same query terms a search uses; items matching no term are absent. */
export async function lexicalScores(db: Queryable, scope: LexicalScope, q: LexicalQuery, s: Bm25Settings, itemIds: string[]): Promise<Map<string, number>> {
  if (itemIds.length === 0) return new Map();
  const rows = await db.query<{ item_id: string; score: number }>(bm25Sql('itemId' in q ? 'item' : 'text', true), bm25Params(scope, q, s, itemIds));
  return new Map(rows.map((r) => [r.item_id, Number(r.score)]));
}

/** Documents in a version's lexical index (0 for an image version or one loaded before lexical retrieval). */
export async function lexicalDocumentCount(db: Queryable, key: Omit<VersionKey, 'modality'>): Promise<number> {
  const [row] = await db.query<{ documents: string }>('SELECT documents FROM lexical_corpus WHERE org_id = $1 AND namespace = $2 AND version = $3', [
    key.orgId,
    key.namespace,
    key.version,
  ]);
  return Number(row?.documents ?? 0);
}

/** Remove a version's lexical index (versions delete). */
export async function deleteLexicalVersion(tx: Queryable, key: Omit<VersionKey, 'modality'>): Promise<void> {
  for (const table of ['lexical_postings', 'lexical_documents', 'lexical_terms', 'lexical_corpus']) {
    await tx.query(`DELETE FROM ${table} WHERE org_id = $1 AND namespace = $2 AND version = $3`, [key.orgId, key.namespace, key.version]);
  }
}
