/**
 * BM25 written from the formula in src/store/lexical.ts's header, independently of its SQL, over
 * documents whose words are their own terms (the `simple` text search configuration only
 * lower-cases; test texts use plain words).
 */
import type { Bm25Settings } from '../src/store/lexical.js';

export const BM25: Bm25Settings = { k1: 1.2, b: 0.75, maxPostings: 1_000_000 };

/** Score of every document holding a query term; a query term counts once. */
export function bm25(docs: Record<string, string>, query: string[], s: Bm25Settings = BM25): Map<string, number> {
  const terms = Object.fromEntries(Object.entries(docs).map(([id, text]) => [id, text.toLowerCase().split(/\s+/).filter(Boolean)]));
  const n = Object.keys(terms).length;
  const avgdl = Object.values(terms).reduce((sum, t) => sum + t.length, 0) / n;
  const df = (t: string) => Object.values(terms).filter((d) => d.includes(t)).length;
  const out = new Map<string, number>();
  for (const [id, d] of Object.entries(terms)) {
    let score = 0;
    let matched = false;
    for (const t of new Set(query)) {
      const tf = d.filter((x) => x === t).length;
      if (tf === 0) continue;
      matched = true;
      const idf = Math.log(1 + (n - df(t) + 0.5) / (df(t) + 0.5));
      score += (idf * tf * (s.k1 + 1)) / (tf + s.k1 * (1 - s.b + (s.b * d.length) / avgdl));
    }
    if (matched) out.set(id, score);
  }
  return out;
}
