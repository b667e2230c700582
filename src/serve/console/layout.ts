/**
 * The frame every console page shares: a skip link, the navigation, who is signed in, and a log-out
 * button (a POST form: a plain link would let any page that can make the browser follow a link sign
 * the reviewer out).
 */
import { type Html, html } from './html.js';
import { CONSOLE_CSS_PATH } from './style.js';

export type Section = 'search' | 'runs' | null;

export interface PageOptions {
  title: string;
  /** The signed-in org; absent on the login page. */
  orgId?: string;
  /** The API key's id (never the key), shown so a reviewer knows which key their marks carry. */
  keyId?: string;
  section?: Section;
}

export function page(o: PageOptions, body: Html): string {
  const link = (href: string, label: string, section: Section) =>
    html`<li><a href="${href}"${o.section === section ? html` aria-current="page"` : ''}>${label}</a></li>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · itemvec review console</title>
<link rel="stylesheet" href="${CONSOLE_CSS_PATH}">
</head>
<body>
<a class="skip" href="#main">Skip to main content</a>
<header class="top">
<span class="brand">itemvec review</span>
${
  o.orgId
    ? html`<nav aria-label="Console"><ul>${link('/ui', 'Search', 'search')}${link('/ui/runs', 'Runs and versions', 'runs')}</ul></nav>
<div class="who"><span>org <code>${o.orgId}</code>${o.keyId ? html` · key <code>${o.keyId}</code>` : ''}</span>
<form method="post" action="/ui/logout"><button type="submit" class="link">Log out</button></form></div>`
    : ''
}
</header>
<main id="main" tabindex="-1">
${body}
</main>
</body>
</html>
`.value;
}
