/** /ui/items/:id — one item with its image and attributes, then its top k neighbours with every part score. */
import { RETRIEVAL_MODES, type RetrievalMode, type SimilarResult } from '../../retrieve/similar.js';
import type { CatalogCard } from '../../store/catalog-items.js';
import { type NamespaceChoice, type Viewer, versionSelect } from './context.js';
import { type Html, html, itemPath, uiUrl } from './html.js';
import { page } from './layout.js';
import { describeList, neighbourTable } from './neighbour-table.js';
import { CONSOLE_MAX_K } from './params.js';
import { errorBox, itemImage, options, tagList } from './parts.js';

export interface ItemPageData extends Viewer {
  choice: NamespaceChoice;
  itemId: string;
  /** Its catalog row; undefined when the item has a vector but no catalog row. */
  card: CatalogCard | undefined;
  /** The version asked for (undefined: as served). */
  version: string | undefined;
  mode: RetrievalMode;
  k: number;
  /** Fusion asked for; null: the namespace's own (served). */
  fusion: string | null;
  servedFusion: string;
  /** Null when the version has nothing for the item (problem says why). */
  result: SimilarResult | null;
  problem: string | null;
  cards: Map<string, CatalogCard>;
  marks: Map<string, number>;
  /** This page's own URL, for the mark forms to come back to. */
  self: string;
}

/** The item as a reviewer recognises it: image, title, brand, category, tags, description. */
export function itemSummary(itemId: string, card: CatalogCard | undefined): Html {
  return html`<div class="item">
${itemImage(card, itemId)}
<dl class="facts">
<dt>item id</dt><dd><code>${itemId}</code></dd>
${card?.title ? html`<dt>title</dt><dd>${card.title}</dd>` : ''}
<dt>brand</dt><dd>${card?.brand || '—'}</dd>
<dt>category</dt><dd>${card?.category || '—'}</dd>
<dt>tags</dt><dd>${tagList(card?.tags)}</dd>
<dt>description</dt><dd>${card?.description || '—'}</dd>
</dl>
</div>`;
}

export function itemPage(d: ItemPageData): string {
  const ns = d.choice.namespace;
  const active = d.choice.versions.find((v) => v.status === 'active')?.version;
  const shown = d.result?.version.version ?? d.version ?? active;
  const other = d.choice.versions.find((v) => v.version !== shown)?.version;
  const compareHref = uiUrl('/compare', {
    item: d.itemId,
    namespace: ns,
    left: shown,
    right: other ?? shown,
    right_mode: other ? undefined : d.mode === 'dense' ? 'lexical' : 'dense',
    k: d.k,
  });
  const form = html`<form class="settings" method="get" action="${uiUrl(itemPath(d.itemId))}" aria-label="Neighbour settings">
<input type="hidden" name="namespace" value="${ns}">
${versionSelect({ id: 'version', name: 'version', label: 'Version', versions: d.choice.versions, selected: d.version })}
<label for="mode">Mode<select id="mode" name="mode">${options(RETRIEVAL_MODES, d.mode, (m) => (m === 'fused' ? 'fused (as served)' : `${m} alone`))}</select></label>
<label for="k">Neighbours (k)<input id="k" name="k" type="number" min="1" max="${CONSOLE_MAX_K}" value="${d.k}" size="4"></label>
<label for="fusion">Fusion weights<input id="fusion" name="fusion" value="${d.fusion ?? ''}" placeholder="${d.servedFusion}" size="34"></label>
<button type="submit" class="primary">Show neighbours</button>
</form>`;
  const list = d.result
    ? neighbourTable({
        caption: html`Top ${d.result.candidates.length} neighbours of <code>${d.itemId}</code> · ${describeList(d.result, active)}`,
        result: d.result,
        namespace: ns,
        queryItemId: d.itemId,
        cards: d.cards,
        marks: d.marks,
        returnTo: d.self,
        anchor: 'n',
      })
    : '';
  return page(
    { title: `Item ${d.itemId}`, orgId: d.orgId, keyId: d.keyId, section: 'search' },
    html`<h1>Item <code>${d.itemId}</code> <span class="desc">namespace ${ns}</span></h1>
${itemSummary(d.itemId, d.card)}
<h2>Neighbours</h2>
${form}
<p><a href="${compareHref}">Compare side by side${other ? ` with version ${other}` : ''}</a> · <a href="${uiUrl('', { namespace: ns })}">New search</a></p>
${d.problem ? errorBox(d.problem) : ''}
${list}`,
  );
}
