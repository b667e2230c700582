/** Fragments several console pages share: images, scores, tags, the Good / Bad form, option lists. */
import type { Candidate, RetrievalMode } from '../../retrieve/similar.js';
import type { CatalogCard } from '../../store/catalog-items.js';
import { type Html, html, itemPath, safeImageUrl, uiUrl } from './html.js';

const fixed = (x: number | null, digits: number) => (x === null ? html`<span aria-hidden="true">—</span><span class="vh">none</span>` : x.toFixed(digits));

/** The item's image, loaded by the browser from the catalog's URL (the server never fetches it). */
export function itemImage(card: Pick<CatalogCard, 'image_url' | 'brand' | 'category' | 'title' | 'item_id'> | undefined, itemId: string): Html {
  const src = safeImageUrl(card?.image_url);
  if (!src) return html`<span class="thumb">no image</span>`;
  const alt = card ? [card.title, card.brand, card.category].filter(Boolean).join(' · ') || itemId : itemId;
  return html`<img src="${src}" loading="lazy" alt="${alt}" width="160" height="160">`;
}

export function tagList(tags: readonly string[] | undefined): Html {
  if (!tags?.length) return html`<span class="desc">no tags</span>`;
  return html`<ul class="tags" aria-label="tags">${tags.map((t) => html`<li>${t}</li>`)}</ul>`;
}

/** A description shortened for a table cell: the full text is on the item's own page. */
export const shortText = (text: string | null | undefined, max = 160) => (!text ? '' : text.length > max ? `${text.slice(0, max - 1)}…` : text);

export const SCORE_HEADERS = (mode: RetrievalMode) =>
  html`<th scope="col" class="num">score<span class="vh"> (${mode})</span></th><th scope="col" class="num">dense</th><th scope="col" class="num">lexical</th><th scope="col" class="num">tags</th>`;

/** Every part score of a candidate: the ranking score (fused, or the one signal's), then each signal's own. */
export function scoreCells(c: Candidate): Html {
  const rank = (signal: keyof Candidate['ranks']) =>
    c.ranks[signal] === null ? '' : html`<br><span class="desc"><span class="vh">rank in the ${signal} list </span>#${c.ranks[signal]}</span>`;
  return html`<td class="num">${c.score.toFixed(4)}</td>
<td class="num">${fixed(c.dense_score, 3)}${rank('dense')}</td>
<td class="num">${fixed(c.lexical_score, 2)}${rank('lexical')}</td>
<td class="num">${fixed(c.tag_score, 2)}${rank('tags')}</td>`;
}

/** The item cell of a neighbour row: its id linking to its own page, and what it is. */
export function itemCell(
  c: Pick<Candidate, 'item_id' | 'title' | 'brand' | 'category' | 'description'>,
  namespace: string,
  version: string,
  withDescription = true,
): Html {
  return html`<a href="${uiUrl(itemPath(c.item_id), { namespace, version })}">${c.item_id}</a>
<div>${[c.title, c.brand, c.category].filter(Boolean).join(' · ')}</div>
${withDescription ? html`<div class="desc">${shortText(c.description)}</div>` : ''}`;
}

export interface MarkTarget {
  namespace: string;
  version: string;
  queryItemId: string;
  itemId: string;
  /** 1 good, 0 bad, undefined not marked yet. */
  grade: number | undefined;
  /** The page (and row anchor) to come back to. */
  returnTo: string;
}

/** Good / Bad: a POST form of its own per row, so it works without JavaScript; the current mark is said in words. */
export function markForm(t: MarkTarget): Html {
  const pressed = (g: number) => (t.grade === g ? 'true' : 'false');
  const current =
    t.grade === undefined ? '' : t.grade === 1 ? html`<span class="badge good">marked good</span>` : html`<span class="badge bad">marked bad</span>`;
  return html`${current}<form class="mark" method="post" action="/ui/judgements">
<input type="hidden" name="namespace" value="${t.namespace}">
<input type="hidden" name="version" value="${t.version}">
<input type="hidden" name="query_item_id" value="${t.queryItemId}">
<input type="hidden" name="item_id" value="${t.itemId}">
<input type="hidden" name="return_to" value="${t.returnTo}">
<button type="submit" name="grade" value="1" aria-pressed="${pressed(1)}">Good<span class="vh"> answer: ${t.itemId} (${t.version})</span></button>
<button type="submit" name="grade" value="0" aria-pressed="${pressed(0)}">Bad<span class="vh"> answer: ${t.itemId} (${t.version})</span></button>
</form>`;
}

export function options(values: readonly string[], selected: string | undefined, label: (v: string) => string = (v) => v): Html {
  return html`${values.map((v) => html`<option value="${v}"${v === selected ? html` selected` : ''}>${label(v)}</option>`)}`;
}

export function errorBox(message: string): Html {
  return html`<p class="error" role="alert">${message}</p>`;
}
