/** /ui/login: the one form where a reviewer pastes an API key. */
import { html } from './html.js';
import { page } from './layout.js';
import { errorBox } from './parts.js';

export function loginPage(o: { next: string; problem?: string }): string {
  return page(
    { title: 'Log in' },
    html`<div class="login">
<h1>Log in to the review console</h1>
${o.problem ? errorBox(o.problem) : ''}
<p>Paste an itemvec API key: the same key the <code>/v1</code> API takes (<code>itemvec keys add --org &lt;uuid&gt;</code> prints one).
The console shows only that key's organisation.</p>
<form method="post" action="/ui/login">
<input type="hidden" name="next" value="${o.next}">
<label for="api_key">API key
<input id="api_key" name="api_key" type="password" autocomplete="off" spellcheck="false" required maxlength="1024" autofocus></label>
<button type="submit" class="primary">Log in</button>
</form>
<p class="desc">The key is kept in an HttpOnly cookie for this browser session only: scripts cannot read it and it is gone when the browser closes. Log out to remove it sooner.</p>
</div>`,
  );
}
