/** Defaults of the retrievers, shared by the library (src/retrieve) and the config loader. */
export const RETRIEVE_DEFAULTS = {
  k: 10,
  /** Largest k a request may ask for. */
  maxK: 1000,
  /** hnsw.ef_search per query: pgvector's default is 40; 100 measured recall@10 ≈ 0.95 at 3072-d (shared/facts.md). */
  efSearch: 100,
  /** Below this many tags on the query item, embeddings fill the tag list instead of blending with it. */
  minTags: 3,
  /** Weight of the embedding score in a blend, from 0 (tags only) to 1 (embedding only). */
  embeddingWeight: 0.7,
} as const;
