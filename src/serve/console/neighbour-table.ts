/** A ranked list of candidates as a table: image, item, every part score, and (for a query item) the Good / Bad marks. */
import type { SimilarResult } from '../../retrieve/similar.js';
import type { CatalogCard } from '../../store/catalog-items.js';
import { type Html, html } from './html.js';
import { itemCell, itemImage, markForm, SCORE_HEADERS, scoreCells } from './parts.js';

export interface NeighbourTable {
  caption: Html;
  result: SimilarResult;
  namespace: string;
  /** The item the list answers; null for a text search (nothing to mark against). */
  queryItemId: string | null;
  cards: Map<string, CatalogCard>;
  /** Marks of this version for the query item: item id → grade. */
  marks: Map<string, number>;
  /** The page the mark forms come back to; each row's anchor is added. */
  returnTo: string;
  /** Row anchors are `${anchor}${rank}`. */
  anchor: string;
  /** Side by side: this column's name and each item's rank in the other column (absent: only in this one). */
  compare?: { self: string; other: string; ranks: Map<string, number> };
}

export function neighbourTable(t: NeighbourTable): Html {
  const { result } = t;
  const version = result.version.version;
  if (result.candidates.length === 0) return html`<p class="notice">No candidates.</p>`;
  const rows = result.candidates.map((c, i) => {
    const rank = i + 1;
    const otherRank = t.compare?.ranks.get(c.item_id);
    // Side by side, the overlap and the mark share one cell: two columns must fit one screen.
    const overlap = t.compare
      ? otherRank !== undefined
        ? html`<span class="badge both">in both</span> <span>#${otherRank} in ${t.compare.other}</span>`
        : html`<span class="badge only">only in ${t.compare.self}</span>`
      : '';
    const mark =
      t.queryItemId === null
        ? ''
        : markForm({
            namespace: t.namespace,
            version,
            queryItemId: t.queryItemId,
            itemId: c.item_id,
            grade: t.marks.get(c.item_id),
            returnTo: `${t.returnTo}#${t.anchor}${rank}`,
          });
    const review = t.compare || t.queryItemId !== null ? html`<td>${overlap}${mark}</td>` : '';
    const cls = t.compare ? (otherRank !== undefined ? 'both' : 'only') : undefined;
    return html`<tr id="${t.anchor}${rank}"${cls ? html` class="${cls}"` : ''}>
<td class="num">${rank}</td>
<td>${itemImage(t.cards.get(c.item_id), c.item_id)}</td>
<th scope="row">${itemCell(c, t.namespace, version, !t.compare)}</th>
${scoreCells(c)}
${review}</tr>`;
  });
  const reviewHeader = t.compare ? 'other list · your mark' : t.queryItemId !== null ? 'your mark' : null;
  return html`<table${t.compare ? html` class="compact"` : ''}>
<caption${t.compare ? html` class="vh"` : ''}>${t.caption}</caption>
<thead><tr><th scope="col" class="num">#</th><th scope="col">image</th><th scope="col">item</th>${SCORE_HEADERS(result.mode)}${
    reviewHeader ? html`<th scope="col">${reviewHeader}</th>` : ''
  }</tr></thead>
<tbody>
${rows}
</tbody>
</table>
<p class="desc">Under each part score: the item's rank in that signal's own candidate list (none: the list did not reach it; the score is still computed).</p>`;
}

/** "version v2 (active) · fused: dense 1, lexical 3, tags 0.5, rrfK 60" */
export function describeList(result: SimilarResult, activeVersion: string | undefined): string {
  const v = result.version.version;
  const f = result.fusion;
  const how = result.mode === 'fused' ? `fused: dense ${f.dense}, lexical ${f.lexical}, tags ${f.tags}, rrfK ${f.rrfK}` : `${result.mode} alone`;
  return `version ${v}${v === activeVersion ? ' (active)' : ''} · ${how}`;
}
