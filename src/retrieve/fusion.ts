/**
 * How the rankings of the three signals become one. Pure: lists in, list out.
 *
 * Weighted reciprocal rank fusion (Cormack, Clarke & Büttcher, "Reciprocal rank fusion outperforms
 * Condorcet and individual rank learning methods", SIGIR 2009, with a weight per signal):
 *
 *   score(d) = Σ_signals  weight_s / (rrfK + rank_s(d))     (a signal that did not return d adds 0)
 *
 * Ranks, not scores, so a cosine in [-1, 1], an unbounded BM25 sum and a tag overlap in [0, 1] need
 * no common scale, and no score distribution has to be learnt per catalog. Tied scores share a rank
 * (competition ranking): ten items with the same tag overlap are equally good tag evidence, and the
 * order they were listed in must not decide the fusion. Normalised score fusion (a weighted sum of
 * min–max-scaled scores) was measured as well and was not better beyond noise
 * (docs/lexical-retrieval.md); it depends on how deep each list is cut, which RRF does not.
 */

export const SIGNALS = ['dense', 'lexical', 'tags'] as const;
export type Signal = (typeof SIGNALS)[number];

export interface FusionSettings {
  /** Weight of each signal; 0 leaves it out. */
  dense: number;
  lexical: number;
  tags: number;
  /** The RRF constant: larger values flatten the difference between the top ranks. */
  rrfK: number;
}

/** One signal's candidates, best first, with the signal's own score. */
export interface RankedList {
  signal: Signal;
  items: ReadonlyArray<{ item_id: string; score: number }>;
}

export interface FusedItem {
  item_id: string;
  /** The fused score the list is ranked by. */
  score: number;
  /** Rank of the item in each signal's list (1 = best), null when that signal did not return it. */
  ranks: Record<Signal, number | null>;
  /** Each signal's own score, where its list had the item. */
  scores: Record<Signal, number | null>;
}

/** Scores carry six decimals: enough to rank, short in JSON, stable across drivers. */
export const roundScore = (x: number) => Math.round(x * 1e6) / 1e6;

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** 1-based competition ranks of a list sorted by score, best first: equal scores share the better rank. */
export function competitionRanks(scores: readonly number[]): number[] {
  const ranks: number[] = [];
  for (const [i, s] of scores.entries()) ranks.push(i > 0 && s === scores[i - 1] ? ranks[i - 1]! : i + 1);
  return ranks;
}

/** Fuse the lists into at most `k` items, best first; ties by item id. */
export function fuse(lists: readonly RankedList[], settings: FusionSettings, k: number): FusedItem[] {
  const fused = new Map<string, FusedItem>();
  for (const list of lists) {
    const weight = settings[list.signal];
    const ranks = competitionRanks(list.items.map((i) => i.score));
    list.items.forEach((item, i) => {
      let entry = fused.get(item.item_id);
      if (!entry) {
        entry = { item_id: item.item_id, score: 0, ranks: { dense: null, lexical: null, tags: null }, scores: { dense: null, lexical: null, tags: null } };
        fused.set(item.item_id, entry);
      }
      entry.ranks[list.signal] = ranks[i]!;
      entry.scores[list.signal] = item.score;
      entry.score += weight / (settings.rrfK + ranks[i]!);
    });
  }
  // Rounded before sorting, so sums that differ only in floating-point noise tie and fall to the id.
  return [...fused.values()]
    .map((f) => ({ ...f, score: roundScore(f.score) }))
    .filter((f) => f.score > 0)
    .sort((a, b) => b.score - a.score || byId(a.item_id, b.item_id))
    .slice(0, k);
}
