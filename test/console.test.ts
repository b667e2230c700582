/**
 * The review console (/ui) on a served sample catalog: two orgs, two versions of one namespace,
 * embedded by the real pipeline through the local OpenAI-compatible server (word-hash vectors, no
 * network), stored in PGlite served over the wire so `itemvec eval` (in-process) reads the same
 * database while the service runs.
 *
 * Plain HTTP first (auth redirects, cookie flags, CSRF, escaping, the key kept out of logs), then the
 * flows in Debian's Chromium driven by playwright-core, with JavaScript on and off. Every request the
 * browser makes outside the service (the catalog's image URLs) is answered by the test with a
 * placeholder image and counted, so nothing leaves the machine. Screenshots go to test-results/.
 * Without Chromium the browser tests fail in CI and are skipped elsewhere, saying how to install it.
 *
 * The README's picture (docs/console.png) is the compare view of this catalog, 1200 × 800:
 *   ITEMVEC_DOCS_SCREENSHOT=docs/console.png node --import tsx --test test/console.test.ts
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import type { Config } from '../src/config.js';
import { readReviewJudgements } from '../src/eval/judgements.js';
import { createLogger } from '../src/log.js';
import { runEmbeddingJob } from '../src/pipeline/run.js';
import { buildServer, type ItemvecServer } from '../src/serve/server.js';
import { serveSettings } from '../src/serve/settings.js';
import { createApiKey } from '../src/store/api-keys.js';
import { type Db, openDb } from '../src/store/db.js';
import { saveMark } from '../src/store/judgements.js';
import { migrate } from '../src/store/migrations.js';
import { openaiTestConfig, quietLogger, type RawItem, sampleItems, tempDir, writeJsonl } from '../testkit/fixtures.js';
import { type OpenAIServer, startOpenAIServer } from '../testkit/openai-server.js';
import { type PgliteServer, startPgliteServer } from '../testkit/pglite-server.js';
import { runCli } from '../testkit/run-cli.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHOTS = path.join(root, 'test-results');

const orgA = randomUUID();
const orgB = randomUUID();
/** Org B's key comes from the config, org A's from the api_keys table: both kinds of key open the console. */
const KEY_B = `config-key-${randomUUID()}`;
let keyA: string;

/** Org A: 32 items over four kinds, and one whose text and attributes try to break out of the page. */
const HOSTILE = {
  item_id: 'hostile-1',
  description: '<script>alert("pwned")</script> A hiking boot with a waterproof leather upper.',
  brand: '"><img src=x onerror=alert(1)>',
  category: 'Footwear > Hiking Boots',
  image_url: 'javascript:alert(1)',
  tags: ['boot', '<b>bold</b>'],
};
const itemsA: RawItem[] = [...sampleItems(32, 'item'), HOSTILE].map((it) => ({ ...it, org_id: orgA }));
/** Org B: its own items, one with a word org A's catalog never uses. */
const B_ONLY = 'bonly-0001';
const itemsB: RawItem[] = [
  {
    item_id: B_ONLY,
    description: 'A quokka plush toy with soft fur.',
    brand: 'Quokkaland',
    category: 'Toys > Plush',
    image_url: 'https://images.example.com/quokka.jpg',
    tags: ['plush'],
  },
  ...sampleItems(6, 'bitem'),
].map((it) => ({ ...it, org_id: orgB }));

let openai: OpenAIServer;
let pglite: PgliteServer;
let home: string;
let db: Db;
let app: ItemvecServer;
let base: string;
let config: Config;
const logLines: string[] = [];

before(async () => {
  [openai, pglite, home] = await Promise.all([startOpenAIServer(), startPgliteServer({ wholeExchanges: true }), tempDir()]);
  db = await openDb({ databaseUrl: pglite.url, home });
  await migrate(db);
  const catalog = await writeJsonl(path.join(home, 'catalog.jsonl'), [...itemsA, ...itemsB]);
  // v1: the default prompt at 32 dims (active: the namespace's first version); v2: description and tags at 16 dims.
  for (const [version, over] of [
    ['v1', {}],
    ['v2', { embed: { dims: 16 }, prompt: { template: '{description}\nTags: {tags}' } }],
  ] as const) {
    const c = openaiTestConfig(home, openai.url, { databaseUrl: pglite.url, version, ...over });
    const summary = await runEmbeddingJob({ config: c, source: { kind: 'file', path: catalog }, db, logger: quietLogger() });
    assert.equal(summary.failed + summary.rejected, 0);
  }
  keyA = (await createApiKey(db, { orgId: orgA, label: 'console test' })).key;
  config = openaiTestConfig(home, openai.url, { databaseUrl: pglite.url, serve: { apiKeys: [{ orgId: orgB, key: KEY_B }] } });
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => logLines.push(...chunk.toString().split('\n').filter(Boolean)));
  app = await buildServer({
    db,
    settings: serveSettings(config),
    logger: createLogger({ level: 'debug', destination: sink }),
    embed: config.embed,
    keyCacheTtlMs: 0,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  await mkdir(SHOTS, { recursive: true });
});

after(async () => {
  await app?.close();
  await db?.close();
  await pglite?.close();
  await openai?.close();
});

// ---- plain HTTP ---------------------------------------------------------------------------------

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function http(pathname: string, o: { key?: string | null; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...o.headers };
  const key = o.key === undefined ? keyA : o.key;
  if (key !== null) headers.cookie = `itemvec_key=${encodeURIComponent(key)}`;
  if (o.form) headers['content-type'] = 'application/x-www-form-urlencoded';
  const res = await fetch(`${base}${pathname}`, {
    method: o.form ? 'POST' : 'GET',
    headers,
    body: o.form ? new URLSearchParams(o.form).toString() : undefined,
    redirect: 'manual',
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const markCount = async (orgId: string) =>
  Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM review_judgements WHERE org_id = $1', [orgId]))[0]!.n);

describe('over HTTP', () => {
  test('without a session every page redirects to the login form, which names where to come back', async () => {
    for (const [pathname, next] of [
      ['/ui', '/ui'],
      ['/ui/items/item-0001?k=3', '/ui/items/item-0001?k=3'],
      ['/ui/runs', '/ui/runs'],
    ]) {
      const r = await http(pathname!, { key: null });
      assert.equal(r.status, 303, pathname);
      assert.equal(r.headers.get('location'), `/ui/login?next=${encodeURIComponent(next!)}`);
    }
    const stale = await http('/ui', { key: 'not-a-key' });
    assert.equal(stale.status, 303);
    assert.match(stale.headers.get('set-cookie') ?? '', /itemvec_key=;.*Max-Age=0/, 'an unknown key in the cookie is cleared');
    const login = await http('/ui/login', { key: null });
    assert.equal(login.status, 200);
    assert.match(login.text, /<label for="api_key">API key/);
    assert.equal((await http('/ui/assets/console.css', { key: null })).status, 200, 'the stylesheet needs no session');
    // A POST without a session does nothing and is sent to log in.
    const before = await markCount(orgA);
    const post = await http('/ui/judgements', {
      key: null,
      form: { namespace: 'default', version: 'v1', query_item_id: 'item-0001', item_id: 'item-0005', grade: '1' },
    });
    assert.equal(post.status, 303);
    assert.equal(await markCount(orgA), before);
  });

  test('logging in sets an HttpOnly, SameSite=Strict session cookie on /ui without an expiry; Secure only over https', async () => {
    const bad = await http('/ui/login', { key: null, form: { api_key: 'wrong-key', next: '/ui/runs' } });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.get('set-cookie'), null);
    assert.match(bad.text, /API key not recognised/);

    const ok = await http('/ui/login', { key: null, form: { api_key: keyA, next: '/ui/runs' } });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get('location'), '/ui/runs');
    const cookie = ok.headers.get('set-cookie')!;
    assert.equal(cookie, `itemvec_key=${encodeURIComponent(keyA)}; Path=/ui; HttpOnly; SameSite=Strict`);
    assert.doesNotMatch(cookie, /Max-Age|Expires|Secure/i);

    const tls = await http('/ui/login', { key: null, form: { api_key: KEY_B }, headers: { 'x-forwarded-proto': 'https' } });
    assert.match(tls.headers.get('set-cookie')!, /; Secure$/);
    assert.equal(tls.headers.get('location'), '/ui');

    // Only console paths are followed after login: no open redirect.
    for (const next of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', '/v1/namespaces']) {
      const r = await http('/ui/login', { key: null, form: { api_key: keyA, next } });
      assert.equal(r.headers.get('location'), '/ui', next);
    }
    const out = await http('/ui/logout', { form: {} });
    assert.equal(out.status, 303);
    assert.match(out.headers.get('set-cookie')!, /^itemvec_key=; Path=\/ui; HttpOnly; SameSite=Strict; Max-Age=0$/);
  });

  test('a POST from another origin or site is refused (CSRF): nothing is written', async () => {
    const form = { namespace: 'default', version: 'v1', query_item_id: 'item-0001', item_id: 'item-0009', grade: '0' };
    const before = await markCount(orgA);
    const crossSite: Array<Record<string, string>> = [
      { origin: 'http://evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of crossSite) {
      const r = await http('/ui/judgements', { form, headers });
      assert.equal(r.status, 403, JSON.stringify(headers));
      assert.match(r.text, /Refused/);
    }
    const login = await http('/ui/login', { key: null, form: { api_key: keyA }, headers: { origin: 'http://evil.example' } });
    assert.equal(login.status, 403, 'login CSRF too');
    assert.equal(login.headers.get('set-cookie'), null);
    assert.equal(await markCount(orgA), before);

    const same = await http('/ui/judgements', {
      form: { ...form, return_to: '//evil.example/' },
      headers: { origin: base, 'sec-fetch-site': 'same-origin' },
    });
    assert.equal(same.status, 303);
    assert.equal(same.headers.get('location'), '/ui/items/item-0001?namespace=default&version=v1', 'return_to outside the console is not followed');
    assert.equal(await markCount(orgA), before + 1);
    // Re-marking overwrites.
    await http('/ui/judgements', { form: { ...form, grade: '1' }, headers: { origin: base } });
    assert.equal(await markCount(orgA), before + 1);
    const [row] = await db.query<{ grade: number; judged_by: string }>(
      "SELECT grade, judged_by FROM review_judgements WHERE org_id = $1 AND query_item_id = 'item-0001' AND item_id = 'item-0009'",
      [orgA],
    );
    assert.equal(Number(row!.grade), 1);
    assert.match(row!.judged_by, /^[0-9a-f]{12}$/, 'judged_by is the key id');
    assert.ok(!keyA.includes(row!.judged_by) || row!.judged_by.length < keyA.length);
    // Another org's items cannot be marked.
    const foreign = await http('/ui/judgements', { form: { ...form, item_id: B_ONLY } });
    assert.equal(foreign.status, 404);
  });

  test('catalog text is escaped: a hostile description, brand, tag and image URL render as text, and no script may run', async () => {
    const r = await http('/ui/items/hostile-1?k=3');
    assert.equal(r.status, 200);
    assert.ok(!r.text.includes('<script>'), 'no script element');
    assert.ok(r.text.includes('&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;'));
    assert.ok(!r.text.includes('<img src=x'), 'no injected element');
    assert.ok(r.text.includes('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'));
    assert.ok(r.text.includes('&lt;b&gt;bold&lt;/b&gt;'));
    assert.ok(!r.text.includes('javascript:'), 'a javascript: image URL is not rendered');
    const csp = r.headers.get('content-security-policy')!;
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /script-src/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('cache-control'), 'no-store');
    // A search text comes back escaped in the form too.
    const s = await http(`/ui?q=${encodeURIComponent('"><script>x</script>')}&mode=lexical`);
    assert.ok(!s.text.includes('<script>x'));
  });

  test('pages carry Server-Timing, stay under 200 kB at the largest k, and are left out of /openapi.json', async (t) => {
    for (const pathname of ['/ui', '/ui/items/item-0001?k=50', '/ui/compare?item=item-0001&left=v1&right=v2&k=50', '/ui/runs', '/ui/login']) {
      const r = await http(pathname);
      assert.equal(r.status, 200, pathname);
      assert.match(r.headers.get('server-timing') ?? '', /^app;dur=\d+(\.\d)?$/, pathname);
      assert.ok(Buffer.byteLength(r.text) < 200_000, `${pathname}: ${Buffer.byteLength(r.text)} bytes`);
      t.diagnostic(`${pathname}: ${Buffer.byteLength(r.text)} bytes, ${r.headers.get('server-timing')}`);
    }
    const doc = JSON.parse((await http('/openapi.json', { key: null })).text) as { paths: Record<string, unknown> };
    assert.ok(!Object.keys(doc.paths).some((p) => p.startsWith('/ui')));
    const badK = await http('/ui/items/item-0001?k=500');
    assert.equal(badK.status, 400);
    assert.match(badK.text, /k must be a whole number from 1 to 50/);
    const badFusion = await http('/ui/items/item-0001?fusion=dense%3Dlots');
    assert.equal(badFusion.status, 400);
  });

  test('fusion weights and modes of the item view reach the retriever', async () => {
    const dense = await http('/ui/items/item-0001?k=3&mode=dense');
    assert.match(dense.text, /dense alone/);
    const weighted = await http(`/ui/items/item-0001?k=3&fusion=${encodeURIComponent('dense=2,lexical=0')}`);
    assert.match(weighted.text, /fused: dense 2, lexical 0, tags 0.5, rrfK 60/);
  });

  test('the review table becomes judgements: a pair marked under several versions counts once, with its latest mark', async () => {
    const org = randomUUID();
    const mark = (version: string, item: string, grade: number) =>
      saveMark(db, org, { namespace: 'default', version, query_item_id: 'q1', item_id: item, grade, judged_by: 'abc123abc123' });
    await mark('v1', 'a', 1);
    await mark('v1', 'b', 1);
    await mark('v2', 'a', 0); // later: bad wins for (q1, a)
    await mark('v2', 'c', 1);
    const set = await readReviewJudgements(db, org, 'default');
    assert.equal(set.file, 'review table (4 marks, latest of each pair: 3)');
    assert.equal(set.judgements, 3);
    assert.deepEqual(
      set.queries.map((q) => [q.kind, q.query, Object.fromEntries(q.grades)]),
      [['item', 'q1', { a: 0, b: 1, c: 1 }]],
    );
    assert.equal((await readReviewJudgements(db, org, 'other')).judgements, 0);
  });
});

// ---- in Chromium --------------------------------------------------------------------------------

const CHROMIUM = process.env.ITEMVEC_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const skipBrowser =
  !haveChromium && !process.env.CI
    ? `no Chromium at ${CHROMIUM}: install Debian's package (sudo apt-get install chromium) or set ITEMVEC_CHROMIUM to a Chromium binary`
    : false;

/** A placeholder product picture per URL (a coloured tile with the file name), standing in for the catalog's CDN. */
function placeholder(url: string): string {
  const name = url.split('/').pop() ?? 'image';
  let hash = 0;
  for (const c of name) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  const hue = hash % 360;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="160" height="160"><rect width="160" height="160" fill="hsl(${hue},55%,82%)"/><circle cx="80" cy="66" r="34" fill="hsl(${hue},45%,55%)"/><text x="80" y="136" font-family="sans-serif" font-size="14" text-anchor="middle" fill="#333">${name.replace(/[<&>]/g, '')}</text></svg>`;
}

describe('in Chromium', { skip: skipBrowser }, () => {
  let browser: Browser;
  /** URLs the browser asked for outside the service: the catalog images. */
  const external: string[] = [];

  before(async () => {
    if (!haveChromium) throw new Error(`CI needs Chromium at ${CHROMIUM} (.ci/run installs Debian's chromium package)`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
    });
  });
  after(async () => {
    await browser?.close();
  });

  async function open(options: { javaScriptEnabled?: boolean } = {}): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 }, ...options });
    await context.route(
      (url) => url.origin !== base,
      (route) => {
        external.push(route.request().url());
        return route.fulfill({ status: 200, contentType: 'image/svg+xml', body: placeholder(route.request().url()) });
      },
    );
    return { context, page: await context.newPage() };
  }

  async function logIn(page: Page, key: string, start = '/ui'): Promise<void> {
    await page.goto(`${base}${start}`);
    assert.match(page.url(), /\/ui\/login\?next=/);
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL((url) => !url.pathname.startsWith('/ui/login'));
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `console-${name}.png`), fullPage: true });

  test('log in with a key, search by text and by id, keyboard first stop is the skip link', async () => {
    const { context, page } = await open();
    try {
      await page.goto(`${base}/ui`);
      await shot(page, 'login');
      await logIn(page, keyA);
      assert.equal(new URL(page.url()).pathname, '/ui');
      assert.ok((await page.textContent('header'))!.includes(orgA));
      const cookies = await context.cookies();
      assert.deepEqual(
        cookies.map((c) => [c.name, c.httpOnly, c.sameSite, c.path, c.expires]),
        [['itemvec_key', true, 'Strict', '/ui', -1]],
        'a session cookie: HttpOnly, Strict, /ui, no expiry',
      );

      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate('document.activeElement.textContent'), 'Skip to main content');

      await page.getByLabel('Item id or text').fill('espresso machine steam wand');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.waitForSelector('table caption');
      const rows = page.locator('tbody tr');
      assert.equal(await rows.count(), 10);
      assert.match((await page.textContent('caption'))!, /Items for “espresso machine steam wand” · version v1 \(active\) · fused/);
      assert.match((await rows.first().textContent())!, /Espresso/);
      await shot(page, 'search');

      await page.getByLabel('Item id or text').fill('item-0002');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.waitForURL(/\/ui\/items\/item-0002/);
    } finally {
      await context.close();
    }
  });

  test('an item view shows the item and its k neighbours, each with image and every part score', async () => {
    const { context, page } = await open();
    try {
      await logIn(page, keyA, '/ui/items/item-0001?k=6');
      const res = await page.reload();
      assert.match(res!.headers()['server-timing']!, /^app;dur=/);
      assert.equal(await page.textContent('h1'), 'Item item-0001 namespace default');
      const facts = (await page.textContent('dl.facts'))!;
      for (const text of ['TrailForge', 'Footwear > Hiking Boots', 'boot', 'trailforge']) assert.ok(facts.includes(text), text);
      assert.equal(await page.locator('.item img').getAttribute('src'), 'https://images.example.com/item-1.jpg');
      const headers = await page.locator('thead th').allTextContents();
      assert.deepEqual(headers, ['#', 'image', 'item', 'score (fused)', 'dense', 'lexical', 'tags', 'your mark']);
      const rows = page.locator('tbody tr');
      assert.equal(await rows.count(), 6);
      for (let i = 0; i < 6; i++) {
        const cells = rows.nth(i).locator('td.num');
        assert.equal(await cells.count(), 5);
        assert.match((await cells.nth(1).textContent())!.trim(), /^\d\.\d{4}$/, 'fused score');
        assert.match((await cells.nth(2).textContent())!.trim(), /^-?\d\.\d{3}/, 'dense score');
        assert.equal(await rows.nth(i).locator('img').getAttribute('loading'), 'lazy');
      }
      // Same kind first: the neighbours of a hiking boot are hiking boots.
      assert.match((await rows.first().textContent())!, /Hiking Boots/);
      await page.waitForLoadState('networkidle');
      assert.ok(
        external.some((u) => u.startsWith('https://images.example.com/item-')),
        'the browser fetched the catalog images (the server never does)',
      );
      await shot(page, 'item');
    } finally {
      await context.close();
    }
  });

  test('side by side: two versions, overlap highlighted with the other rank, only-in-one marked; a Good mark reaches itemvec eval', async () => {
    const { context, page } = await open();
    try {
      await logIn(page, keyA, '/ui/compare?item=item-0003&left=v1&right=v2&k=8');
      const left = page.locator('section[aria-labelledby="left-title"] tbody tr');
      const right = page.locator('section[aria-labelledby="right-title"] tbody tr');
      assert.equal(await left.count(), 8);
      assert.equal(await right.count(), 8);
      const both = await page.locator('section[aria-labelledby="left-title"] tr.both').count();
      const only = await page.locator('section[aria-labelledby="left-title"] tr.only').count();
      assert.equal(both + only, 8);
      assert.ok(both > 0 && only > 0, `overlap ${both}, only left ${only}: the versions should differ in part`);
      const shared = page.locator('section[aria-labelledby="left-title"] tr.both').first();
      assert.match((await shared.textContent())!, /in both\s+#\d+ in right/);
      assert.match((await page.locator('section[aria-labelledby="left-title"] tr.only').first().textContent())!, /only in left/);
      assert.match((await page.textContent('main'))!, new RegExp(`${both} of 8 left and 8 right neighbours are in both lists`));
      await shot(page, 'compare');
      if (process.env.ITEMVEC_DOCS_SCREENSHOT) {
        // Palette PNG: the page is flat colours, so 256 of them keep it sharp at a fraction of the bytes.
        const { default: sharp } = await import('sharp');
        // From the overlap summary down: both columns, the shared rows and the ones only one list has.
        const top = (await page.getByText(/neighbours are in both lists/).boundingBox())!.y - 12;
        const png = await page.screenshot({ fullPage: true, clip: { x: 0, y: top, width: 1200, height: 800 } });
        await sharp(png).png({ palette: true, compressionLevel: 9 }).toFile(path.resolve(root, process.env.ITEMVEC_DOCS_SCREENSHOT));
      }

      // Mark the first left neighbour Good; the page comes back to the same row.
      const first = left.first();
      const judged = (await first.locator('th[scope="row"] a').textContent())!;
      await first.getByRole('button', { name: /^Good/ }).click();
      await page.waitForURL(/#l1$/);
      assert.match((await left.first().textContent())!, /marked good/);
      assert.equal(await left.first().getByRole('button', { name: /^Good/ }).getAttribute('aria-pressed'), 'true');

      const marks = await markCount(orgA);
      const env = { DATABASE_URL: pglite.url, ITEMVEC_HOME: home, ITEMVEC_LOG_LEVEL: 'warn' };
      const text = await runCli(['eval', '--judgements', 'review', '--no-category', '--org', orgA, '--k', '8'], { env });
      assert.equal(text.exitCode, 0, text.stderr);
      assert.ok(text.stdout.includes(`judgements: review table (${marks} marks)`), text.stdout);
      assert.match(text.stdout, /item→item judgements \(graded; similar\) · [1-9]\d* queries/);
      const json = await runCli(['eval', '--judgements', 'review', '--no-category', '--org', orgA, '--k', '8', '--json'], { env });
      const report = JSON.parse(json.stdout) as { judgements_file: string; tasks: Array<{ task: string; queries: number }> };
      assert.equal(report.judgements_file, `review table (${marks} marks)`);
      assert.ok(report.tasks.find((t) => t.task === 'item_judgements')!.queries >= 1);
      const [row] = await db.query<{ grade: number }>(
        "SELECT grade FROM review_judgements WHERE org_id = $1 AND version = 'v1' AND query_item_id = 'item-0003' AND item_id = $2",
        [orgA, judged],
      );
      assert.equal(Number(row!.grade), 1);
      // Another org has no marks.
      const none = await runCli(['eval', '--judgements', 'review', '--no-category', '--org', orgB], { env });
      assert.equal(none.exitCode, 2);
      assert.match(none.stderr, /the review table has no marks for org/);
    } finally {
      await context.close();
    }
  });

  test("org A's key never shows org B's items: their item view is a 404 page and searches leave them out", async () => {
    const { context, page } = await open();
    try {
      await logIn(page, keyA);
      const res = await page.goto(`${base}/ui/items/${B_ONLY}`);
      assert.equal(res!.status(), 404);
      assert.equal(await page.textContent('h1'), 'Not found');
      await shot(page, 'not-found');
      assert.equal((await page.goto(`${base}/ui/compare?item=${B_ONLY}`))!.status(), 404);
      await page.goto(`${base}/ui?q=quokka+plush+toy`);
      assert.equal(new URL(page.url()).pathname, '/ui', 'not taken for an id');
      const content = await page.content();
      assert.ok(!content.includes(B_ONLY) && !content.includes('bitem-') && !content.includes('Quokkaland'));
      await page.goto(`${base}/ui?q=${B_ONLY}`);
      assert.ok(!(await page.content()).includes('Quokkaland'));
    } finally {
      await context.close();
    }
    // Org B (a configured key) sees its own item.
    const b = await open();
    try {
      await logIn(b.page, KEY_B, `/ui/items/${B_ONLY}`);
      assert.match((await b.page.textContent('dl.facts'))!, /Quokkaland/);
      assert.doesNotMatch(await b.page.content(), /\bitem-0001/, "org A's items");
    } finally {
      await b.context.close();
    }
  });

  test('with JavaScript disabled: log in, open an item, mark a neighbour Bad, log out', async () => {
    const { context, page } = await open({ javaScriptEnabled: false });
    try {
      await logIn(page, keyA, '/ui/items/item-0004?k=5');
      assert.equal(await page.locator('tbody tr').count(), 5);
      const row = page.locator('tbody tr').nth(1);
      const item = (await row.locator('th[scope="row"] a').textContent())!;
      await row.getByRole('button', { name: /^Bad/ }).click();
      await page.waitForURL(/#n2$/);
      assert.match((await page.locator('tbody tr').nth(1).textContent())!, /marked bad/);
      const [mark] = await db.query<{ grade: number }>(
        "SELECT grade FROM review_judgements WHERE org_id = $1 AND query_item_id = 'item-0004' AND item_id = $2",
        [orgA, item],
      );
      assert.equal(Number(mark!.grade), 0);
      await shot(page, 'item-no-js');
      // The settings form is a plain GET form.
      await page.getByLabel('Mode').selectOption('lexical');
      await page.getByRole('button', { name: 'Show neighbours' }).click();
      await page.waitForURL(/mode=lexical/);
      assert.match((await page.textContent('caption'))!, /lexical alone/);
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.waitForURL(/\/ui\/login$/);
      assert.deepEqual(await context.cookies(), []);
    } finally {
      await context.close();
    }
  });

  test('the runs page: versions with coverage and the active one, BLEND_EMBEDDING_VERSION, runs with an accessible chart, commands to copy', async () => {
    const { context, page } = await open();
    try {
      await logIn(page, keyA, '/ui/runs');
      const main = (await page.textContent('main'))!;
      assert.match(main, /BLEND_EMBEDDING_VERSION in force for this service: not set/);
      assert.match(main, /namespace default: reads v1 \(active version\)/);
      assert.ok(main.includes(`itemvec versions activate v2 --org ${orgA} --namespace default`));
      assert.ok(main.includes(`itemvec versions rollback --org ${orgA} --namespace default`));
      const versions = page.locator('table').first().locator('tbody tr');
      assert.equal(await versions.count(), 2);
      assert.match((await versions.first().textContent())!, /default · v1\s+text\s+active\s+served.*33 \/ 33\s+100\.00%/s);
      assert.equal(await page.locator('svg[role="img"] title#runs-chart-title').count(), 1);
      assert.match((await page.textContent('svg desc'))!, /^2 runs from .* Items per second from/);
      assert.equal(await page.locator('table').nth(1).locator('tbody tr').count(), 2);
      await shot(page, 'runs');
    } finally {
      await context.close();
    }
  });
});

test('the access log never holds a key, neither from the login form nor from the session cookie', () => {
  const all = logLines.join('\n');
  assert.ok(all.includes('"url":"/ui/items/item-0001'), 'console requests are logged');
  assert.ok(all.includes('"url":"/ui/login"'), 'logins are logged');
  assert.ok(!all.includes(keyA) && !all.includes(encodeURIComponent(keyA)));
  assert.ok(!all.includes(KEY_B));
});
