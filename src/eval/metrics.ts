/**
 * Ranking metrics for offline evaluation. Pure functions: a ranked list of item ids and the
 * query's judgements in, one number out. Written here (they are a few lines each) from the
 * standard definitions:
 *
 * - precision@k, recall@k, reciprocal rank: Manning, Raghavan & Schütze, *Introduction to
 *   Information Retrieval* (2008), §8.3–8.4 (precision@k divides by k even when fewer than k
 *   items came back: a short list is not rewarded).
 * - DCG / nDCG: Järvelin & Kekäläinen, "Cumulated gain-based evaluation of IR techniques",
 *   ACM TOIS 20(4), 2002, with the gain 2^grade − 1 and discount log2(rank + 1) of Burges et al.,
 *   "Learning to rank using gradient descent", ICML 2005 (the form TREC and LETOR use). For binary
 *   relevance the gain is 1 per relevant item. The ideal DCG ranks the judged grades best first
 *   and stops at k, so it is over min(k, |relevant|) items.
 * - The 95 % interval of a mean paired difference is the normal approximation
 *   mean ± 1.96 · s / √n (s the sample standard deviation of the per-query differences): queries
 *   are the unit of sampling, as in Smucker, Allan & Carterette, "A comparison of statistical
 *   significance tests for IR evaluation", CIKM 2007.
 */

/** Grades of judged items; an item missing from the map has grade 0 (not relevant). */
export type Grades = ReadonlyMap<string, number>;

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
}

/** Items with grade > 0. */
export function relevantCount(grades: Grades): number {
  let n = 0;
  for (const g of grades.values()) if (g > 0) n++;
  return n;
}

/** Relevant items among the first k, divided by k. */
export function precisionAtK(ranked: readonly string[], grades: Grades, k: number): number {
  checkK(k);
  let hits = 0;
  for (const id of ranked.slice(0, k)) if ((grades.get(id) ?? 0) > 0) hits++;
  return hits / k;
}

/** Relevant items among the first k, divided by all relevant items; 0 when nothing is relevant. */
export function recallAtK(ranked: readonly string[], grades: Grades, k: number): number {
  checkK(k);
  const total = relevantCount(grades);
  if (total === 0) return 0;
  let hits = 0;
  for (const id of ranked.slice(0, k)) if ((grades.get(id) ?? 0) > 0) hits++;
  return hits / total;
}

/** 1 / rank of the first relevant item in the list (ranks from 1); 0 when none is. Its mean over queries is MRR. */
export function reciprocalRank(ranked: readonly string[], grades: Grades): number {
  const i = ranked.findIndex((id) => (grades.get(id) ?? 0) > 0);
  return i === -1 ? 0 : 1 / (i + 1);
}

/** Gain of a grade: 2^grade − 1 (0 → 0, 1 → 1, 2 → 3, 3 → 7). */
export const gain = (grade: number) => 2 ** grade - 1;

/** Σ over the first k grades of gain(grade_i) / log2(i + 1), ranks i from 1. */
export function dcg(gradesInRankOrder: readonly number[], k: number): number {
  checkK(k);
  let sum = 0;
  gradesInRankOrder.slice(0, k).forEach((grade, i) => {
    sum += gain(grade) / Math.log2(i + 2);
  });
  return sum;
}

/** DCG@k of the list over the DCG@k of the ideal order of the judged grades; 0 when nothing is relevant. */
export function ndcgAtK(ranked: readonly string[], grades: Grades, k: number): number {
  const ideal = dcg(
    [...grades.values()].filter((g) => g > 0).sort((a, b) => b - a),
    k,
  );
  if (ideal === 0) return 0;
  return (
    dcg(
      ranked.map((id) => grades.get(id) ?? 0),
      k,
    ) / ideal
  );
}

/** Binary relevance: every id in the set has grade 1. */
export function binaryGrades(relevant: Iterable<string>): Map<string, number> {
  return new Map([...relevant].map((id) => [id, 1]));
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

export interface PairedDifference {
  /** mean(a − b) over the paired queries. */
  mean: number;
  /** 95 % interval of that mean (normal approximation); null below two queries. */
  ci95: [number, number] | null;
  /** Queries where a scored higher, lower, the same. */
  wins: number;
  losses: number;
  ties: number;
}

/** Per-query differences a[i] − b[i] (same queries, same order), summarised. */
export function pairedDifference(a: readonly number[], b: readonly number[]): PairedDifference {
  if (a.length !== b.length) throw new RangeError(`paired lists differ in length: ${a.length} and ${b.length}`);
  const d = a.map((x, i) => x - b[i]!);
  const m = mean(d);
  let wins = 0;
  let losses = 0;
  for (const x of d) {
    if (x > 1e-12) wins++;
    else if (x < -1e-12) losses++;
  }
  const out: PairedDifference = { mean: m, ci95: null, wins, losses, ties: d.length - wins - losses };
  if (d.length >= 2) {
    const variance = d.reduce((s, x) => s + (x - m) ** 2, 0) / (d.length - 1);
    const half = 1.96 * Math.sqrt(variance / d.length);
    out.ci95 = [m - half, m + half];
  }
  return out;
}
