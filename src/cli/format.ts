/** Human-readable output of the CLI; `--json` bypasses all of this. */
import type { RetryResult } from '../pipeline/retry-failures.js';
import type { RunSummary } from '../pipeline/run.js';
import type { Candidate } from '../retrieve/similar.js';
import type { FailureRow } from '../store/failures.js';
import type { VersionSummary } from '../store/versions.js';

const clip = (text: string | null, n: number) => {
  if (!text) return '';
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > n ? `${oneLine.slice(0, n - 1)}…` : oneLine;
};

export function formatSummary(s: RunSummary): string {
  const rows: Array<[string, string | number]> = [
    ['run', s.run_id],
    ['version', `${s.version} (${s.provider}/${s.model}, ${s.dims}-d, ${s.modality})`],
    ['items seen', s.items_seen],
    [s.dry_run ? 'to embed' : 'embedded', s.embedded],
    ['skipped (unchanged)', s.skipped_unchanged],
    ['from content cache', s.cache_hits],
    ['lexical index only', s.lexical_indexed],
    ...(s.sample < 1 ? ([['sample', `${+(s.sample * 100).toFixed(2)}% (${s.sampled_out} items left for later)`]] as Array<[string, string]>) : []),
    ['rejected rows', s.rejected],
    ['failed items', s.failed],
    ['failure rate', `${(s.failure_rate * 100).toFixed(2)}%${s.alert ? '  ⚠ above threshold' : ''}`],
    ['duplicates', s.duplicates],
    ...(s.cleaned > 0 ? ([['cleaned rows', `${s.cleaned} (invalid characters removed)`]] as Array<[string, string]>) : []),
    ...(s.truncated > 0 ? ([['truncated items', `${s.truncated} (cut to embed.maxTokensPerItem)`]] as Array<[string, string]>) : []),
    ...(s.dead_letters_unwritten > 0
      ? ([['dead letters unwritten', `${s.dead_letters_unwritten} (each one is an error line in the log)`]] as Array<[string, string]>)
      : []),
    ['chunks', s.chunks],
    [
      s.dry_run ? 'requests' : 'api calls',
      s.retries > 0
        ? `${s.api_calls} (${s.retries} retried: ${Object.entries(s.retries_by_cause)
            .map(([k, v]) => `${v} ${k}`)
            .join(', ')})`
        : s.api_calls,
    ],
    ['tokens', s.tokens],
    [s.dry_run ? 'estimated cost' : 'cost', s.cost_usd === null ? 'unknown (set prices.<model> in the config)' : `$${s.cost_usd.toFixed(4)}`],
    ...(s.mode === 'batch'
      ? ([
          [
            'batches',
            `${s.batches.submitted} submitted, ${s.batches.loaded} loaded, ${s.batches.pending} still running${s.batches.items_in_open_batches ? ` (${s.batches.items_in_open_batches} changed items already in them)` : ''}`,
          ],
        ] as Array<[string, string]>)
      : ([['latency mean / p95', `${s.latency_ms_mean} ms / ${s.latency_ms_p95} ms`]] as Array<[string, string]>)),
    ['wall', `${s.wall_s} s (${s.items_per_s} items/s)`],
    ['parquet parts', `${s.parquet_parts} → ${s.objects_url}`],
    ['database', s.database],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
  if (s.rejected + s.failed > 0) lines.push('', '  see them with: itemvec failures list');
  return [s.dry_run ? 'itemvec run --dry-run: nothing was embedded or written' : 'itemvec run finished', ...lines].join('\n');
}

const part = (x: number | null, digits: number) => (x === null ? '—' : x.toFixed(digits));

/** One line per candidate: the ranking score, then each signal's own score (dense cosine, lexical BM25, tag overlap). */
export function formatCandidates(title: string, candidates: Candidate[]): string {
  if (candidates.length === 0) return `${title}\n  (no neighbours)`;
  const lines = candidates.map((c, i) => {
    const parts = `dense ${part(c.dense_score, 3).padStart(6)}  lexical ${part(c.lexical_score, 2).padStart(6)}  tags ${part(c.tag_score, 2).padStart(4)}`;
    const what = [c.title, [c.brand, c.category].filter(Boolean).join(' · ')].filter(Boolean).join(' — ');
    return `  ${String(i + 1).padStart(2)}. ${c.score.toFixed(4)}  ${parts}  ${c.item_id.padEnd(12)} ${what}${c.description ? ` — ${clip(c.description, 50)}` : ''}`;
  });
  return [title, ...lines].join('\n');
}

export function formatVersions(list: VersionSummary[]): string {
  if (list.length === 0) return 'no embedding versions yet; run `itemvec run` first';
  const header = ['namespace', 'modality', 'version', 'status', 'rows', 'coverage', 'size', 'provider/model', 'dims', 'storage', 'created'];
  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
  const rows = list.map((v) => [
    v.namespace,
    v.modality,
    v.version,
    v.status,
    String(v.rows),
    v.coverage === null ? '—' : `${+(v.coverage * 100).toFixed(2)}%`,
    `${mb(v.vectorBytes)} + ${mb(v.indexBytes)} index`,
    `${v.provider}/${v.model}`,
    String(v.dims),
    v.storage,
    v.createdAt.toISOString(),
  ]);
  return table(header, rows);
}

export function formatFailures(list: FailureRow[]): string {
  if (list.length === 0) return 'no failures recorded';
  const header = ['item / row', 'stage', 'error', 'field', 'message', 'version', 'attempts', 'last seen'];
  const rows = list.map((f) => [
    f.item_id ?? f.source_ref ?? f.failure_key,
    f.stage,
    f.error_class,
    f.field ?? '',
    clip(f.message, 60),
    f.version,
    String(f.attempts),
    new Date(f.last_seen).toISOString(),
  ]);
  return table(header, rows);
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function formatRetries(results: RetryResult[]): string {
  if (results.length === 0) return 'no recorded failures match';
  return results
    .map((r) => {
      const s = r.summary;
      const still = s.failed + s.rejected;
      return (
        `${r.key.namespace} ${r.key.version} (${r.key.modality}): replayed ${r.replayed}, ${s.dry_run ? `would embed ${s.embedded}` : `embedded ${s.embedded}`}, ` +
        `already current ${s.skipped_unchanged}, resolved ${r.resolved}, still failing ${still}${still > 0 ? ' (itemvec failures list)' : ''}`
      );
    })
    .join('\n');
}
