/** Defaults of the retrievers, shared by the library (src/retrieve) and the config loader. */
export const RETRIEVE_DEFAULTS = {
  k: 10,
  /** Largest k a request may ask for. */
  maxK: 1000,
  /** hnsw.ef_search per query: pgvector's default is 40; 100 measured recall@10 ≈ 0.95 at 3072-d (shared/facts.md). */
  efSearch: 100,
  /**
   * Weighted reciprocal rank fusion (fusion.ts). A sweep on the Flipkart catalog (label kept out of
   * the text) and on the shipped sample put lexical at 3–4× dense ahead of 1–2× on both; rrfK 60 is
   * Cormack et al.'s constant, which the sweep did not beat beyond noise (bench/README.md,
   * "Retrieval quality"). `itemvec eval --tune` fits them per catalog.
   */
  fusion: { dense: 1, lexical: 3, tags: 0.5, rrfK: 60 },
  /**
   * BM25 (src/store/lexical.ts). k1 and b: Robertson et al.'s TREC values, which Lucene ships.
   * maxPostings: the postings one query may read, rarest terms first; 10,000 keeps every query of
   * a 20,000-item catalog of product names exact (docs/lexical-retrieval.md).
   */
  lexical: { k1: 1.2, b: 0.75, maxPostings: 10_000 },
  /** Candidates each signal offers the fusion: at least this many, and at least 2k. */
  depth: 40,
} as const;
