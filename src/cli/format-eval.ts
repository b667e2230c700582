/** Human-readable output of `itemvec eval`; `--json` prints the EvalReport itself. */
import type { Comparison, EvalReport, EvalSystem, MetricName, TaskResult } from '../eval/run.js';
import type { TuneResult } from '../eval/tune.js';
import type { FusionSettings } from '../retrieve/fusion.js';
import { table } from './format.js';

const TASK_TITLES: Record<TaskResult['task'], string> = {
  category: "category agreement (relevant: the other items of the query item's leaf category, binary)",
  item_judgements: 'item→item judgements (graded; similar)',
  text_judgements: "text-query judgements (graded; search with each version's model)",
};

const metricLabel = (m: MetricName, k: number) =>
  ({ precision_at_k: `precision@${k}`, ndcg_at_k: `nDCG@${k}`, recall_at_k: `recall@${k}`, mrr: `MRR@${k}` })[m];
const n = (x: number) => x.toLocaleString('en-US');
const fixed = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : x.toFixed(4));
const signed = (x: number, digits = 4) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;
const percent = (x: number | null) => (x === null ? '' : ` (${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)}%)`);

function describeSystem(s: EvalSystem): string {
  if (s.kind === 'tags') return 'tags = the tag retriever alone (tag overlap; ties by item id)';
  if (s.kind === 'lexical') return `${s.id} = BM25 over version ${s.version}'s text alone`;
  if (s.kind === 'dense') return `${s.id} = embeddings of version ${s.version} alone (${s.provider}/${s.model}, ${s.dims}-d)`;
  const f = s.fusion!;
  return `${s.id} = version ${s.version} as served: dense ${f.dense}, lexical ${f.lexical}, tags ${f.tags} fused by RRF (k ${f.rrfK})`;
}

function comparisonLine(c: Comparison, k: number): string {
  const ci = c.ci95 ? `95% CI ${signed(c.ci95[0])} to ${signed(c.ci95[1])}` : 'no interval (one query)';
  const verdict = c.ci95 === null ? '' : c.ci95[0] > 0 ? ': better' : c.ci95[1] < 0 ? ': worse' : ': no clear difference';
  return (
    `  ${c.system} vs ${c.baseline}, ${metricLabel(c.metric, k)}: ${signed(c.absolute)}${percent(c.relative)}, ${ci}${verdict}; ` +
    `higher on ${n(c.wins)} queries, lower on ${n(c.losses)}, equal on ${n(c.ties)}`
  );
}

function formatTask(t: TaskResult, r: EvalReport): string {
  const header = ['system', ...t.metrics.map((m) => metricLabel(m, r.k)), 'short lists', 'ms/query'];
  const rows = t.rows.map((row) => [
    row.system,
    ...t.metrics.map((m) => fixed(row.metrics[m])),
    row.ms_per_query === null ? 'n/a' : String(row.short_lists),
    row.ms_per_query === null ? 'n/a' : row.ms_per_query.toFixed(1),
  ]);
  const skipped = [
    t.skipped.no_relevant ? `${n(t.skipped.no_relevant)} without a relevant item in the corpus` : '',
    t.skipped.query_outside_corpus ? `${n(t.skipped.query_outside_corpus)} whose query item is outside the corpus` : '',
    t.judged_items_outside_corpus ? `${n(t.judged_items_outside_corpus)} judged items outside the corpus dropped` : '',
  ].filter(Boolean);
  return [
    `${TASK_TITLES[t.task]} · ${n(t.queries)} queries${skipped.length ? ` (left out: ${skipped.join('; ')})` : ''}`,
    table(header, rows),
    ...t.comparisons.map((c) => comparisonLine(c, r.k)),
  ].join('\n');
}

function formatTune(t: TuneResult, k: number): string {
  const f = (x: FusionSettings) => `dense ${x.dense}, lexical ${x.lexical}, tags ${x.tags}, rrfK ${x.rrfK}`;
  return [
    `--tune: ${n(t.settings_tried)} fusion settings tried on ${n(t.queries.tune)} queries; reported on the other ${n(t.queries.held_out)}`,
    `  best:    ${f(t.best)} (precision@${k} ${fixed(t.best_on_tune)} where it was chosen)`,
    `  current: ${f(t.current)}`,
    table(
      ['held out', `precision@${k}`, `nDCG@${k}`],
      t.held_out.map((h) => [h.system, fixed(h.precision_at_k), fixed(h.ndcg_at_k)]),
    ),
    ...t.comparisons.map((c) => comparisonLine({ ...c, metric: 'precision_at_k', absolute: c.mean, relative: null }, k)),
    'config that wins (itemvec eval --tune-out FILE writes it; merge it into your config file):',
    JSON.stringify(t.config, null, 2),
  ].join('\n');
}

export function formatEval(r: EvalReport): string {
  const versions = r.systems.filter((s) => s.version !== null).map((s) => s.version);
  const corpus = `corpus: ${n(r.corpus.items)} items with a vector in ${[...new Set(versions)].join(' and ')} (of ${n(r.corpus.catalog_items)} in the catalog)`;
  const queries = r.corpus.sample !== null ? `; category queries: a sample of ${n(r.corpus.query_items)}` : '';
  return [
    `itemvec eval · namespace ${r.namespace} · k = ${r.k} · ${r.wall_s} s`,
    `${corpus}${queries}${r.judgements_file ? `; judgements: ${r.judgements_file}` : ''}`,
    ...r.systems.map((s) => `  ${describeSystem(s)}`),
    ...r.notes.map((note) => `note: ${note}`),
    ...r.tasks.map((t) => `\n${formatTask(t, r)}`),
    ...(r.tune ? [`\n${formatTune(r.tune, r.k)}`] : []),
  ].join('\n');
}
