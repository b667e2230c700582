/**
 * /ui/runs — read only: the org's versions with their coverage and which one serves, the
 * BLEND_EMBEDDING_VERSION this service runs with, and the recent runs with a chart. Activation and
 * rollback stay CLI actions (there is no HTTP API for them); the page shows the commands to copy.
 */
import type { BlendVersions } from '../../retrieve/version.js';
import type { RunOverview } from '../../store/runs.js';
import type { VersionStatus } from '../../store/status.js';
import { runsChart } from './chart.js';
import type { Viewer } from './context.js';
import { type Html, html } from './html.js';
import { page } from './layout.js';

export interface RunsPageData extends Viewer {
  versions: VersionStatus[];
  runs: RunOverview[];
  /** BLEND_EMBEDDING_VERSION as the service read it (null: not set). */
  blendSetting: string | null;
  blend: BlendVersions;
}

const n = (x: number) => x.toLocaleString('en-US');
const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(2)}%`);
const ms = (x: number | null) => (x === null ? '—' : `${Math.round(x)}`);
const when = (d: Date | null) => (d ? new Date(d).toISOString().slice(0, 19).replace('T', ' ') : '—');

function duration(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** The version this service reads for a namespace when a request names none, and why. */
function served(d: RunsPageData, namespace: string, modality: string): { version: string | null; source: string } {
  const blend = d.blend.byNamespace.get(namespace) ?? d.blend.fallback;
  if (blend && modality === 'text') return { version: blend, source: 'BLEND_EMBEDDING_VERSION' };
  const active = d.versions.find((v) => v.namespace === namespace && v.modality === modality && v.status === 'active');
  return { version: active?.version ?? null, source: 'active version' };
}

function commands(d: RunsPageData, v: VersionStatus): Html {
  const scope = `--org ${d.orgId} --namespace ${v.namespace}${v.modality === 'image' ? ' --modality image' : ''}`;
  if (v.status === 'active') return html`<code>itemvec versions rollback ${scope}</code>`;
  return html`<code>itemvec versions activate ${v.version} ${scope}</code>`;
}

function versionsTable(d: RunsPageData): Html {
  if (d.versions.length === 0) return html`<p class="notice">No embedding versions yet.</p>`;
  const rows = d.versions.map((v) => {
    const s = served(d, v.namespace, v.modality);
    const coverage = v.catalog_items === 0 ? null : v.embedded / v.catalog_items;
    return html`<tr>
<th scope="row">${v.namespace} · ${v.version}</th>
<td>${v.modality}</td>
<td>${v.status === 'active' ? html`<strong>active</strong>` : v.status}</td>
<td>${s.version === v.version ? html`<span class="badge both">served</span> <span class="desc">(${s.source})</span>` : ''}</td>
<td class="num">${n(v.embedded)} / ${n(v.catalog_items)}</td>
<td class="num">${pct(coverage)}</td>
<td class="num">${n(v.pending)}</td>
<td class="num">${n(v.failures)}</td>
<td>${commands(d, v)}</td>
</tr>`;
  });
  return html`<table>
<caption>Versions: coverage is items with a vector over items in the namespace's catalog</caption>
<thead><tr><th scope="col">namespace · version</th><th scope="col">modality</th><th scope="col">status</th><th scope="col">read by this service</th>
<th scope="col" class="num">with a vector / items</th><th scope="col" class="num">coverage</th><th scope="col" class="num">pending</th><th scope="col" class="num">dead letters</th>
<th scope="col">command to copy</th></tr></thead>
<tbody>${rows}</tbody>
</table>`;
}

function runsTable(runs: RunOverview[]): Html {
  if (runs.length === 0) return html`<p class="notice">No runs recorded for this organisation's versions yet.</p>`;
  const rows = runs.map(
    (r) => html`<tr>
<th scope="row"><code title="${r.run_id}">${r.run_id.slice(0, 8)}</code></th>
<td>${when(r.started_at)}</td>
<td>${r.status}${r.error ? html`<div class="desc">${r.error.slice(0, 200)}</div>` : ''}</td>
<td>${r.trigger}</td>
<td>${r.namespace ?? '—'} · ${r.version} · ${r.modality}${r.shards ? ` · ${r.shards} shards` : ''}</td>
<td class="num">${n(r.items_seen)}</td>
<td class="num">${n(r.embedded)}</td>
<td class="num">${n(r.failed)}</td>
<td class="num">${pct(r.failure_rate)}</td>
<td class="num">${n(r.tokens)}</td>
<td class="num">${r.cost_usd === null ? '—' : `$${Number(r.cost_usd).toFixed(4)}`}</td>
<td class="num">${ms(r.latency_ms_mean)} / ${ms(r.latency_ms_p95)}</td>
<td class="num">${duration(r.duration_s)}</td>
<td class="num">${r.items_per_s === null ? '—' : (Math.round(r.items_per_s * 10) / 10).toString()}</td>
</tr>`,
  );
  return html`<table>
<caption>Recent runs, newest first (times UTC)</caption>
<thead><tr><th scope="col">run</th><th scope="col">started</th><th scope="col">status</th><th scope="col">trigger</th><th scope="col">namespace · version · modality</th>
<th scope="col" class="num">items seen</th><th scope="col" class="num">embedded</th><th scope="col" class="num">failed</th><th scope="col" class="num">failure rate</th>
<th scope="col" class="num">tokens</th><th scope="col" class="num">cost</th><th scope="col" class="num">latency mean / p95 ms</th><th scope="col" class="num">duration</th>
<th scope="col" class="num">items/s</th></tr></thead>
<tbody>${rows}</tbody>
</table>`;
}

export function runsPage(d: RunsPageData): string {
  const namespaces = [...new Set(d.versions.map((v) => v.namespace))];
  const chart = runsChart(
    d.runs.map((r) => ({
      at: new Date(r.started_at),
      itemsPerSecond: r.items_per_s,
      failureRate: r.failure_rate,
      label: `run ${r.run_id.slice(0, 8)} (${r.version}, ${when(r.started_at)})`,
    })),
  );
  return page(
    { title: 'Runs and versions', orgId: d.orgId, keyId: d.keyId, section: 'runs' },
    html`<h1>Runs and versions</h1>
<h2>Versions</h2>
<p><code>BLEND_EMBEDDING_VERSION</code> in force for this service: ${d.blendSetting ? html`<code>${d.blendSetting}</code>` : 'not set (each namespace reads its active version)'}.
${namespaces.map((ns) => {
  const s = served(d, ns, 'text');
  return html`<br>namespace <code>${ns}</code>: reads <strong>${s.version ?? 'nothing (no active version)'}</strong> (${s.source})`;
})}</p>
${versionsTable(d)}
<p class="note">This page changes nothing. Activation and rollback are CLI actions (there is no HTTP API for them): run the command shown,
with the same <code>DATABASE_URL</code> as this service (with the embedded database, stop <code>itemvec serve</code> first: one process at a time).
Requests that name no version follow the change at once. <code>BLEND_EMBEDDING_VERSION</code> overrides the active version: set
<code>retrieve.blendEmbeddingVersion</code> in the config file and send <code>kill -HUP &lt;pid&gt;</code>, or change the environment and restart.</p>
<h2>Recent runs</h2>
${chart ?? html`<p class="desc">No run has recorded items/s or a failure rate yet.</p>`}
${runsTable(d.runs)}`,
  );
}
