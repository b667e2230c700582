/**
 * readPostgresTable against this machine's PostgreSQL server (scripts/ensure-postgres.sh starts it for `npm test`).
 * URL from ITEMVEC_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres, trust auth).
 * Server unreachable: the tests that need it skip locally and fail when CI=true.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';

import type { RowDefaults, RowResult } from '../src/catalog/item.js';
import { openCatalog } from '../src/catalog/open.js';
import { readPostgresTable } from '../src/catalog/postgres.js';
import { SourceError } from '../src/errors.js';
import { connectTestPostgres, needServer, TEST_PG_URL } from '../testkit/local-postgres.js';

const DEFAULTS: RowDefaults = { orgId: '7d9f1c2e-4b3a-4c5d-8e6f-0a1b2c3d4e5f', namespace: 'default' };
const ORG = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
const TABLE = `analytics.catalog_features_raw_${randomBytes(6).toString('hex')}`;

let unreachable: string | null = null;
let admin: pg.Client | null = null;

async function collect(rows: AsyncIterable<RowResult>): Promise<RowResult[]> {
  const out: RowResult[] = [];
  for await (const r of rows) out.push(r);
  return out;
}

before(async () => {
  const conn = await connectTestPostgres();
  unreachable = conn.unreachable;
  if (!conn.client) return;
  const client = conn.client;
  admin = client;
  await client.query('CREATE SCHEMA IF NOT EXISTS analytics');
  await client.query(`CREATE TABLE ${TABLE} (
    item_id text, description text, brand text, category text, image_url text, tags text[], metadata_version int,
    org_id uuid, namespace text, loaded_at timestamptz DEFAULT now()
  )`);
  const rows: unknown[][] = [
    // item_id, description, brand, category, image_url, tags, metadata_version, org_id, namespace
    ['sku-1', 'Hiking boots', 'Acme', 'Outdoor', 'https://x/1.jpg', ['hiking', ' waterproof '], 7, null, null],
    ['sku-2', null, 'Acme', 'Outdoor', 'https://x/2.jpg', null, null, null, null],
    ['sku-3', '   ', 'Acme', 'Outdoor', 'https://x/3.jpg', null, null, null, null],
    ['sku-4', 'Tent', 'Acme', 'Outdoor', 'https://x/4.jpg', [], 1, ORG, 'shop.eu'],
    ['sku-5', 'Stove', 'Acme', null, 'https://x/5.jpg', null, null, null, null],
    ['sku-6', 'Lamp', 'Acme', 'Home', 'https://x/6.jpg', ['lamp'], null, null, null],
  ];
  for (const row of rows) {
    await client.query(
      `INSERT INTO ${TABLE} (item_id, description, brand, category, image_url, tags, metadata_version, org_id, namespace)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      row,
    );
  }
});

after(async () => {
  if (admin) {
    await admin.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await admin.end();
  }
});

describe('readPostgresTable', () => {
  test('streams good rows and rejects bad ones, with progress', async (t) => {
    if (!needServer(t, unreachable)) return;
    const reader = readPostgresTable(TEST_PG_URL, TABLE, DEFAULTS, { batchSize: 2 });
    assert.equal(reader.unit, 'rows');
    assert.equal(reader.total, null, 'total is unknown before the first row is requested');
    const results: RowResult[] = [];
    for await (const r of reader.rows) {
      results.push(r);
      assert.equal(reader.total, 6);
      assert.equal(reader.position(), results.length);
    }
    assert.equal(results.length, 6);
    const byId = new Map(results.map((r) => [r.ok ? r.item.itemId : r.rejection.itemId, r]));

    const one = byId.get('sku-1');
    assert.ok(one?.ok);
    assert.deepEqual(one.item, {
      itemId: 'sku-1',
      title: null,
      description: 'Hiking boots',
      brand: 'Acme',
      category: 'Outdoor',
      imageUrl: 'https://x/1.jpg',
      tags: ['hiking', 'waterproof'],
      metadataVersion: '7',
      orgId: DEFAULTS.orgId,
      namespace: 'default',
    });
    assert.equal(one.ref.source, TABLE);

    const four = byId.get('sku-4');
    assert.ok(four?.ok);
    assert.deepEqual(four.item.tags, []);
    assert.equal(four.item.orgId, ORG);
    assert.equal(four.item.namespace, 'shop.eu');
    assert.equal(four.item.metadataVersion, '1');

    // A missing category is no reason to lose the item: it is stored empty.
    const five = byId.get('sku-5');
    assert.ok(five?.ok);
    assert.equal(five.item.category, '');

    const six = byId.get('sku-6');
    assert.ok(six?.ok);
    assert.deepEqual(six.item.tags, ['lamp']);

    const rejected = results.flatMap((r) => (r.ok ? [] : [r.rejection]));
    assert.deepEqual(rejected.map((r) => [r.itemId, r.field, r.reason]).sort(), [
      ['sku-2', 'description', 'description is missing (a row needs a description or a title)'],
      ['sku-3', 'description', 'description is empty (a row needs a description or a title)'],
    ]);
    for (const r of rejected) {
      assert.ok(r.ref.line >= 1 && r.ref.line <= 6);
      assert.equal(r.ref.source, TABLE);
    }
  });

  test('tags as a comma-separated text column', async (t) => {
    if (!needServer(t, unreachable) || !admin) return;
    const table = `analytics.catalog_tags_text_${randomBytes(6).toString('hex')}`;
    await admin.query(`CREATE TABLE ${table} (item_id bigint, description text, brand text, category text, image_url text, tags text)`);
    try {
      await admin.query(`INSERT INTO ${table} VALUES (9000000000, 'Mug', 'Acme', 'Kitchen', 'https://x/m.jpg', 'kitchen, ceramic,,')`);
      const results = await collect(openCatalog({ kind: 'postgres', url: TEST_PG_URL, table }, DEFAULTS).rows);
      assert.equal(results.length, 1);
      assert.ok(results[0]?.ok);
      assert.equal(results[0].item.itemId, '9000000000');
      assert.deepEqual(results[0].item.tags, ['kitchen', 'ceramic']);
    } finally {
      await admin.query(`DROP TABLE IF EXISTS ${table}`);
    }
  });

  test('stopping early closes the connection', async (t) => {
    if (!needServer(t, unreachable) || !admin) return;
    const appCount = async () =>
      Number((await admin!.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'itemvec'`)).rows[0]?.n);
    const before = await appCount();
    const reader = readPostgresTable(TEST_PG_URL, TABLE, DEFAULTS, { batchSize: 1 });
    let seen = 0;
    for await (const _ of reader.rows) {
      seen++;
      assert.equal(await appCount(), before + 1, 'one connection open while reading');
      if (seen === 2) break;
    }
    assert.equal(seen, 2);
    // The backend goes away asynchronously after the client's Terminate message.
    for (let i = 0; i < 50 && (await appCount()) > before; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await appCount(), before);
  });

  test('a missing table → SourceError', async (t) => {
    if (!needServer(t, unreachable)) return;
    const reader = readPostgresTable(TEST_PG_URL, 'analytics.no_such_table_itemvec', DEFAULTS);
    await assert.rejects(
      collect(reader.rows),
      (err: unknown) => err instanceof SourceError && /table analytics\.no_such_table_itemvec does not exist/.test(err.message),
    );
  });

  test('a bad table name → SourceError before connecting', () => {
    for (const bad of ['catalog; DROP TABLE x', 'a.b.c', '1table', 'analytics."x"', '', 'schema.']) {
      assert.throws(
        () => readPostgresTable(TEST_PG_URL, bad, DEFAULTS),
        (err: unknown) => err instanceof SourceError && err.message.includes('invalid table name'),
        bad,
      );
    }
  });

  test('an unreachable server → SourceError without the password', async () => {
    const secret = 'S3cr3t-pa55word';
    const url = `postgres://itemvec:${secret}@127.0.0.1:1/catalog`;
    const reader = readPostgresTable(url, 'analytics.catalog', DEFAULTS, { connectionTimeoutMillis: 2_000 });
    await assert.rejects(collect(reader.rows), (err: unknown) => {
      assert.ok(err instanceof SourceError, `expected SourceError, got ${String(err)}`);
      assert.match(err.message, /cannot connect to PostgreSQL at postgres:\/\/itemvec:\*\*\*@127\.0\.0\.1:1\/catalog/);
      assert.ok(!err.message.includes(secret), err.message);
      assert.ok(!JSON.stringify(err.context).includes(secret));
      return true;
    });
  });

  test('a wrong user/password → SourceError without the password', async (t) => {
    if (!needServer(t, unreachable)) return;
    const secret = 'wr0ng%40pass'; // percent-encoded '@' — neither form may leak
    const url = new URL(TEST_PG_URL);
    url.username = 'itemvec_no_such_role';
    url.password = secret;
    const reader = readPostgresTable(url.toString(), TABLE, DEFAULTS);
    await assert.rejects(collect(reader.rows), (err: unknown) => {
      assert.ok(err instanceof SourceError, `expected SourceError, got ${String(err)}`);
      assert.match(err.message, /cannot connect to PostgreSQL/);
      assert.ok(!err.message.includes(secret) && !err.message.includes('wr0ng@pass'), err.message);
      return true;
    });
  });
});
