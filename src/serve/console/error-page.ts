/** The console's answer to a request it cannot serve: the status in words and what to do. */
import { html } from './html.js';
import { page } from './layout.js';
import { errorBox } from './parts.js';

const TITLES: Record<number, string> = {
  400: 'Bad request',
  403: 'Refused',
  404: 'Not found',
  413: 'Too large',
  502: 'Embedding provider failed',
  503: 'Database unavailable',
};

export function errorPage(o: { status: number; message: string; orgId?: string; keyId?: string }): string {
  const title = TITLES[o.status] ?? (o.status >= 500 ? 'Server error' : 'Error');
  return page(
    { title, orgId: o.orgId, keyId: o.keyId },
    html`<h1>${title}</h1>
${errorBox(o.message)}
<p><a href="/ui">Back to search</a></p>`,
  );
}
