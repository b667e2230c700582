/**
 * The HTTP service over real HTTP (fetch against app.listen on a free port), reading through the `pg`
 * driver from PGlite served over the wire, as in production with DATABASE_URL. Vectors of the text
 * versions come from the real local model, which the service loads again on its own to embed search
 * texts. Two orgs use the same item ids, so any leak across tenants would show.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createProvider } from '../src/embed/index.js';
import type { EmbeddingProvider } from '../src/embed/provider.js';
import { createLogger } from '../src/log.js';
import type { Candidate } from '../src/retrieve/similar.js';
import type { ErrorBody } from '../src/serve/errors.js';
import { buildServer, type ItemvecServer } from '../src/serve/server.js';
import { type ServeSettings, serveSettings } from '../src/serve/settings.js';
import { createApiKey, revokeApiKey } from '../src/store/api-keys.js';
import { type Db, openDb } from '../src/store/db.js';
import { migrate } from '../src/store/migrations.js';
import { type RawItem, sampleItems, tempDir, testConfig } from '../testkit/fixtures.js';
import { embedText, startOpenAIServer } from '../testkit/openai-server.js';
import { type PgliteServer, startPgliteServer } from '../testkit/pglite-server.js';
import { cosine, randomVector } from '../testkit/random.js';
import { seed, seedCatalog, seedLexical, spec } from '../testkit/seed.js';

const orgA = randomUUID();
const orgB = randomUUID();
const KEY_A = `config-key-${randomUUID()}`;
let keyB: string;

let pglite: PgliteServer;
let db: Db;
let local: EmbeddingProvider;
let app: ItemvecServer;
let base: string;
let settings: ServeSettings;
const logLines: string[] = [];

/** Org A: 12 items over four kinds; org B: the same ids, each one kind further on, plus b-only. */
const itemsA = sampleItems(12, 'item');
const itemsB: RawItem[] = [
  ...sampleItems(13, 'item')
    .slice(1)
    .map((it, i) => ({ ...it, item_id: itemsA[i]!.item_id })),
  { ...sampleItems(1, 'b-only')[0]! },
];
const vectorsA = new Map<string, Float32Array>();

const settingsWith = (blendEmbeddingVersion?: string) =>
  serveSettings(testConfig('/unused', { serve: { apiKeys: [{ orgId: orgA, key: KEY_A }] }, retrieve: { blendEmbeddingVersion } }));

async function seedOrg(orgId: string, items: RawItem[], into?: Map<string, Float32Array>) {
  const { vectors } = await local.embed(items.map((it) => it.description));
  const byId = Object.fromEntries(items.map((it, i) => [it.item_id, vectors[i]!]));
  for (const [id, v] of Object.entries(byId)) into?.set(id, v);
  const s = spec(orgId, { provider: 'local', model: local.model, dims: local.dims });
  await seed(db, s, byId);
  await seedLexical(db, s, Object.fromEntries(items.map((it) => [it.item_id, `${it.brand}\n${it.category}\n${it.description}`])));
  await seedCatalog(
    db,
    orgId,
    'default',
    Object.fromEntries(items.map((it) => [it.item_id, { brand: it.brand, category: it.category, description: it.description, tags: it.tags as string[] }])),
  );
}

before(async () => {
  pglite = await startPgliteServer();
  db = await openDb({ databaseUrl: pglite.url, home: await tempDir() });
  await migrate(db);
  local = await createProvider('local', {});
  await seedOrg(orgA, itemsA, vectorsA);
  await seedOrg(orgB, itemsB);
  // A second version of org A, served only when BLEND_EMBEDDING_VERSION (or the request) asks for it.
  await seed(db, spec(orgA, { version: 'v2', dims: 512 }), { 'item-0001': randomVector(1), 'v2-only': randomVector(2) });
  keyB = (await createApiKey(db, { orgId: orgB, label: 'org B test key' })).key;

  settings = settingsWith();
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => logLines.push(...chunk.toString().split('\n').filter(Boolean)));
  app = await buildServer({ db, settings: () => settings, logger: createLogger({ level: 'debug', destination: sink }), keyCacheTtlMs: 0 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  assert.ok(address && typeof address === 'object');
  base = `http://127.0.0.1:${address.port}`;
});

after(async () => {
  await app?.close();
  await local?.close();
  await db?.close();
  await pglite?.close();
});

/** A retrieval answer (src/serve/routes): the similar route adds `item_id`. */
interface RetrievalBody {
  namespace: string;
  item_id?: string;
  version: string;
  modality: string;
  mode: string;
  candidates: Candidate[];
}

/** The parts of the OpenAPI document (/openapi.json) the tests read. */
interface OpenApiOperation {
  parameters: Array<{ name: string; in: string; schema: { minimum?: number; maximum?: number } }>;
  security: unknown;
  responses: Record<string, unknown>;
  requestBody: { content: { 'application/json': { schema: { properties: Record<string, unknown> } } } };
}
interface OpenApiDoc {
  openapi: string;
  paths: { '/v1/namespaces/{ns}/items/{id}/similar': { get: OpenApiOperation }; '/v1/namespaces/{ns}/search': { post: OpenApiOperation } };
  components: { securitySchemes: { apiKey: { scheme: string } } };
}

interface Reply<T = RetrievalBody & ErrorBody> {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON, read as the answer the test expects (a retrieval answer or an error body unless told); null when not JSON (/metrics). */
  body: T;
}

async function call<T = Reply['body']>(
  path: string,
  opts: { key?: string | null; body?: unknown; rawBody?: string; authorization?: string } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = {};
  const key = opts.key === undefined ? KEY_A : opts.key;
  if (opts.authorization !== undefined) headers.authorization = opts.authorization;
  else if (key !== null) headers.authorization = `Bearer ${key}`;
  const hasBody = opts.body !== undefined || opts.rawBody !== undefined;
  if (hasBody) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method: hasBody ? 'POST' : 'GET',
    headers,
    body: opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
  });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // /metrics is text
  }
  return { status: res.status, headers: res.headers, text, body: body as T };
}

const similarPath = (id: string, query = '', ns = 'default') => `/v1/namespaces/${ns}/items/${encodeURIComponent(id)}/similar${query}`;

describe('API keys', () => {
  test('no key, a wrong key or another scheme is a 401 that does not echo the key', async () => {
    for (const [what, opts] of [
      ['no header', { key: null }],
      ['wrong key', { key: 'ivk_not-a-real-key-1234567890' }],
      ['basic auth', { authorization: `Basic ${Buffer.from(`x:${KEY_A}`).toString('base64')}` }],
      ['empty bearer', { authorization: 'Bearer ' }],
    ] as const) {
      const r = await call(similarPath('item-0001'), opts);
      assert.equal(r.status, 401, what);
      assert.equal(r.body.code, 'UNAUTHORIZED', what);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/, what);
      assert.ok(!r.text.includes('not-a-real-key') && !r.text.includes(KEY_A), `${what}: ${r.text}`);
    }
    assert.match((await call(similarPath('item-0001'), { key: null })).body.message, /missing API key: send the header "Authorization: Bearer <key>"/);
    assert.match((await call(similarPath('item-0001'), { key: 'ivk_wrong-wrong-wrong' })).body.message, /API key not recognised/);
    // Unauthenticated requests learn nothing about the parameters either: 401 before validation.
    assert.equal((await call(similarPath('item-0001', '?k=0'), { key: null })).status, 401);
  });

  test('a key from the table works until it is revoked', async () => {
    const { key, id } = await createApiKey(db, { orgId: orgB });
    assert.equal((await call(similarPath('item-0001'), { key })).status, 200);
    await revokeApiKey(db, id);
    assert.equal((await call(similarPath('item-0001'), { key })).status, 401);
    const [row] = await db.query<{ n: string }>('SELECT count(*) AS n FROM api_keys WHERE key_sha256 = $1 OR label = $1', [key]);
    assert.equal(Number(row!.n), 0, 'the table never holds a key itself');
  });
});

describe('tenant isolation', () => {
  test("org A's key never returns org B's items, even for an item id both orgs use", async () => {
    const a = await call(similarPath('item-0001', '?k=11'));
    assert.equal(a.status, 200, a.text);
    const b = await call(similarPath('item-0001', '?k=12'), { key: keyB });
    assert.equal(b.status, 200, b.text);
    const catalogA = new Map(itemsA.map((it) => [it.item_id, it]));
    const catalogB = new Map(itemsB.map((it) => [it.item_id, it]));
    assert.equal(a.body.candidates.length, 11);
    for (const c of a.body.candidates) {
      const own = catalogA.get(c.item_id);
      assert.ok(own, `${c.item_id} is not one of org A's items`);
      assert.equal(c.brand, own.brand, `${c.item_id}: brand from org A's catalog row`);
      assert.ok(Math.abs(c.dense_score! - cosine(vectorsA.get('item-0001')!, vectorsA.get(c.item_id)!)) < 1e-4, `${c.item_id}: scored with org A's vectors`);
    }
    // item-0001 is a hiking boot in org A and an espresso machine in org B.
    assert.equal(a.body.candidates[0]!.category, 'Footwear > Hiking Boots');
    assert.equal(b.body.candidates[0]!.category, 'Kitchen > Espresso Machines');
    assert.ok(b.body.candidates.every((c) => catalogB.get(c.item_id)?.brand === c.brand));
    assert.ok(b.body.candidates.some((c: { item_id: string }) => c.item_id === 'b-only-0001'));
    assert.ok(!a.body.candidates.some((c: { item_id: string }) => c.item_id === 'b-only-0001'));

    const missing = await call(similarPath('b-only-0001'));
    assert.equal(missing.status, 404, "org B's item does not exist for org A");

    // A search with org B's exact vector from org A's key still sees only org A.
    const { vectors } = await local.embed([itemsB.at(-1)!.description]);
    const s = await call('/v1/namespaces/default/search', { body: { vector: Array.from(vectors[0]!), k: 20 } });
    assert.equal(s.status, 200, s.text);
    assert.equal(s.body.candidates.length, 12);
    assert.ok(s.body.candidates.every((c: { item_id: string }) => catalogA.has(c.item_id)));
  });

  test("text search embeds the query with the version's own model, per org", async () => {
    const a = await call('/v1/namespaces/default/search', { body: { text: 'espresso machine with a steam wand', k: 3 } });
    assert.equal(a.status, 200, a.text);
    assert.equal(a.body.version, 'v1');
    assert.deepEqual(
      a.body.candidates.map((c) => [c.category, c.ranks.dense !== null]),
      Array(3).fill(['Kitchen > Espresso Machines', true]),
    );
    assert.equal(a.body.mode, 'fused');
    const ids = (r: Reply) => r.body.candidates.map((c: { item_id: string }) => c.item_id).sort();
    assert.deepEqual(ids(a), ['item-0002', 'item-0006', 'item-0010']);
    const b = await call('/v1/namespaces/default/search', { key: keyB, body: { text: 'espresso machine with a steam wand', k: 3 } });
    // In org B the espresso machines are items 1, 5 and 9.
    assert.deepEqual(ids(b), ['item-0001', 'item-0005', 'item-0009']);
  });
});

describe('bad requests', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['k=0', '?k=0', /k must be >= 1, got 0/],
    ['k=1001', '?k=1001', /k must be <= 1000, got 1001/],
    ['k=abc', '?k=abc', /k must be integer, got "abc"/],
    ['k=2.5', '?k=2.5', /k must be integer/],
    ['modality=video', '?modality=video', /modality must be one of text, image, got "video"/],
    ['version=Bad!', '?version=Bad!', /version must match pattern/],
    ['unknown parameter', '?kk=5', /querystring has an unknown parameter "kk"/],
  ];
  for (const [what, query, message] of cases) {
    test(`${what} is a 400 that says what is wrong`, async () => {
      const r = await call(similarPath('item-0001', query));
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.code, 'BAD_REQUEST');
      assert.match(r.body.message, message);
    });
  }

  test("search bodies: text xor vector, the version's dims, valid JSON", async () => {
    const search = (body: unknown) => call('/v1/namespaces/default/search', { body });
    assert.match((await search({ text: 'boots', vector: [1] })).body.message, /give exactly one of "text" or "vector"/);
    assert.match((await search({ k: 3 })).body.message, /give exactly one of "text" or "vector"/);
    const dims = await search({ vector: [1, 2, 3] });
    assert.equal(dims.status, 400);
    assert.match(dims.body.message, /query vector has 3 dims; version "v1" has 512/);
    const notNumbers = await search({ vector: ['x'] });
    assert.equal(notNumbers.status, 400);
    assert.match(notNumbers.body.message, /vector\.0 must be number/);
    const raw = await call('/v1/namespaces/default/search', { rawBody: '{"text": ' });
    assert.equal(raw.status, 400);
    assert.match(raw.body.message, /JSON/);
  });

  test('a text search on a version whose provider this service cannot run is a 400 that says to send a vector', async () => {
    const r = await call('/v1/namespaces/default/search', { body: { text: 'boots', version: 'v2' } });
    assert.equal(r.status, 400, r.text);
    assert.match(
      r.body.message,
      /version "v2" of namespace "default" was embedded with provider "test", which cannot embed query text; search with a vector instead/,
    );
  });

  test('a namespace name that cannot exist is a 400', async () => {
    const r = await call(similarPath('item-0001', '', 'Not%20A%20Namespace'));
    assert.equal(r.status, 400);
    assert.match(r.body.message, /ns must match pattern/);
  });

  test('repro 6: an id of 512 characters reaches the route even percent-encoded (4,608 characters); a %00 id or a NUL in a text is a 400 that says why', async () => {
    const long = '€'.repeat(512);
    const ascii = `sku-${'x'.repeat(146)}`;
    const s = spec(orgA, { namespace: 'long-ids', provider: 'local', model: local.model, dims: local.dims });
    await seed(db, s, { [long]: randomVector(11), [ascii]: randomVector(12) });
    for (const id of [long, ascii]) {
      const r = await call(similarPath(id, '?mode=dense', 'long-ids'));
      assert.equal(r.status, 200, r.text.slice(0, 300));
      assert.equal(r.body.item_id, id);
      assert.deepEqual(
        r.body.candidates.map((c: { item_id: string }) => c.item_id),
        [id === long ? ascii : long],
      );
    }
    const tooLong = await call(similarPath('x'.repeat(513), '', 'long-ids'));
    assert.equal(tooLong.status, 400);
    assert.match(tooLong.body.message, /id must NOT have more than 512 characters/);
    const nul = await call('/v1/namespaces/default/items/item%000001/similar');
    assert.equal(nul.status, 400, nul.text);
    assert.equal(nul.body.code, 'BAD_REQUEST');
    assert.match(nul.body.message, /id must not contain a NUL character \(%00\)/);
    const text = await call('/v1/namespaces/default/search', { body: { text: 'boots\u0000' } });
    assert.equal(text.status, 400, text.text);
    assert.match(text.body.message, /text must not contain a NUL character/);
  });

  test('a key sent as ?api_key= is refused and written to the access log as ***', async () => {
    const secret = `leaked-${randomUUID()}`;
    const r = await call(similarPath('item-0001', `?api_key=${secret}&k=2`));
    assert.equal(r.status, 400);
    assert.match(r.body.message, /unknown parameter "api_key"/);
    const line = logLines.find((l) => l.includes('"msg":"request"') && l.includes('api_key='));
    assert.ok(line, 'no access line for the request');
    assert.match(line, /api_key=\*\*\*&k=2/);
    for (const l of logLines) assert.ok(!l.includes(secret), `the key reached the log: ${l}`);
  });

  test('unknown item, version, namespace or route is a 404', async () => {
    const item = await call(similarPath('no-such-item'));
    assert.equal(item.status, 404);
    assert.equal(item.body.code, 'NOT_FOUND');
    assert.match(item.body.message, /item "no-such-item" has no text embedding in namespace "default"/);
    const version = await call(similarPath('item-0001', '?version=v9'));
    assert.equal(version.status, 404);
    assert.match(version.body.message, /version "v9" does not exist for namespace "default"/);
    const ns = await call(similarPath('item-0001', '', 'electronics'));
    assert.equal(ns.status, 404);
    assert.match(ns.body.message, /namespace "electronics" has no active text embedding version/);
    const route = await call('/v1/nothing-here');
    assert.equal(route.status, 404);
    assert.equal(route.body.code, 'ROUTE_NOT_FOUND');
  });
});

test('BLEND_EMBEDDING_VERSION switches the version served while the service runs', async () => {
  const served = async (query = '') => {
    const r = await call(similarPath('item-0001', query));
    assert.equal(r.status, 200, r.text);
    // Tag candidates come from the catalog, which has no versions: only dense candidates tell versions apart.
    const embedded = r.body.candidates.filter((c: { ranks: { dense: number | null } }) => c.ranks.dense !== null);
    return { version: r.body.version, ids: embedded.map((c: { item_id: string }) => c.item_id) };
  };
  try {
    assert.equal((await served()).version, 'v1', 'the active version');
    settings = settingsWith('v2');
    assert.deepEqual(await served(), { version: 'v2', ids: ['v2-only'] });
    assert.equal((await served('?version=v1')).version, 'v1', 'the request beats BLEND_EMBEDDING_VERSION');
    settings = settingsWith('electronics=v7');
    assert.equal((await served()).version, 'v1', "another namespace's entry does not apply");
    settings = settingsWith('default=v9');
    const gone = await call(similarPath('item-0001'));
    assert.equal(gone.status, 404, 'a configured version that does not exist is reported, not silently replaced');
  } finally {
    settings = settingsWith();
  }
});

test('search retries a transient provider error with the query retry policy: six searches against a provider failing twice before each answer all succeed', async () => {
  const provider = await startOpenAIServer();
  const flaky = await buildServer({
    db,
    settings: () => settings,
    logger: createLogger({ level: 'silent' }),
    embed: { apiKey: 'sk-test', baseURL: provider.url },
  });
  try {
    const s = spec(orgA, { namespace: 'flaky', provider: 'openai', model: 'text-embedding-3-small', dims: 32 });
    const texts = { 'f-boot': 'waterproof hiking boot', 'f-espresso': 'espresso machine with steam wand', 'f-bed': 'orthopedic dog bed' };
    await seed(db, s, Object.fromEntries(Object.entries(texts).map(([id, t]) => [id, embedText(t, 32)])));
    await flaky.listen({ host: '127.0.0.1', port: 0 });
    const address = flaky.server.address();
    assert.ok(address && typeof address === 'object');
    for (let i = 0; i < 6; i++) {
      provider.setFaults([
        { status: i % 2 ? 503 : 500, count: 1 },
        { status: 429, count: 1, retryAfterMs: 20 },
      ]);
      const res = await fetch(`http://127.0.0.1:${address.port}/v1/namespaces/flaky/search`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'hiking boot', k: 1, mode: 'dense' }),
      });
      const body = (await res.json()) as { candidates: Array<{ item_id: string }> };
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.candidates[0]?.item_id, 'f-boot');
    }
    assert.equal(provider.counters.byRoute['POST /v1/embeddings'], 18);
  } finally {
    await flaky.close();
    await provider.close();
  }
});

describe('operations', () => {
  test('/healthz and /readyz answer without a key', async () => {
    const health = await call('/healthz', { key: null });
    assert.deepEqual([health.status, health.body], [200, { status: 'ok' }]);
    const ready = await call('/readyz', { key: null });
    assert.deepEqual([ready.status, ready.body], [200, { status: 'ready' }]);
  });

  test('/readyz is 503 when the database does not answer', async () => {
    const closed = await openDb({ home: await tempDir() });
    await closed.close();
    const other = await buildServer({ db: closed, settings: settingsWith(), logger: createLogger({ level: 'silent' }) });
    try {
      await other.listen({ host: '127.0.0.1', port: 0 });
      const { port } = other.server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as { status: string }).status, 'not ready');
    } finally {
      await other.close();
    }
  });

  test('/readyz is 503 and names the migration when the schema is behind this build', async () => {
    const behind = await openDb({ home: await tempDir() });
    await migrate(behind);
    const [latest] = await behind.query<{ id: number }>('SELECT max(id) AS id FROM itemvec_migrations');
    await behind.query('DELETE FROM itemvec_migrations WHERE id = $1', [latest!.id]);
    const other = await buildServer({ db: behind, settings: settingsWith(), logger: createLogger({ level: 'silent' }) });
    try {
      await other.listen({ host: '127.0.0.1', port: 0 });
      const { port } = other.server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), {
        status: 'not ready',
        reason: `database schema is at migration ${latest!.id - 1}, this build needs ${latest!.id}: run itemvec migrate`,
      });
    } finally {
      await other.close();
      await behind.close();
    }
  });

  test('/metrics has request durations and counts by route pattern and status, and no secrets', async () => {
    await call(similarPath('item-0001', '?k=0'));
    await call(similarPath('item-0001'), { key: null });
    const m = await call('/metrics', { key: null });
    assert.equal(m.status, 200);
    assert.match(m.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const route = '/v1/namespaces/:ns/items/:id/similar';
    for (const status of ['200', '400', '401', '404']) {
      assert.match(
        m.text,
        new RegExp(
          `itemvec_http_request_duration_seconds_bucket\\{le="0\\.01",method="GET",route="${route.replaceAll('/', '\\/')}",status_code="${status}"\\} \\d+`,
        ),
      );
      assert.match(m.text, new RegExp(`itemvec_http_requests_total\\{method="GET",route="${route.replaceAll('/', '\\/')}",status_code="${status}"\\} [1-9]`));
    }
    assert.match(m.text, /itemvec_retrieval_candidates_total\{operation="similar",signals="dense\+lexical[a-z+]*"\} [1-9]/);
    assert.match(m.text, /itemvec_retrieval_candidates_total\{operation="search",signals="dense(\+lexical)?"\} [1-9]/);
    assert.match(m.text, /itemvec_retrieval_requests_total\{operation="similar",mode="fused"\} [1-9]/);
    assert.match(m.text, /itemvec_http_auth_failures_total\{reason="missing"\} [1-9]/);
    assert.match(m.text, /itemvec_process_resident_memory_bytes \d+/);
    assert.ok(!m.text.includes('item-0001'), 'no item ids in labels');
    assert.ok(!m.text.includes(KEY_A) && !m.text.includes(keyB));
  });

  test('the OpenAPI document is JSON and lists every route with its parameters', async () => {
    const r = await call<OpenApiDoc>('/openapi.json', { key: null });
    assert.equal(r.status, 200);
    const doc = r.body;
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      '/healthz',
      '/metrics',
      '/readyz',
      '/v1/namespaces/{ns}/items/{id}/similar',
      '/v1/namespaces/{ns}/search',
    ]);
    const similarOp = doc.paths['/v1/namespaces/{ns}/items/{id}/similar'].get;
    const k = similarOp.parameters.find((p) => p.name === 'k')!;
    assert.deepEqual([k.in, k.schema.minimum, k.schema.maximum], ['query', 1, 1000]);
    assert.deepEqual(similarOp.security, [{ apiKey: [] }]);
    assert.equal(doc.components.securitySchemes.apiKey.scheme, 'bearer');
    assert.ok(doc.paths['/v1/namespaces/{ns}/search'].post.requestBody.content['application/json'].schema.properties.vector);
    assert.deepEqual(Object.keys(similarOp.responses).sort(), ['200', '400', '401', '404', '500', '502', '503']);
  });

  test('access logs name the route and status, never a key', () => {
    const access = logLines.map((l) => JSON.parse(l) as { msg: string; url?: string; status?: number }).filter((l) => l.msg === 'request');
    assert.ok(access.some((l) => l.url?.startsWith('/v1/namespaces/default/items/item-0001/similar') && l.status === 200));
    assert.ok(access.some((l) => l.status === 401));
    for (const line of logLines) assert.ok(!line.includes(KEY_A) && !line.includes(keyB), `a key leaked into the log: ${line}`);
  });
});
