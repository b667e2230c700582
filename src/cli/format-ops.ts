/** Human-readable output of `runs list|show`, `status`, `schedule` and `enqueue`; `--json` bypasses it. */
import type { ScheduleEntry } from '../orchestrate/schedule.js';
import type { RunDetail, RunRow } from '../store/runs.js';
import type { VersionStatus } from '../store/status.js';
import { table } from './format.js';

const when = (d: Date | string | null) => (d ? new Date(d).toISOString().replace(/\.\d+Z$/, 'Z') : '');
const pct = (rate: number | null) => (rate === null ? '' : `${(Number(rate) * 100).toFixed(2)}%`);
const usd = (cost: number | null) => (cost === null ? '' : `$${Number(cost).toFixed(4)}`);

export function formatRuns(list: RunRow[]): string {
  if (list.length === 0) return 'no runs recorded yet';
  const header = [
    'run',
    'status',
    'trigger',
    'version',
    'modality',
    'shards',
    'items',
    'embedded',
    'failed',
    'failure rate',
    'tokens',
    'cost',
    'started',
    'finished',
  ];
  const rows = list.map((r) => [
    r.run_id,
    r.status,
    r.trigger,
    r.version,
    r.modality,
    r.shards === null ? '-' : String(r.shards),
    String(r.items_seen),
    String(r.embedded),
    String(r.failed),
    pct(r.failure_rate),
    String(r.tokens),
    usd(r.cost_usd),
    when(r.started_at),
    when(r.finished_at),
  ]);
  return table(header, rows);
}

export function formatRun(r: RunDetail): string {
  const rows: Array<[string, string | number]> = [
    ['run', r.run_id],
    ['status', r.status + (r.error ? ` — ${r.error}` : '')],
    ['job / trigger', `${r.job} / ${r.trigger}`],
    ['version', `${r.namespace ?? '(all)'} · ${r.version} · ${r.modality}`],
    ['shards', r.shards === null ? `one process (${r.host}, pid ${r.pid})` : r.shards],
    ['items seen', r.items_seen],
    ['embedded', r.embedded],
    ['skipped (unchanged)', r.skipped],
    ['from content cache', r.cache_hits],
    ['failed (items + rows)', r.failed],
    ['failure rate', pct(r.failure_rate)],
    ['api calls', r.api_calls],
    ['tokens', r.tokens],
    ['cost', r.cost_usd === null ? 'unknown' : usd(r.cost_usd)],
    ['latency mean / p95', r.latency_ms_mean === null ? '' : `${r.latency_ms_mean} ms / ${r.latency_ms_p95} ms`],
    ['started / finished', `${when(r.started_at)} / ${when(r.finished_at) || '(running)'}`],
    ...(r.resumed_from ? ([['resumed from', r.resumed_from]] as Array<[string, string]>) : []),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}

export function formatStatus(versions: VersionStatus[], running: RunRow[]): string {
  const parts: string[] = [];
  if (versions.length === 0) {
    parts.push('no embedding versions yet; run `itemvec run` first');
  } else {
    const header = ['namespace', 'modality', 'version', 'status', 'catalog', 'embedded', 'pending', 'dead letters', 'open batches'];
    parts.push(
      table(
        header,
        versions.map((v) => [
          v.namespace,
          v.modality,
          v.version,
          v.status,
          String(v.catalog_items),
          String(v.embedded),
          String(v.pending),
          String(v.failures),
          String(v.open_batches),
        ]),
      ),
    );
  }
  parts.push('', running.length === 0 ? 'no run is running' : `running:\n${formatRuns(running)}`);
  return parts.join('\n');
}

export function formatSchedules(list: ScheduleEntry[]): string {
  if (list.length === 0) return 'no schedules; register them with: itemvec schedule --catalog FILE';
  return table(
    ['key', 'cron', 'tz', 'shards', 'source'],
    list.map((s) => [
      s.key,
      s.cron,
      s.tz,
      String(s.spec.shards),
      s.spec.source.kind === 'file' ? s.spec.source.path : `${s.spec.source.table} @ ${s.spec.source.url}`,
    ]),
  );
}
