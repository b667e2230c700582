/**
 * HTML built from template strings, every interpolated value escaped unless it is already Html.
 *
 *   html`<td>${candidate.brand}</td>`                  → the brand as text, whatever it contains
 *   html`<ul>${items.map((i) => html`<li>${i}</li>`)}</ul>`
 *
 * No library: the console writes text into element content and into attribute values that are
 * always double-quoted, and for those two contexts escaping & < > " ' is the whole job (the OWASP
 * rule for HTML body and quoted attributes). What the five replacements cannot make safe, a URL in
 * an href or src, goes through safeImageUrl or is built by the console from encodeURIComponent.
 * The pages carry no script at all, and the Content-Security-Policy says so, so a slip elsewhere
 * still cannot run one.
 */

/** Markup that is already safe: produced by `html`, or a constant of the console's own. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** Arrays are joined; null, undefined and false render nothing; anything else is escaped text. */
type Value = Html | string | number | boolean | null | undefined | readonly Value[];

function render(value: Value): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}

/**
 * An image URL from the catalog, if the browser may be pointed at it: http(s) only, so a
 * `javascript:` or `data:` value from a hostile catalog row is never rendered as a link or image.
 */
export function safeImageUrl(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
  } catch {
    return null;
  }
}

/** A console URL: `/ui/path` with the parameters that have a value, each one encoded. */
export function uiUrl(path: string, params: Record<string, string | number | null | undefined> = {}): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== null && value !== undefined && value !== '') query.set(name, String(value));
  const qs = query.toString();
  return `/ui${path}${qs ? `?${qs}` : ''}`;
}

/** The path segment of an item id: every character that is not unreserved percent-encoded. */
export const itemPath = (itemId: string) => `/items/${encodeURIComponent(itemId)}`;
