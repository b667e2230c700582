/**
 * How the tag retriever's and the embedding retriever's lists become one. Pure: lists in, list out.
 *
 * - **blend** (the query item has at least `minTags` tags and a vector): every candidate of either
 *   list gets `score = w · embedding_score + (1 − w) · tag_score` (a missing score counts 0), and the
 *   best k by that score are returned with `source: "blend"`.
 * - **fill** (fewer tags, or no vector): the tag list leads, ranked by tag score (ties by embedding
 *   score), with `source: "tags"` and `score = tag_score`; embedding candidates fill the rest of the
 *   k places in cosine order, with `source: "embedding"` and `score = embedding_score`. An item with
 *   no tags gets embedding candidates only.
 */
import type { ScoredItem } from './tags.js';

export type RetrievalMode = 'blend' | 'fill';
export type CandidateSource = 'embedding' | 'tags' | 'blend';

/** Scores carry six decimals: enough to rank, short in JSON, stable across drivers. */
export const roundScore = (x: number) => Math.round(x * 1e6) / 1e6;

export function chooseMode(tagCount: number, hasVector: boolean, minTags: number): RetrievalMode {
  return hasVector && tagCount >= minTags ? 'blend' : 'fill';
}

const byId = (a: ScoredItem, b: ScoredItem) => (a.item_id < b.item_id ? -1 : a.item_id > b.item_id ? 1 : 0);
const orZero = (x: number | null) => x ?? 0;
const orBelowAll = (x: number | null) => x ?? -Infinity;

/** Merge the two lists into at most `k` candidates, best first. */
export function combine(
  mode: RetrievalMode,
  k: number,
  embeddingWeight: number,
  tagList: ScoredItem[],
  embeddingList: ScoredItem[],
): Array<ScoredItem & { score: number; source: CandidateSource }> {
  if (mode === 'blend') {
    // An item found by both retrievers carries the same two scores in each list.
    const union = new Map<string, ScoredItem>();
    for (const item of [...tagList, ...embeddingList]) if (!union.has(item.item_id)) union.set(item.item_id, item);
    return [...union.values()]
      .map((item) => ({
        ...item,
        score: roundScore(embeddingWeight * orZero(item.embedding_score) + (1 - embeddingWeight) * orZero(item.tag_score)),
        source: 'blend' as const,
      }))
      .sort((a, b) => b.score - a.score || byId(a, b))
      .slice(0, k);
  }
  const tags = [...tagList]
    .sort((a, b) => orBelowAll(b.tag_score) - orBelowAll(a.tag_score) || orBelowAll(b.embedding_score) - orBelowAll(a.embedding_score) || byId(a, b))
    .slice(0, k)
    .map((item) => ({ ...item, score: item.tag_score ?? 0, source: 'tags' as const }));
  const taken = new Set(tags.map((c) => c.item_id));
  const fill = embeddingList
    .filter((item) => !taken.has(item.item_id))
    .slice(0, k - tags.length)
    .map((item) => ({ ...item, score: item.embedding_score ?? 0, source: 'embedding' as const }));
  return [...tags, ...fill];
}
