/**
 * /ui/compare — one item's neighbours under two settings side by side: two versions, or two modes or
 * fusion weights of one version. Items both lists hold are highlighted with their rank in the other;
 * items only one holds are marked. Every row can be marked Good or Bad for its column's version.
 */
import { RETRIEVAL_MODES, type RetrievalMode, type SimilarResult } from '../../retrieve/similar.js';
import type { CatalogCard } from '../../store/catalog-items.js';
import { type NamespaceChoice, type Viewer, versionSelect } from './context.js';
import { type Html, html, itemPath, uiUrl } from './html.js';
import { itemSummary } from './item-page.js';
import { page } from './layout.js';
import { describeList, neighbourTable } from './neighbour-table.js';
import { CONSOLE_MAX_K } from './params.js';
import { errorBox, options } from './parts.js';

export interface CompareColumn {
  /** The version asked for (undefined: as served). */
  version: string | undefined;
  mode: RetrievalMode;
  /** Fusion as written in the form; null: the namespace's own. */
  fusion: string | null;
  result: SimilarResult | null;
  problem: string | null;
  marks: Map<string, number>;
}

export interface ComparePageData extends Viewer {
  choice: NamespaceChoice;
  itemId: string;
  card: CatalogCard | undefined;
  k: number;
  servedFusion: string;
  left: CompareColumn;
  right: CompareColumn;
  cards: Map<string, CatalogCard>;
  self: string;
}

function columnFields(side: 'left' | 'right', c: CompareColumn, d: ComparePageData): Html {
  return html`<fieldset><legend>${side === 'left' ? 'Left' : 'Right'}</legend>
${versionSelect({ id: side, name: side, label: 'Version', versions: d.choice.versions, selected: c.version })}
<label for="${side}_mode">Mode<select id="${side}_mode" name="${side}_mode">${options(RETRIEVAL_MODES, c.mode, (m) => (m === 'fused' ? 'fused' : `${m} alone`))}</select></label>
<label for="${side}_fusion">Fusion weights<input id="${side}_fusion" name="${side}_fusion" value="${c.fusion ?? ''}" placeholder="${d.servedFusion}" size="18"></label>
</fieldset>`;
}

const ranksOf = (r: SimilarResult | null) => new Map((r?.candidates ?? []).map((c, i) => [c.item_id, i + 1]));

export function comparePage(d: ComparePageData): string {
  const ns = d.choice.namespace;
  const active = d.choice.versions.find((v) => v.status === 'active')?.version;
  const left = ranksOf(d.left.result);
  const right = ranksOf(d.right.result);
  const shared = [...left.keys()].filter((id) => right.has(id)).length;
  const column = (side: 'left' | 'right', c: CompareColumn, other: Map<string, number>) => {
    const name = side === 'left' ? 'left' : 'right';
    const body = c.result
      ? neighbourTable({
          caption: html`${side === 'left' ? 'Left' : 'Right'}: ${describeList(c.result, active)}`,
          result: c.result,
          namespace: ns,
          queryItemId: d.itemId,
          cards: d.cards,
          marks: c.marks,
          returnTo: d.self,
          anchor: side === 'left' ? 'l' : 'r',
          compare: { self: name, other: side === 'left' ? 'right' : 'left', ranks: other },
        })
      : errorBox(c.problem ?? 'no list');
    return html`<section aria-labelledby="${side}-title"><h2 id="${side}-title">${side === 'left' ? 'Left' : 'Right'}${
      c.result ? html` · <span class="desc">${describeList(c.result, active)}</span>` : ''
    }</h2>${body}</section>`;
  };
  const both = d.left.result && d.right.result;
  const summary = both
    ? html`<p><strong>${shared}</strong> of ${d.left.result!.candidates.length} left and ${d.right.result!.candidates.length} right neighbours are in both lists
(<span class="badge both">in both</span>); ${left.size - shared} only left, ${right.size - shared} only right (<span class="badge only">only in …</span>).</p>`
    : '';
  return page(
    { title: `Compare ${d.itemId}`, orgId: d.orgId, keyId: d.keyId, section: 'search' },
    html`<h1>Side by side: <code>${d.itemId}</code> <span class="desc">namespace ${ns}</span></h1>
${itemSummary(d.itemId, d.card)}
<form class="settings" method="get" action="/ui/compare" aria-label="Comparison settings">
<input type="hidden" name="item" value="${d.itemId}">
<input type="hidden" name="namespace" value="${ns}">
${columnFields('left', d.left, d)}
${columnFields('right', d.right, d)}
<label for="k">Neighbours (k)<input id="k" name="k" type="number" min="1" max="${CONSOLE_MAX_K}" value="${d.k}" size="3"></label>
<button type="submit" class="primary">Compare</button>
</form>
<p><a href="${uiUrl(itemPath(d.itemId), { namespace: ns })}">Item view</a></p>
${summary}
<div class="columns">
${column('left', d.left, right)}
${column('right', d.right, left)}
</div>`,
  );
}
