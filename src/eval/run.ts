/**
 * Offline retrieval evaluation (`itemvec eval`): runs every system — each version's dense, lexical
 * and fused (as served) retrieval, and the tag retriever — on the same queries through the
 * library's `similar` / `search`, and scores them side by side.
 *
 * Tasks:
 * - **category agreement**: each query item's relevant set is the other items of its leaf category
 *   (`catalog_items.category`, the full path); precision@k and nDCG@k with binary relevance.
 * - **judgements** (a file, see judgements.ts): item→item queries through `similar`, text queries
 *   through `search` with each version's own model (tags-only cannot answer text: n/a);
 *   recall@k, MRR and nDCG@k with graded gains.
 *
 * Every system ranks the same corpus: the catalog items that have a vector in every evaluated
 * version. A version filled for a 5 % rollout holds only 5 % of the catalog, so without this a
 * fuller version would be credited for neighbours the other one could not have returned. Lists are
 * fetched deeper when a system's pool is larger than the corpus, then cut to corpus items.
 *
 * Honesty checks, reported as notes: a label leak (the category the task scores is in the prompt
 * template, or its words in the items' own text), a catalog without tags (the tag retriever is left
 * out rather than shown losing to everything), a version without a lexical index.
 */

import { RETRIEVE_DEFAULTS } from '../defaults.js';
import type { EmbeddingProvider } from '../embed/provider.js';
import { ConfigError } from '../errors.js';
import { sampleBucket } from '../pipeline/sample.js';
import type { FusionSettings } from '../retrieve/fusion.js';
import type { RetrieveOptions } from '../retrieve/options.js';
import { type RetrievalMode, search, similar } from '../retrieve/similar.js';
import { resolveVersion } from '../retrieve/version.js';
import type { Db } from '../store/db.js';
import { lexicalDocumentCount } from '../store/lexical.js';
import type { VersionRecord } from '../store/versions.js';
import type { JudgedQuery, JudgementSet } from './judgements.js';
import { type LeakRow, templateLeaks, textLeakShare } from './leak.js';
import {
  binaryGrades,
  type Grades,
  mean,
  ndcgAtK,
  type PairedDifference,
  pairedDifference,
  precisionAtK,
  recallAtK,
  reciprocalRank,
  relevantCount,
} from './metrics.js';
import { type TuneQuery, type TuneResult, tuneFusion } from './tune.js';

/** `fused` is the version as served; `dense` and `lexical` one signal of it; `tags` the tag retriever (no version). */
export type SystemKind = RetrievalMode;

export interface EvalSystem {
  /** `v2/fused` (as served), `v2/dense`, `v2/lexical`, `tags`. */
  id: string;
  kind: SystemKind;
  version: string | null;
  provider: string | null;
  model: string | null;
  dims: number | null;
  /** The fusion settings a fused system is served with. */
  fusion?: FusionSettings;
}

export type MetricName = 'precision_at_k' | 'ndcg_at_k' | 'recall_at_k' | 'mrr';

export interface SystemScores {
  system: string;
  /** Mean over the task's queries; null when the system cannot answer the task (tags-only on text). */
  metrics: Partial<Record<MetricName, number | null>>;
  /** Queries the system answered with fewer than k corpus items (none at all included). */
  short_lists: number;
  ms_per_query: number | null;
}

export interface Comparison extends PairedDifference {
  system: string;
  baseline: string;
  metric: MetricName;
  /** mean(system) − mean(baseline); `mean` is the same number, kept for the paired interval. */
  absolute: number;
  /** absolute / mean(baseline); null when the baseline scored 0. */
  relative: number | null;
}

export interface TaskResult {
  task: 'category' | 'item_judgements' | 'text_judgements';
  /** Queries the means are over (those with at least one relevant item). */
  queries: number;
  /** Queries left out: no relevant item in the corpus; a query item outside the corpus (item judgements). */
  skipped: { no_relevant: number; query_outside_corpus: number };
  /** Judged items dropped because they are not in the corpus: no system could return them. */
  judged_items_outside_corpus: number;
  metrics: MetricName[];
  rows: SystemScores[];
  /** Each fused system vs each single signal of its version and vs tags; each further version vs the first, same kind. */
  comparisons: Comparison[];
}

export interface EvalReport {
  org_id: string;
  namespace: string;
  k: number;
  systems: EvalSystem[];
  corpus: {
    catalog_items: number;
    /** Catalog items with a vector in every evaluated version: what every system ranks. */
    items: number;
    /** Query items of the category task (all corpus items, or a deterministic sample). */
    query_items: number;
    sample: number | null;
  };
  judgements_file: string | null;
  /** What the reader must know before trusting a number: label leaks, no tags, no lexical index. */
  notes: string[];
  tasks: TaskResult[];
  /** `tune: true`: the fusion setting that wins on half the category queries, reported on the other half. */
  tune: TuneResult | null;
  wall_s: number;
}

export interface EvalOptions {
  db: Db;
  orgId: string;
  namespace: string;
  /** Versions to evaluate; default: the version reads use (BLEND_EMBEDDING_VERSION, then the active one). */
  versions?: string[];
  /** Include the tags-only retriever (default true; left out anyway when no corpus item has tags). */
  tags?: boolean;
  /** Run the category-agreement task (default true). */
  category?: boolean;
  /** Search the fusion weights on half the category queries and report them on the other half (default false). */
  tune?: boolean;
  k?: number;
  /** Category task: a deterministic sample of this many query items (the `run --sample` hash order). */
  sample?: number;
  judgements?: JudgementSet;
  /** Builds the provider that embeds text queries for a version (judgement files with text queries). */
  provider?: (v: VersionRecord) => Promise<EmbeddingProvider>;
  /** Version choice, HNSW and BM25 settings; `fusion` is the namespace's (options.ts, fusionFor). */
  retrieve?: Partial<Pick<RetrieveOptions, 'blend' | 'efSearch' | 'lexical' | 'fusion'>>;
  onProgress?: (p: { task: TaskResult['task']; done: number; total: number }) => void;
}

interface System extends EvalSystem {
  record: VersionRecord;
  /** Items this system can return (before the corpus cut), to size how deep to fetch. */
  pool: number;
}

const CATEGORY_METRICS: MetricName[] = ['precision_at_k', 'ndcg_at_k'];
const JUDGEMENT_METRICS: MetricName[] = ['recall_at_k', 'mrr', 'ndcg_at_k'];

export async function runEval(o: EvalOptions): Promise<EvalReport> {
  const started = performance.now();
  const k = o.k ?? RETRIEVE_DEFAULTS.k;
  if (!Number.isInteger(k) || k < 1 || k > RETRIEVE_DEFAULTS.maxK) throw new ConfigError(`k must be an integer from 1 to ${RETRIEVE_DEFAULTS.maxK}, got ${k}`);
  if (o.sample !== undefined && !(Number.isInteger(o.sample) && o.sample >= 1)) throw new ConfigError(`sample must be a positive integer, got ${o.sample}`);
  const { catalog, corpus, systems, notes } = await prepare(o);
  const retriever = new Retriever(o, k, corpus);

  let queryItems = [...corpus].sort();
  if (o.sample !== undefined && o.sample < queryItems.length) {
    const bucket = new Map(queryItems.map((id) => [id, sampleBucket(o.orgId, id)]));
    queryItems = queryItems
      .sort((a, b) => bucket.get(a)! - bucket.get(b)! || (a < b ? -1 : 1))
      .slice(0, o.sample)
      .sort();
  }
  const tasks: TaskResult[] = [];
  let tune: TuneResult | null = null;
  if (o.category !== false) {
    const { task, tuneQueries } = await categoryTask(o, k, systems, retriever, catalog, corpus, queryItems);
    tasks.push(task);
    const fused = systems.find((s) => s.kind === 'fused')!;
    if (tuneQueries) {
      const signals = (['dense', 'lexical', 'tags'] as const).filter((s) => systems.some((x) => x.kind === s && (s === 'tags' || x.version === fused.version)));
      tune = tuneFusion({
        orgId: o.orgId,
        namespace: o.namespace,
        queries: tuneQueries,
        current: fused.fusion!,
        signals,
        k,
        depth: retriever.depth(fused),
        corpus,
      });
    }
  } else if (o.tune) {
    throw new ConfigError('--tune tunes on the category task: it cannot run with --no-category');
  }
  for (const kind of ['item', 'text'] as const) {
    if (o.judgements?.queries.some((q) => q.kind === kind)) tasks.push(await judgementTask(o, k, kind, systems, retriever, corpus));
  }
  return {
    org_id: o.orgId,
    namespace: o.namespace,
    k,
    systems: systems.map(({ id, kind, version, provider, model, dims, fusion }) => ({
      id,
      kind,
      version,
      provider,
      model,
      dims,
      ...(fusion ? { fusion } : {}),
    })),
    corpus: { catalog_items: catalog.length, items: corpus.size, query_items: queryItems.length, sample: o.sample ?? null },
    judgements_file: o.judgements?.file ?? null,
    notes,
    tasks,
    tune,
    wall_s: Math.round((performance.now() - started) / 10) / 100,
  };
}

/** How many catalog rows the text-leak check reads: enough for a share to two digits, bounded for large catalogs. */
const LEAK_SAMPLE = 2000;
/** Above this share of items carrying their category's words in their own text, category agreement is flagged. */
const LEAK_SHARE_NOTE = 0.1;

/** The versions, the catalog, the common corpus, the systems to run and the notes on what the numbers mean. */
async function prepare(
  o: EvalOptions,
): Promise<{ catalog: Array<{ item_id: string; category: string }>; corpus: Set<string>; systems: System[]; notes: string[] }> {
  const { db, orgId, namespace } = o;
  const records: VersionRecord[] = [];
  for (const version of o.versions?.length ? o.versions : [undefined]) {
    const record = await resolveVersion(db, { orgId, namespace, modality: 'text', version, blend: o.retrieve?.blend });
    if (!records.some((r) => r.version === record.version)) records.push(record);
  }
  // An item without a category has no label: it is in the corpus, but never a query and never relevant.
  const catalog = await db.query<{ item_id: string; category: string }>('SELECT item_id, category FROM catalog_items WHERE org_id = $1 AND namespace = $2', [
    orgId,
    namespace,
  ]);
  const vectorSets: Set<string>[] = [];
  for (const v of records) {
    const rows = await db.query<{ item_id: string }>(
      "SELECT item_id FROM item_embeddings WHERE org_id = $1 AND namespace = $2 AND modality = 'text' AND version = $3",
      [orgId, namespace, v.version],
    );
    vectorSets.push(new Set(rows.map((r) => r.item_id)));
  }
  const corpus = new Set(catalog.map((c) => c.item_id).filter((id) => vectorSets.every((s) => s.has(id))));
  if (corpus.size === 0) {
    throw new ConfigError(`no catalog item of namespace "${namespace}" has a vector in ${records.map((r) => r.version).join(' and ')}: nothing to evaluate`, {
      namespace,
    });
  }
  const notes: string[] = [];
  const systems: System[] = [];
  for (const [i, record] of records.entries()) {
    const described = { version: record.version, provider: record.provider, model: record.model, dims: record.dims, record, pool: vectorSets[i]!.size };
    const lexical = (await lexicalDocumentCount(db, { orgId, namespace, version: record.version })) > 0;
    if (!lexical)
      notes.push(
        `version ${record.version} has no lexical index (loaded before lexical retrieval): run \`itemvec run\` on its catalog again to index it without model calls; until then it is served by dense and tag evidence only`,
      );
    systems.push({ ...described, id: `${record.version}/fused`, kind: 'fused', fusion: { ...RETRIEVE_DEFAULTS.fusion, ...o.retrieve?.fusion } });
    systems.push({ ...described, id: `${record.version}/dense`, kind: 'dense' });
    if (lexical) systems.push({ ...described, id: `${record.version}/lexical`, kind: 'lexical' });
    if (o.category !== false && templateLeaks(record)) {
      notes.push(
        `label leak: the prompt template of ${record.version} includes {category}, the label category agreement scores, so every signal that reads the text sees the label ` +
          'and the scores measure the label as much as the retrieval; measure with a version whose template leaves it out, e.g. "Product: {title}\\nBrand: {brand}\\nDescription: {description}"',
      );
    }
  }
  const [tagged] = await db.query<{ n: string }>("SELECT count(*) AS n FROM catalog_items WHERE org_id = $1 AND namespace = $2 AND tags <> '{}'", [
    orgId,
    namespace,
  ]);
  if (Number(tagged?.n ?? 0) === 0) {
    notes.push('no catalog item has tags: the tag retriever is left out (it would return nothing) and adds nothing to the fusion');
  } else if (o.tags !== false) {
    // The tag retriever reads only catalog_items; the version merely scopes the call.
    systems.push({ id: 'tags', kind: 'tags', version: null, provider: null, model: null, dims: null, record: records[0]!, pool: catalog.length });
  }
  if (o.category !== false) {
    const rows = await db.query<{ category: string; title: string | null; brand: string; description: string; tags: string[] }>(
      `SELECT category, title, brand, left(description, 2000) AS description, tags FROM catalog_items
       WHERE org_id = $1 AND namespace = $2 AND category <> '' ORDER BY md5(item_id) LIMIT ${LEAK_SAMPLE}`,
      [orgId, namespace],
    );
    const share = textLeakShare(rows satisfies LeakRow[]);
    if (share >= LEAK_SHARE_NOTE) {
      notes.push(
        `label leak: in ${(share * 100).toFixed(0)}% of ${rows.length.toLocaleString('en-US')} sampled items the category's own words stand in the item's text ` +
          '(title, brand, description or tags): category agreement partly measures matching those words',
      );
    }
  }
  return { catalog, corpus, systems, notes };
}

/** Top-k corpus items from a system through the library, timed per system. */
class Retriever {
  readonly timings = new Map<string, number[]>();
  private readonly providers = new Map<string, EmbeddingProvider>();

  constructor(
    private readonly o: EvalOptions,
    private readonly k: number,
    private readonly corpus: Set<string>,
  ) {}

  /** The query item's neighbours (`similar` in the system's mode). */
  similar(s: System, itemId: string): Promise<string[]> {
    return this.timed(s, async () => this.cut((await similar(this.o.db, { ...this.query(s), itemId })).candidates));
  }

  /**
   * The three candidate lists the served fusion of `s` fuses for this item, uncut: `--tune` fuses
   * them again with every setting it tries, exactly as `similar` would.
   */
  async lists(s: System, itemId: string): Promise<TuneQuery['lists']> {
    const q = this.query(s);
    // The depth the fused query fetches each signal at (similar.ts).
    const k = Math.min(RETRIEVE_DEFAULTS.maxK, Math.max(2 * q.k, RETRIEVE_DEFAULTS.depth));
    const lists: TuneQuery['lists'] = [];
    for (const signal of ['dense', 'lexical', 'tags'] as const) {
      const r = await similar(this.o.db, { ...q, k, itemId, mode: signal });
      // The ranks as the service computed them (from unrounded scores), so fusing them again ties exactly where it did.
      lists.push({ signal, items: r.candidates.map((c) => ({ item_id: c.item_id, score: -c.ranks[signal]! })) });
    }
    return lists;
  }

  /** How many items the system is asked for, to leave k after the corpus cut. */
  depth(s: System): number {
    return this.query(s).k;
  }

  /** The text's nearest items (`search` with the version's own model). */
  async search(s: System, text: string): Promise<string[]> {
    if (s.kind === 'lexical') return this.timed(s, async () => this.cut((await search(this.o.db, { ...this.query(s), text })).candidates));
    // One provider per version: its dense and fused systems embed the same query texts with it.
    let provider = this.providers.get(s.record.version);
    if (!provider) {
      if (!this.o.provider) throw new ConfigError('text-query judgements need a provider for each version (EvalOptions.provider)');
      provider = await this.o.provider(s.record);
      this.providers.set(s.record.version, provider);
    }
    const p = provider;
    return this.timed(s, async () => this.cut((await search(this.o.db, { ...this.query(s), text, provider: p })).candidates));
  }

  async close(): Promise<void> {
    const all = [...this.providers.values()];
    this.providers.clear();
    await Promise.all(all.map((p) => p.close()));
  }

  private query(s: System) {
    const r = this.o.retrieve;
    // Deep enough that k corpus items are likely left after the cut; exactly k when the system's pool is the corpus.
    const depth = s.pool <= this.corpus.size ? this.k : Math.min(RETRIEVE_DEFAULTS.maxK, Math.ceil((2 * this.k * s.pool) / this.corpus.size));
    return {
      orgId: this.o.orgId,
      namespace: this.o.namespace,
      version: s.record.version,
      k: depth,
      mode: s.kind,
      efSearch: r?.efSearch,
      lexical: r?.lexical,
      fusion: s.fusion,
    };
  }

  private cut(candidates: Array<{ item_id: string }>): string[] {
    return candidates
      .map((c) => c.item_id)
      .filter((id) => this.corpus.has(id))
      .slice(0, this.k);
  }

  private async timed<T>(s: System, fn: () => Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      const list = this.timings.get(s.id) ?? [];
      list.push(performance.now() - t);
      this.timings.set(s.id, list);
    }
  }
}

type PerQuery = Map<string, { values: Record<MetricName, number[]>; short: number }>;

async function categoryTask(
  o: EvalOptions,
  k: number,
  systems: System[],
  retriever: Retriever,
  catalog: Array<{ item_id: string; category: string }>,
  corpus: Set<string>,
  queryItems: string[],
): Promise<{ task: TaskResult; tuneQueries: TuneQuery[] | null }> {
  const byCategory = new Map<string, string[]>();
  for (const c of catalog) {
    // No category, no label: never relevant, and (below) never a query.
    if (!corpus.has(c.item_id) || c.category === '') continue;
    const members = byCategory.get(c.category);
    if (members) members.push(c.item_id);
    else byCategory.set(c.category, [c.item_id]);
  }
  const categoryOf = new Map(catalog.map((c) => [c.item_id, c.category]));
  const queries: Array<{ query: string; grades: Grades }> = [];
  let noRelevant = 0;
  for (const id of queryItems) {
    const relevant = (byCategory.get(categoryOf.get(id)!) ?? []).filter((other) => other !== id);
    if (relevant.length === 0) noRelevant++;
    else queries.push({ query: id, grades: binaryGrades(relevant) });
  }
  retriever.timings.clear();
  const perQuery: PerQuery = new Map();
  // The first version's served fusion is the one tuned.
  const served = o.tune ? systems.find((s) => s.kind === 'fused')! : null;
  const tuneQueries: TuneQuery[] = [];
  let done = 0;
  for (const q of queries) {
    for (const s of systems) {
      const ids = await retriever.similar(s, q.query);
      record(perQuery, s.id, ids.length < k, { precision_at_k: precisionAtK(ids, q.grades, k), ndcg_at_k: ndcgAtK(ids, q.grades, k) });
    }
    if (served) tuneQueries.push({ itemId: q.query, grades: q.grades, lists: await retriever.lists(served, q.query) });
    o.onProgress?.({ task: 'category', done: ++done, total: queries.length });
  }
  const task = summarise('category', CATEGORY_METRICS, systems, perQuery, retriever.timings, {
    queries: queries.length,
    noRelevant,
    outsideQuery: 0,
    outsideJudged: 0,
  });
  return { task, tuneQueries: served ? tuneQueries : null };
}

async function judgementTask(
  o: EvalOptions,
  k: number,
  kind: JudgedQuery['kind'],
  systems: System[],
  retriever: Retriever,
  corpus: Set<string>,
): Promise<TaskResult> {
  const task = kind === 'item' ? 'item_judgements' : 'text_judgements';
  let outsideQuery = 0;
  let noRelevant = 0;
  let outsideJudged = 0;
  const queries: JudgedQuery[] = [];
  for (const q of o.judgements!.queries.filter((x) => x.kind === kind)) {
    if (kind === 'item' && !corpus.has(q.query)) {
      outsideQuery++;
      continue;
    }
    // Items outside the corpus cannot be returned by any system: judging them would only lower every score alike.
    const grades = new Map([...q.grades].filter(([id]) => corpus.has(id)));
    outsideJudged += q.grades.size - grades.size;
    if (relevantCount(grades) === 0) noRelevant++;
    else queries.push({ ...q, grades });
  }
  // `search` has no query item: the tag retriever cannot answer text.
  const answering = systems.filter((s) => kind === 'item' || s.kind !== 'tags');
  retriever.timings.clear();
  const perQuery: PerQuery = new Map();
  try {
    let done = 0;
    for (const q of queries) {
      for (const s of answering) {
        const ids = kind === 'item' ? await retriever.similar(s, q.query) : await retriever.search(s, q.query);
        record(perQuery, s.id, ids.length < k, {
          recall_at_k: recallAtK(ids, q.grades, k),
          mrr: reciprocalRank(ids, q.grades),
          ndcg_at_k: ndcgAtK(ids, q.grades, k),
        });
      }
      o.onProgress?.({ task, done: ++done, total: queries.length });
    }
  } finally {
    await retriever.close();
  }
  return summarise(task, JUDGEMENT_METRICS, systems, perQuery, retriever.timings, { queries: queries.length, noRelevant, outsideQuery, outsideJudged });
}

function record(perQuery: PerQuery, system: string, short: boolean, values: Partial<Record<MetricName, number>>): void {
  let entry = perQuery.get(system);
  if (!entry) {
    entry = { values: { precision_at_k: [], ndcg_at_k: [], recall_at_k: [], mrr: [] }, short: 0 };
    perQuery.set(system, entry);
  }
  if (short) entry.short++;
  for (const [m, v] of Object.entries(values) as Array<[MetricName, number]>) entry.values[m].push(v);
}

function summarise(
  task: TaskResult['task'],
  metrics: MetricName[],
  systems: System[],
  perQuery: PerQuery,
  timings: Map<string, number[]>,
  counts: { queries: number; noRelevant: number; outsideQuery: number; outsideJudged: number },
): TaskResult {
  const scored = (s: System) => perQuery.get(s.id);
  const rows: SystemScores[] = systems.map((s) => {
    const entry = scored(s);
    const t = timings.get(s.id);
    return {
      system: s.id,
      // No entry: the system cannot answer this task (tags-only, blends on text), or there were no queries.
      metrics: Object.fromEntries(metrics.map((m) => [m, entry && entry.values[m].length > 0 ? mean(entry.values[m]) : null])),
      short_lists: entry?.short ?? 0,
      ms_per_query: t && t.length > 0 ? Math.round(mean(t) * 100) / 100 : null,
    };
  });
  const comparisons: Comparison[] = [];
  const compare = (a: System, b: System) => {
    const ea = scored(a);
    const eb = scored(b);
    if (!ea || !eb) return;
    for (const m of metrics) {
      if (ea.values[m].length === 0 || ea.values[m].length !== eb.values[m].length) continue;
      const d = pairedDifference(ea.values[m], eb.values[m]);
      const base = mean(eb.values[m]);
      comparisons.push({ system: a.id, baseline: b.id, metric: m, ...d, absolute: d.mean, relative: base === 0 ? null : d.mean / base });
    }
  };
  // Each version as served against each of its own signals and the tag retriever; each further version against the first, kind by kind.
  const tags = systems.find((s) => s.kind === 'tags');
  const firstOfKind = new Map<SystemKind, System>();
  for (const s of systems) {
    if (s.kind === 'tags') continue;
    if (s.kind === 'fused') {
      for (const single of systems.filter((x) => x.version === s.version && x.kind !== 'fused')) compare(s, single);
      if (tags) compare(s, tags);
    }
    const first = firstOfKind.get(s.kind);
    if (first) compare(s, first);
    else firstOfKind.set(s.kind, s);
  }
  return {
    task,
    queries: counts.queries,
    skipped: { no_relevant: counts.noRelevant, query_outside_corpus: counts.outsideQuery },
    judged_items_outside_corpus: counts.outsideJudged,
    metrics,
    rows,
    comparisons,
  };
}
