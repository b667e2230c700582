/**
 * Image URLs as they may appear in logs and dead letters. Signed URLs carry their secret in the
 * query string under names that differ per vendor (`X-Amz-Signature`, `X-Goog-Signature`, Azure's
 * `sig`, CloudFront's `Signature`, `token`…): a list of names would miss one, so every query value
 * is masked and only the names are kept. User info and fragments are dropped.
 */
export function redactImageUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Not parseable: show only a prefix, and nothing after a '?', an '@' or a '#'.
    const cut = raw.search(/[?#@]/);
    const head = (cut === -1 ? raw : raw.slice(0, cut)).slice(0, 120);
    return cut === -1 ? head : `${head}…`;
  }
  url.username = '';
  url.password = '';
  url.hash = '';
  const names = [...url.searchParams.keys()];
  if (names.length === 0) return url.href;
  const base = url.href.slice(0, url.href.indexOf('?'));
  return `${base}?${names.map((n) => `${encodeURIComponent(n)}=***`).join('&')}`;
}
