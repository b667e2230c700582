/**
 * `itemvec eval --tune`: search the fusion settings on one half of the category queries and report
 * them on the other half, so the figure that recommends a setting is not the one it was fitted on.
 *
 * Each query's three candidate lists (dense, lexical, tags) are fetched once, as deep as the served
 * fusion fetches them, and every setting of the grid fuses them in memory with the same function
 * the service uses (retrieve/fusion.ts): the score of a setting here is what `similar` would serve
 * with it. The halves come from the stable item hash of `run --sample` (half the buckets each).
 */
import { SAMPLE_BUCKETS, sampleBucket } from '../pipeline/sample.js';
import { type FusionSettings, fuse, type RankedList } from '../retrieve/fusion.js';
import { type Grades, mean, ndcgAtK, type PairedDifference, pairedDifference, precisionAtK } from './metrics.js';

/** The grid. Dense is 0 or 1: RRF ranks depend on the weights' ratios only, so scaling all three changes nothing. */
export const TUNE_GRID = {
  dense: [0, 1],
  lexical: [0, 0.25, 0.5, 1, 1.5, 2, 3, 4, 6],
  tags: [0, 0.25, 0.5, 1, 2],
  rrfK: [10, 20, 40, 60, 100],
} as const;

/** One query of the category task with its candidate lists as the served fusion fetches them. */
export interface TuneQuery {
  itemId: string;
  grades: Grades;
  lists: RankedList[];
}

export interface TunedSystem {
  system: string;
  precision_at_k: number;
  ndcg_at_k: number;
}

export interface TuneResult {
  metric: 'precision_at_k';
  queries: { tune: number; held_out: number };
  settings_tried: number;
  current: FusionSettings;
  best: FusionSettings;
  /** Mean precision@k of the best setting on the half it was chosen on. */
  best_on_tune: number;
  /** On the held-out half: the best setting, the current one, and each signal alone. */
  held_out: TunedSystem[];
  /** The best setting vs the current one and vs each signal alone, on the held-out half (precision@k). */
  comparisons: Array<PairedDifference & { system: string; baseline: string }>;
  /** What to put in the config file to serve the best setting in this namespace. */
  config: { retrieve: { namespaces: Record<string, { fusion: FusionSettings }> } };
}

interface Scoring {
  k: number;
  /** How many fused items the served list holds before it is cut to the corpus. */
  depth: number;
  corpus: ReadonlySet<string>;
}

function score(queries: readonly TuneQuery[], fusion: FusionSettings, s: Scoring): { p: number[]; n: number[] } {
  const p: number[] = [];
  const n: number[] = [];
  const { k, depth, corpus } = s;
  for (const q of queries) {
    const ids = fuse(q.lists, fusion, depth)
      .map((f) => f.item_id)
      .filter((id) => corpus.has(id))
      .slice(0, k);
    p.push(precisionAtK(ids, q.grades, k));
    n.push(ndcgAtK(ids, q.grades, k));
  }
  return { p, n };
}

const SINGLE: Record<'dense' | 'lexical' | 'tags', FusionSettings> = {
  dense: { dense: 1, lexical: 0, tags: 0, rrfK: 60 },
  lexical: { dense: 0, lexical: 1, tags: 0, rrfK: 60 },
  tags: { dense: 0, lexical: 0, tags: 1, rrfK: 60 },
};

/**
 * Tune on the queries whose item falls in the first half of the hash buckets, report on the rest.
 * `signals` are the lists the catalog has (no tags: the tags weight stays 0). Ties between settings
 * go to the one listed first, i.e. the lighter weights.
 */
export function tuneFusion(
  o: Scoring & {
    orgId: string;
    namespace: string;
    queries: readonly TuneQuery[];
    current: FusionSettings;
    signals: ReadonlyArray<'dense' | 'lexical' | 'tags'>;
  },
): TuneResult {
  const tune = o.queries.filter((q) => sampleBucket(o.orgId, q.itemId) < SAMPLE_BUCKETS / 2);
  const heldOut = o.queries.filter((q) => sampleBucket(o.orgId, q.itemId) >= SAMPLE_BUCKETS / 2);
  const has = (s: 'dense' | 'lexical' | 'tags') => o.signals.includes(s);
  let best = o.current;
  let bestScore = -1;
  let bestNdcg = -1;
  let tried = 0;
  for (const dense of has('dense') ? TUNE_GRID.dense : [0]) {
    for (const lexical of has('lexical') ? TUNE_GRID.lexical : [0]) {
      for (const tags of has('tags') ? TUNE_GRID.tags : [0]) {
        if (dense + lexical + tags === 0) continue;
        for (const rrfK of TUNE_GRID.rrfK) {
          const setting = { dense, lexical, tags, rrfK };
          const { p, n } = score(tune, setting, o);
          tried++;
          const mp = mean(p);
          const mn = mean(n);
          if (mp > bestScore + 1e-12 || (Math.abs(mp - bestScore) <= 1e-12 && mn > bestNdcg + 1e-12)) {
            best = setting;
            bestScore = mp;
            bestNdcg = mn;
          }
        }
      }
    }
  }
  const systems: Array<[string, FusionSettings]> = [['tuned', best], ['current', o.current], ...o.signals.map((s): [string, FusionSettings] => [s, SINGLE[s]])];
  const results = new Map(systems.map(([name, f]) => [name, score(heldOut, f, o)]));
  const tuned = results.get('tuned')!;
  return {
    metric: 'precision_at_k',
    queries: { tune: tune.length, held_out: heldOut.length },
    settings_tried: tried,
    current: o.current,
    best,
    best_on_tune: bestScore,
    held_out: systems.map(([name]) => ({ system: name, precision_at_k: mean(results.get(name)!.p), ndcg_at_k: mean(results.get(name)!.n) })),
    comparisons: systems.slice(1).map(([name]) => ({ system: 'tuned', baseline: name, ...pairedDifference(tuned.p, results.get(name)!.p) })),
    config: { retrieve: { namespaces: { [o.namespace]: { fusion: best } } } },
  };
}
