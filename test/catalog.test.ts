import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { parquetWriteFile } from 'hyparquet-writer';

import { readCsv } from '../src/catalog/csv.js';
import type { CatalogItem, RowDefaults, RowRejection, RowResult } from '../src/catalog/item.js';
import { readJsonl } from '../src/catalog/jsonl.js';
import { openCatalog } from '../src/catalog/open.js';
import { readParquet } from '../src/catalog/parquet.js';
import type { CatalogReader } from '../src/catalog/reader.js';
import { validateRow } from '../src/catalog/validate.js';
import { SourceError } from '../src/errors.js';

const DEFAULTS: RowDefaults = { orgId: '7d9f1c2e-4b3a-4c5d-8e6f-0a1b2c3d4e5f', namespace: 'default' };
const OTHER_ORG = 'A1B2C3D4-E5F6-4711-8899-AABBCCDDEEFF';

const dir = mkdtempSync(join(tmpdir(), 'itemvec-catalog-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function fixture(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function collect(reader: CatalogReader): Promise<RowResult[]> {
  const out: RowResult[] = [];
  for await (const r of reader.rows) out.push(r);
  return out;
}

function items(results: RowResult[]): CatalogItem[] {
  return results.flatMap((r) => (r.ok ? [r.item] : []));
}

function rejections(results: RowResult[]): RowRejection[] {
  return results.flatMap((r) => (r.ok ? [] : [r.rejection]));
}

function good(id: string | number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    item_id: id,
    description: `Description of ${id}`,
    brand: 'Acme',
    category: 'Outdoor',
    image_url: `https://img.example.com/${id}.jpg`,
    ...extra,
  };
}

const ref = { source: 'unit', line: 7 };

describe('validateRow', () => {
  test('accepts a full row, trims, coerces and applies defaults', () => {
    const r = validateRow(
      { ...good(' sku-1 '), description: '  Wool scarf ', tags: [' winter', '', 'wool ', null], metadata_version: 12, unknown: 'x' },
      ref,
      DEFAULTS,
    );
    assert.ok(r.ok);
    assert.deepEqual(r.item, {
      itemId: 'sku-1',
      title: null,
      description: 'Wool scarf',
      brand: 'Acme',
      category: 'Outdoor',
      imageUrl: 'https://img.example.com/ sku-1 .jpg',
      tags: ['winter', 'wool'],
      metadataVersion: '12',
      orgId: DEFAULTS.orgId,
      namespace: 'default',
    });
    assert.deepEqual(r.ref, ref);
  });

  test('item_id as integer or bigint becomes its decimal string', () => {
    const a = validateRow(good(42), ref, DEFAULTS);
    const b = validateRow(good(''), ref, DEFAULTS);
    const c = validateRow({ ...good('x'), item_id: 9007199254740993n }, ref, DEFAULTS);
    assert.ok(a.ok && a.item.itemId === '42');
    assert.ok(!b.ok && b.rejection.reason === 'item_id is empty' && b.rejection.itemId === null);
    assert.ok(c.ok && c.item.itemId === '9007199254740993');
  });

  test('tags from a comma-separated string; org_id and namespace overrides', () => {
    const r = validateRow(good('a', { tags: ' red, ,blue,, green ', org_id: OTHER_ORG, namespace: 'shop.eu-1' }), ref, DEFAULTS);
    assert.ok(r.ok);
    assert.deepEqual(r.item.tags, ['red', 'blue', 'green']);
    assert.equal(r.item.orgId, OTHER_ORG.toLowerCase());
    assert.equal(r.item.namespace, 'shop.eu-1');
  });

  test('blank optional fields fall back: empty org_id/namespace → defaults, empty metadata_version → null', () => {
    const r = validateRow(good('a', { org_id: '', namespace: '  ', metadata_version: '', tags: '' }), ref, DEFAULTS);
    assert.ok(r.ok);
    assert.equal(r.item.orgId, DEFAULTS.orgId);
    assert.equal(r.item.namespace, DEFAULTS.namespace);
    assert.equal(r.item.metadataVersion, null);
    assert.deepEqual(r.item.tags, []);
  });

  test('a title (or its alias name) stands in for a missing description; brand, category and image_url may be absent', () => {
    const titled = validateRow({ item_id: 'a', title: ' Analog Watch ' }, ref, DEFAULTS);
    assert.ok(titled.ok);
    assert.deepEqual(
      [titled.item.title, titled.item.description, titled.item.brand, titled.item.category, titled.item.imageUrl],
      ['Analog Watch', '', '', '', ''],
    );
    const named = validateRow({ item_id: 'a', name: 'Analog Watch', description: 'Steel case', brand: null }, ref, DEFAULTS);
    assert.ok(named.ok);
    assert.deepEqual([named.item.title, named.item.description, named.item.brand], ['Analog Watch', 'Steel case', '']);
    // title wins over name when both are given.
    const both = validateRow({ item_id: 'a', title: 'T', name: 'N' }, ref, DEFAULTS);
    assert.ok(both.ok && both.item.title === 'T');
    const none = validateRow({ item_id: 'a', title: '  ', description: '' }, ref, DEFAULTS);
    assert.ok(!none.ok && none.rejection.reason === 'description is empty (a row needs a description or a title)');
  });

  const cases: Array<[string, unknown, string | null, string, string]> = [
    ['missing description', { ...good('a'), description: undefined }, 'a', 'description', 'description is missing (a row needs a description or a title)'],
    ['numeric brand', good('a', { brand: 7 }), 'a', 'brand', 'brand must be a string, got number'],
    ['whitespace description', good('a', { description: ' \t ' }), 'a', 'description', 'description is empty (a row needs a description or a title)'],
    ['array category', good('a', { category: ['x'] }), 'a', 'category', 'category must be a string, got array'],
    ['numeric title', good('a', { title: 12 }), 'a', 'title', 'title must be a string, got number'],
    ['numeric name', good('a', { name: 12 }), 'a', 'name', 'name must be a string, got number'],
    ['missing item_id', { ...good('a'), item_id: undefined }, null, 'item_id', 'item_id is missing'],
    ['boolean item_id', good(true as never), null, 'item_id', 'item_id must be a string or an integer, got boolean'],
    ['fractional item_id', good(1.5), null, 'item_id', 'item_id must be a string or an integer, got non-integer number 1.5'],
    ['long item_id', good('x'.repeat(513)), null, 'item_id', 'item_id is too long: 513 characters (max 512)'],
    ['bad org_id', good('a', { org_id: 'abc' }), 'a', 'org_id', 'org_id is not a UUID: "abc"'],
    ['numeric org_id', good('a', { org_id: 5 }), 'a', 'org_id', 'org_id must be a string, got number'],
    ['bad tag element', good('a', { tags: ['ok', 3] }), 'a', 'tags', 'tags[1] must be a string, got number'],
    ['object tags', good('a', { tags: { a: 1 } }), 'a', 'tags', 'tags must be an array of strings or a comma-separated string, got object'],
    ['boolean metadata_version', good('a', { metadata_version: true }), 'a', 'metadata_version', 'metadata_version must be a string or a number, got boolean'],
    ['not an object', [1, 2], null, 'row', 'row is not an object, got array'],
  ];
  for (const [name, raw, itemId, field, reason] of cases) {
    test(`rejects ${name}`, () => {
      const r = validateRow(raw, ref, DEFAULTS);
      assert.ok(!r.ok, 'expected a rejection');
      assert.equal(r.rejection.field, field);
      assert.equal(r.rejection.reason, reason);
      assert.equal(r.rejection.itemId, itemId);
      assert.deepEqual(r.rejection.ref, ref);
      assert.equal(r.rejection.raw, raw);
    });
  }

  test('rejects an invalid namespace with the pattern explained', () => {
    const r = validateRow(good('a', { namespace: 'Bad NS' }), ref, DEFAULTS);
    assert.ok(!r.ok);
    assert.equal(r.rejection.field, 'namespace');
    assert.match(r.rejection.reason, /^namespace is not valid: "Bad NS"/);
  });
});

describe('readJsonl', () => {
  const lines = [
    JSON.stringify(good('sku-1', { description: '  Red wool scarf ', tags: ['winter', ' wool ', ''], metadata_version: 3, extra: 'ignored' })),
    '',
    JSON.stringify(good(42, { tags: 'kitchen, ceramic, ,blue', org_id: OTHER_ORG, namespace: 'shop.eu-1' })),
    JSON.stringify({ ...good('sku-3'), description: undefined }),
    JSON.stringify(good('sku-4', { brand: 7 })),
    JSON.stringify(good('sku-5', { org_id: 'abc' })),
    '{"item_id": "sku-6", "description": oops}',
    JSON.stringify(good('sku-7', { description: '   ' })),
    '[1,2]',
    '   ',
    JSON.stringify(good('sku-9', { metadata_version: null })),
  ];
  const path = fixture('catalog.jsonl', `\uFEFF${lines.join('\r\n')}\n`);

  test('reads good rows with the right values and rejects bad rows without stopping', async () => {
    const results = await collect(readJsonl(path, DEFAULTS));
    assert.equal(results.length, 9);
    const ok = items(results);
    assert.deepEqual(
      ok.map((i) => i.itemId),
      ['sku-1', '42', 'sku-9'],
    );
    assert.deepEqual(ok[0], {
      itemId: 'sku-1',
      title: null,
      description: 'Red wool scarf',
      brand: 'Acme',
      category: 'Outdoor',
      imageUrl: 'https://img.example.com/sku-1.jpg',
      tags: ['winter', 'wool'],
      metadataVersion: '3',
      orgId: DEFAULTS.orgId,
      namespace: 'default',
    });
    assert.deepEqual(ok[1]?.tags, ['kitchen', 'ceramic', 'blue']);
    assert.equal(ok[1]?.orgId, OTHER_ORG.toLowerCase());
    assert.equal(ok[1]?.namespace, 'shop.eu-1');
    assert.equal(ok[2]?.metadataVersion, null);

    const good3 = results.find((r) => r.ok && r.item.itemId === '42');
    assert.ok(good3?.ok);
    assert.deepEqual(good3.ref, { source: path, line: 3 });

    const rej = rejections(results);
    assert.deepEqual(
      rej.map((r) => [r.ref.line, r.itemId, r.field]),
      [
        [4, 'sku-3', 'description'],
        [5, 'sku-4', 'brand'],
        [6, 'sku-5', 'org_id'],
        [7, null, 'row'],
        [8, 'sku-7', 'description'],
        [9, null, 'row'],
      ],
    );
    assert.equal(rej[0]?.reason, 'description is missing (a row needs a description or a title)');
    assert.equal(rej[1]?.reason, 'brand must be a string, got number');
    assert.equal(rej[2]?.reason, 'org_id is not a UUID: "abc"');
    assert.match(rej[3]?.reason ?? '', /^line is not valid JSON: .+/);
    assert.equal(rej[3]?.raw, lines[6]);
    assert.equal(rej[4]?.reason, 'description is empty (a row needs a description or a title)');
    assert.equal(rej[5]?.reason, 'line is not a JSON object, got array');
    assert.ok(rej.every((r) => r.ref.source === path));
  });

  test('progress: total is the file size in bytes, position reaches it', async () => {
    const reader = readJsonl(path, DEFAULTS);
    assert.equal(reader.unit, 'bytes');
    assert.equal(reader.total, statSync(path).size);
    assert.equal(reader.position(), 0);
    let seen = 0;
    for await (const _ of reader.rows) {
      const p = reader.position();
      assert.ok(p > 0 && p <= statSync(path).size);
      seen++;
    }
    assert.equal(seen, 9);
    assert.equal(reader.position(), reader.total);
  });

  test('stopping early is clean and a new pass starts from the top', async () => {
    const reader = readJsonl(path, DEFAULTS);
    for await (const r of reader.rows) {
      assert.ok(r.ok && r.item.itemId === 'sku-1');
      break;
    }
    const again = await collect(reader);
    assert.equal(again.length, 9);
  });

  test('a JSON array file is a SourceError, not a stream of rejections', async () => {
    const p = fixture('array.json', JSON.stringify([good('a'), good('b')], null, 2));
    const reader = openCatalog({ kind: 'file', path: p }, DEFAULTS);
    await assert.rejects(collect(reader), (err: unknown) => err instanceof SourceError && /JSON array/.test(err.message) && err.message.includes(p));
  });
});

describe('readCsv', () => {
  const header = 'item_id,description,brand,category,image_url,tags,metadata_version,org_id,namespace';
  const csvLines = [
    header,
    'sku-1,Red scarf,Acme,Accessories,https://x/1.jpg,"winter, wool",3,,', // 2
    '', // 3 (empty, skipped)
    `sku-2,"Multi`, // 4
    `line desc",Acme,Accessories,https://x/2.jpg,,,${OTHER_ORG},ns-2`, // 5
    '17,,Acme,Accessories,https://x/3.jpg,,,,', // 6 empty description
    'sku-4,too,few', // 7 wrong column count
    'sku-5,"   ",Acme,Accessories,https://x/5.jpg,,,,', // 8 whitespace description
    'sku-6,Mug,Acme,Kitchen,https://x/6.jpg,,,abc,', // 9 bad org_id
    'sku-7,Lamp,Acme,Home,https://x/7.jpg,lamp,v2,,,extra', // 10 too many columns
    '42,Good after,Acme,Kitchen,https://x/8.jpg,kitchen,,,shop', // 11
  ];
  const path = fixture('catalog.csv', `\uFEFF${csvLines.join('\r\n')}\r\n`);

  test('reads good rows, rejects bad ones with their line numbers', async () => {
    const results = await collect(readCsv(path, DEFAULTS));
    assert.equal(results.length, 8);
    const ok = items(results);
    assert.deepEqual(
      ok.map((i) => i.itemId),
      ['sku-1', 'sku-2', '42'],
    );
    assert.deepEqual(ok[0], {
      itemId: 'sku-1',
      title: null,
      description: 'Red scarf',
      brand: 'Acme',
      category: 'Accessories',
      imageUrl: 'https://x/1.jpg',
      tags: ['winter', 'wool'],
      metadataVersion: '3',
      orgId: DEFAULTS.orgId,
      namespace: 'default',
    });
    assert.equal(ok[1]?.description, 'Multi\r\nline desc');
    assert.equal(ok[1]?.orgId, OTHER_ORG.toLowerCase());
    assert.equal(ok[1]?.namespace, 'ns-2');
    assert.deepEqual(ok[2]?.tags, ['kitchen']);
    assert.equal(ok[2]?.namespace, 'shop');
    assert.deepEqual(
      results.filter((r) => r.ok).map((r) => r.ok && r.ref.line),
      [2, 4, 11],
    );

    const rej = rejections(results);
    assert.deepEqual(
      rej.map((r) => [r.ref.line, r.itemId, r.field, r.reason]),
      [
        [6, '17', 'description', 'description is empty (a row needs a description or a title)'],
        [7, 'sku-4', 'row', 'row has 3 columns, the header has 9'],
        [8, 'sku-5', 'description', 'description is empty (a row needs a description or a title)'],
        [9, 'sku-6', 'org_id', 'org_id is not a UUID: "abc"'],
        [10, 'sku-7', 'row', 'row has 10 columns, the header has 9'],
      ],
    );
    assert.deepEqual(rej[1]?.raw, ['sku-4', 'too', 'few']);
  });

  test('progress in bytes', async () => {
    const reader = readCsv(path, DEFAULTS);
    assert.equal(reader.unit, 'bytes');
    assert.equal(reader.total, statSync(path).size);
    assert.equal(reader.position(), 0);
    await collect(reader);
    assert.equal(reader.position(), reader.total);
  });

  test('an unclosed quote is rejected at the line it opens on; the rows after it are read, not merged into it', async () => {
    const p = fixture('broken.csv', [header, 'a,Good,B,C,U,,,,', 'b,"never closed,B,C,U,,,,', 'c,x,B,C,U,,,,'].join('\n'));
    const seen: RowResult[] = [];
    for await (const r of readCsv(p, DEFAULTS).rows) seen.push(r);
    assert.deepEqual(
      items(seen).map((i) => [i.itemId, i.description]),
      [
        ['a', 'Good'],
        ['c', 'x'],
      ],
    );
    const rejected = seen.flatMap((r) => (r.ok ? [] : [r.rejection]));
    assert.equal(rejected.length, 1);
    assert.equal(rejected[0]!.ref.line, 3);
    assert.equal(rejected[0]!.itemId, 'b');
    assert.match(rejected[0]!.reason, /quote opened on this line is never closed/);
  });
});

describe('readParquet', () => {
  const schema = [
    { name: 'root', num_children: 8 },
    { name: 'item_id', type: 'INT64' as const, repetition_type: 'REQUIRED' as const },
    { name: 'description', type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'OPTIONAL' as const },
    { name: 'brand', type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'REQUIRED' as const },
    { name: 'category', type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'REQUIRED' as const },
    { name: 'image_url', type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'REQUIRED' as const },
    { name: 'tags', repetition_type: 'OPTIONAL' as const, converted_type: 'LIST' as const, num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED' as const, num_children: 1 },
    { name: 'element', type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'OPTIONAL' as const },
    { name: 'metadata_version', type: 'INT32' as const, repetition_type: 'OPTIONAL' as const },
    { name: 'org_id', type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'OPTIONAL' as const },
  ];
  const columnData = [
    { name: 'item_id', data: [1n, 2n, 3n, 4n, 5n, 6n, 7n] },
    { name: 'description', data: ['Boots', 'Tent', null, '  ', 'Stove', 'Lamp', 'Rope'] },
    { name: 'brand', data: ['Acme', 'Acme', 'Acme', 'Acme', 'Acme', 'Acme', 'Acme'] },
    { name: 'category', data: ['Outdoor', 'Outdoor', 'Outdoor', 'Outdoor', 'Outdoor', 'Outdoor', 'Outdoor'] },
    { name: 'image_url', data: ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7'] },
    { name: 'tags', data: [['hiking', ' waterproof '], [], null, null, null, ['camp'], null] },
    { name: 'metadata_version', data: [5, null, null, null, 1, null, 2] },
    { name: 'org_id', data: [null, OTHER_ORG, null, null, 'not-a-uuid', null, null] },
  ];

  function writeFixture(name: string, extra: Record<string, unknown> = {}): string {
    const filename = join(dir, name);
    parquetWriteFile({ filename, columnData, schema, rowGroupSize: 3, ...extra });
    return filename;
  }

  for (const [label, extra] of [
    ['snappy', {}],
    ['gzip', { codec: 'GZIP', compressors: { GZIP: (b: Uint8Array) => new Uint8Array(gzipSync(b)) } }],
  ] as const) {
    test(`reads all row groups (${label}) with bigint ids, list tags, rejections`, async () => {
      const path = writeFixture(`catalog-${label}.parquet`, extra);
      const reader = readParquet(path, DEFAULTS);
      assert.equal(reader.unit, 'rows');
      assert.equal(reader.total, 7);
      assert.equal(reader.position(), 0);
      const results: RowResult[] = [];
      for await (const r of reader.rows) {
        results.push(r);
        assert.equal(reader.position(), results.length);
      }
      assert.equal(results.length, 7);
      const ok = items(results);
      assert.deepEqual(
        ok.map((i) => i.itemId),
        ['1', '2', '6', '7'],
      );
      assert.deepEqual(ok[0], {
        itemId: '1',
        title: null,
        description: 'Boots',
        brand: 'Acme',
        category: 'Outdoor',
        imageUrl: 'u1',
        tags: ['hiking', 'waterproof'],
        metadataVersion: '5',
        orgId: DEFAULTS.orgId,
        namespace: 'default',
      });
      assert.equal(ok[1]?.orgId, OTHER_ORG.toLowerCase());
      assert.equal(ok[1]?.metadataVersion, null);
      assert.deepEqual(ok[2]?.tags, ['camp']);
      assert.deepEqual(
        rejections(results).map((r) => [r.ref.line, r.itemId, r.field, r.reason]),
        [
          [3, '3', 'description', 'description is missing (a row needs a description or a title)'],
          [4, '4', 'description', 'description is empty (a row needs a description or a title)'],
          [5, '5', 'org_id', 'org_id is not a UUID: "not-a-uuid"'],
        ],
      );
      assert.equal(reader.position(), reader.total);
    });
  }

  test('large row groups are read in ranges, all rows in order', async () => {
    const n = 25_000;
    const filename = join(dir, 'big.parquet');
    parquetWriteFile({
      filename,
      rowGroupSize: [12_000, 13_000],
      pageSize: 64 * 1024,
      columnData: [
        { name: 'item_id', data: Array.from({ length: n }, (_, i) => `sku-${i + 1}`) },
        { name: 'description', data: Array.from({ length: n }, (_, i) => `item ${i + 1}`) },
        { name: 'brand', data: Array.from({ length: n }, () => 'Acme') },
        { name: 'category', data: Array.from({ length: n }, () => 'Bulk') },
        { name: 'image_url', data: Array.from({ length: n }, (_, i) => `https://x/${i + 1}.jpg`) },
        { name: 'embedding_blob', data: Array.from({ length: n }, () => 'ignored column') },
      ],
    });
    const reader = openCatalog({ kind: 'file', path: filename }, DEFAULTS);
    assert.equal(reader.total, n);
    let i = 0;
    for await (const r of reader.rows) {
      i++;
      assert.ok(r.ok, `row ${i} rejected`);
      assert.equal(r.item.itemId, `sku-${i}`);
      assert.equal(r.ref.line, i);
    }
    assert.equal(i, n);
  });

  test('a file that is not Parquet → SourceError naming the path', () => {
    const p = fixture('fake.parquet', 'item_id,description\n1,x\n');
    assert.throws(
      () => readParquet(p, DEFAULTS),
      (err: unknown) => err instanceof SourceError && err.message.includes(p) && /not a Parquet file/.test(err.message),
    );
  });
});

describe('openCatalog', () => {
  test('chooses the reader by extension', async () => {
    const row = JSON.stringify(good('x'));
    for (const ext of ['.jsonl', '.ndjson', '.json', '.JSONL']) {
      const p = fixture(`pick${ext}`, `${row}\n`);
      const results = await collect(openCatalog({ kind: 'file', path: p }, DEFAULTS));
      assert.equal(results.length, 1, ext);
      assert.ok(results[0]?.ok, ext);
    }
    const csv = fixture('pick.csv', 'item_id,description,brand,category,image_url\nx,d,b,c,u\n');
    const csvRows = await collect(openCatalog({ kind: 'file', path: csv }, DEFAULTS));
    assert.ok(csvRows.length === 1 && csvRows[0]?.ok);
  });

  test('unsupported extension → SourceError listing the supported ones', () => {
    const p = fixture('catalog.xlsx', 'nope');
    assert.throws(
      () => openCatalog({ kind: 'file', path: p }, DEFAULTS),
      (err: unknown) =>
        err instanceof SourceError && err.message.includes(p) && ['.jsonl', '.ndjson', '.json', '.csv', '.parquet'].every((e) => err.message.includes(e)),
    );
  });

  test('missing file → SourceError naming the path, for every format', () => {
    for (const name of ['missing.jsonl', 'missing.csv', 'missing.parquet']) {
      const p = join(dir, name);
      assert.throws(
        () => openCatalog({ kind: 'file', path: p }, DEFAULTS),
        (err: unknown) => err instanceof SourceError && err.message.includes(p) && err.exitCode === 3,
        name,
      );
    }
  });

  test('a directory → SourceError', () => {
    assert.throws(
      () => readCsv(dir, DEFAULTS),
      (err: unknown) => err instanceof SourceError && err.message.includes(dir),
    );
  });
});
