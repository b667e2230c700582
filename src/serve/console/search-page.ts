/**
 * /ui — the search box. An item id of the org's catalog opens its item view; anything else is a
 * text search with the version's own embedding model (as POST /v1/namespaces/:ns/search does).
 */
import type { SimilarResult } from '../../retrieve/similar.js';
import type { CatalogCard } from '../../store/catalog-items.js';
import { type NamespaceChoice, namespaceSelect, type Viewer, versionSelect } from './context.js';
import { html } from './html.js';
import { page } from './layout.js';
import { describeList, neighbourTable } from './neighbour-table.js';
import { CONSOLE_MAX_K } from './params.js';
import { errorBox, options } from './parts.js';

export const SEARCH_MODES = ['fused', 'dense', 'lexical'] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];

export interface SearchPageData extends Viewer {
  /** Null when the org has no text version yet. */
  choice: NamespaceChoice | null;
  q: string | undefined;
  version: string | undefined;
  mode: SearchMode;
  k: number;
  result: SimilarResult | null;
  problem: string | null;
  cards: Map<string, CatalogCard>;
}

export function searchPage(d: SearchPageData): string {
  if (!d.choice) {
    return page(
      { title: 'Search', orgId: d.orgId, keyId: d.keyId, section: 'search' },
      html`<h1>Search</h1><p class="notice">This organisation has no text embedding version yet: run <code>itemvec run --catalog FILE --org ${d.orgId}</code> first.</p>`,
    );
  }
  const active = d.choice.versions.find((v) => v.status === 'active')?.version;
  const results = d.result
    ? neighbourTable({
        caption: html`Items for “${d.q}” · ${describeList(d.result, active)}`,
        result: d.result,
        namespace: d.choice.namespace,
        queryItemId: null,
        cards: d.cards,
        marks: new Map(),
        returnTo: '',
        anchor: 's',
      })
    : '';
  return page(
    { title: d.q ? `Search: ${d.q}` : 'Search', orgId: d.orgId, keyId: d.keyId, section: 'search' },
    html`<h1>Search</h1>
<form class="settings" method="get" action="/ui" role="search">
<label for="q">Item id or text<input id="q" name="q" type="search" value="${d.q ?? ''}" size="40" required maxlength="2000"></label>
${namespaceSelect(d.choice)}
${versionSelect({ id: 'version', name: 'version', label: 'Version', versions: d.choice.versions, selected: d.version })}
<label for="mode">Mode<select id="mode" name="mode">${options(SEARCH_MODES, d.mode, (m) => (m === 'fused' ? 'fused' : `${m} alone`))}</select></label>
<label for="k">Results (k)<input id="k" name="k" type="number" min="1" max="${CONSOLE_MAX_K}" value="${d.k}" size="4"></label>
<button type="submit" class="primary">Search</button>
</form>
<p class="desc">An item id of this namespace opens that item and its neighbours; any other text searches with the version's own model and BM25.
${d.mode !== 'lexical' ? 'If the embedding provider is unreachable from the service, choose “lexical alone”.' : ''}</p>
${d.problem ? errorBox(d.problem) : ''}
${results}`,
  );
}
