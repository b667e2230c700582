/**
 * Nothing lost, nothing corrupted: each case a new user reproduced on an earlier build (poison rows,
 * odd bytes, a second process, a CSV quote left open, repeated ids, a runaway description, a folder
 * that hangs mkdir), run against real files, PGlite in-process and over the wire, and the CLI.
 * The HTTP cases (long ids, %00, api_key in the URL, a flaky provider) are in serve.test.ts, the
 * exit codes of a lost connection and an unwritable home in exit-codes.test.ts, the lock races in
 * folder-lock.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { parquetWriteFile } from 'hyparquet-writer';
import type { ConfigInput } from '../src/config.js';
import { ObjectStoreError, SourceError } from '../src/errors.js';
import { makeDir } from '../src/make-dir.js';
import { type RunSummary, runEmbeddingJob } from '../src/pipeline/run.js';
import { type Db, openDb } from '../src/store/db.js';
import { migrate } from '../src/store/migrations.js';
import { quietLogger, type RawItem, sampleItems, tempDir, testConfig, writeJsonl } from '../testkit/fixtures.js';
import { type HashProvider, hashProvider } from '../testkit/hash-provider.js';
import { startOpenAIServer } from '../testkit/openai-server.js';
import { startPgliteServer } from '../testkit/pglite-server.js';
import { CLI_PROCESS_ARGS } from '../testkit/run-cli.js';
import { useTestDb } from '../testkit/test-db.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ORG = testConfig('/unused').orgId;
const logger = quietLogger();

const { db, home } = useTestDb();
const { db: wireDb } = useTestDb({ driver: 'pg' });

interface RunOn {
  db?: Db;
  provider?: HashProvider;
  config?: ConfigInput;
}

/** One run of the job over `file` in `namespace`, on this file's database (or `o.db`). */
async function runFile(namespace: string, file: string, o: RunOn = {}): Promise<RunSummary> {
  const config = testConfig(home, { ...o.config, namespace, objects: { url: path.join(home, 'objects') }, run: { createIndex: false, ...o.config?.run } });
  return runEmbeddingJob({ config, source: { kind: 'file', path: file }, db: o.db ?? db, provider: o.provider ?? hashProvider(), logger });
}

const failuresOf = (d: Db, namespace: string) =>
  d.query<{
    item_id: string | null;
    source_ref: string | null;
    stage: string;
    error_class: string;
    field: string | null;
    message: string;
    payload: string | null;
  }>(
    'SELECT item_id, source_ref, stage, error_class, field, message, payload::text AS payload FROM embedding_failures WHERE org_id = $1 AND namespace = $2 ORDER BY source_ref, item_id',
    [ORG, namespace],
  );

async function vectorCounts(d: Db, namespace: string): Promise<{ rows: number; keys: number }> {
  const [r] = await d.query<{ rows: number; keys: number }>(
    'SELECT count(*)::int AS rows, count(DISTINCT item_id)::int AS keys FROM item_embeddings WHERE org_id = $1 AND namespace = $2',
    [ORG, namespace],
  );
  return r!;
}

const NUL = '\u0000';

/** `good` sample items with two poison rows in the middle: a NUL in a description, a NUL in an id. */
function withNulRows(good: number, prefix: string): RawItem[] {
  const rows = sampleItems(good, prefix);
  rows.splice(good / 2, 0, { ...sampleItems(1, `${prefix}-nul-text`)[0]!, description: `A boot with${NUL}a NUL` });
  rows.splice(good / 2 + 200, 0, { ...sampleItems(1, `${prefix}-nul-id`)[0]!, item_id: `${prefix}-id${NUL}x` });
  return rows;
}

const csvField = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

async function writeCatalog(format: 'jsonl' | 'csv' | 'parquet', rows: RawItem[]): Promise<string> {
  const file = path.join(await tempDir(), `catalog.${format}`);
  const columns = ['item_id', 'description', 'brand', 'category', 'image_url'] as const;
  if (format === 'jsonl') return writeJsonl(file, rows);
  if (format === 'csv') {
    await writeFile(file, `${[columns.join(','), ...rows.map((r) => columns.map((c) => csvField(r[c])).join(','))].join('\n')}\n`);
    return file;
  }
  parquetWriteFile({ filename: file, columnData: columns.map((c) => ({ name: c, data: rows.map((r) => r[c]), type: 'STRING' as const })) });
  return file;
}

describe('repro 2: one NUL is a rejected row, not a poison row', () => {
  for (const [format, d] of [
    ['jsonl', () => db],
    ['csv', () => db],
    ['parquet', () => db],
    ['jsonl over the wire', () => wireDb],
  ] as const) {
    test(`${format}: 3,000 good rows load, the NUL rows are dead letters naming field and byte, and a rerun goes past them`, async () => {
      const ns = `nul-${format.split(' ')[0]}${format.includes('wire') ? '-wire' : ''}`;
      const file = await writeCatalog(format.split(' ')[0] as 'jsonl', withNulRows(3000, ns));
      const first = await runFile(ns, file, { db: d() });
      assert.equal(first.items_seen, 3002);
      assert.equal(first.embedded, 3000);
      assert.equal(first.rejected, 2);
      assert.deepEqual(await vectorCounts(d(), ns), { rows: 3000, keys: 3000 });
      const failures = await failuresOf(d(), ns);
      assert.deepEqual(failures.map((f) => [f.stage, f.error_class, f.field]).sort(), [
        ['extract', 'ROW_REJECTED', 'description'],
        ['extract', 'ROW_REJECTED', 'item_id'],
      ]);
      assert.match(
        failures.find((f) => f.field === 'description')!.message,
        /description contains a NUL character \(Postgres text cannot hold one\) at byte 11/,
      );
      assert.match(failures.find((f) => f.field === 'item_id')!.message, /item_id contains a NUL character .* at byte \d+/);
      // The raw row is kept, its NUL made storable.
      assert.match(failures.find((f) => f.field === 'description')!.payload!, /A boot with\\ufffda NUL|A boot with\uFFFDa NUL/);
      const again = await runFile(ns, file, { db: d() });
      assert.equal(again.skipped_unchanged, 3000);
      assert.equal(again.rejected, 2);
    });
  }

  test('catalog.invalidText "clean": the characters are removed, the rows load and are counted as cleaned; a NUL in an id is still rejected', async () => {
    const file = await writeCatalog('jsonl', withNulRows(40, 'clean'));
    const s = await runFile('nul-clean', file, { config: { catalog: { invalidText: 'clean' } } });
    assert.equal(s.embedded, 41);
    assert.equal(s.cleaned, 1);
    assert.equal(s.rejected, 1);
    const [row] = await db.query<{ description: string }>(
      "SELECT description FROM catalog_items WHERE namespace = 'nul-clean' AND item_id = 'clean-nul-text-0001'",
    );
    assert.equal(row?.description, 'A boot witha NUL');
  });
});

describe('repro 3: rows meant for the dead-letter table are recorded there, and files that are not text say so', () => {
  test('a gzip file named .jsonl and a UTF-16 file: a SourceError (exit 3) that says what the file is', async () => {
    const dir = await tempDir();
    const text = `${sampleItems(5, 'enc')
      .map((r) => JSON.stringify(r))
      .join('\n')}\n`;
    const gz = path.join(dir, 'gz.jsonl');
    await writeFile(gz, gzipSync(text));
    const utf16 = path.join(dir, 'utf16.jsonl');
    await writeFile(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    const utf16NoBom = path.join(dir, 'utf16-nobom.csv');
    await writeFile(utf16NoBom, Buffer.from('item_id,description\na,b\n', 'utf16le'));
    for (const [file, what] of [
      [gz, /is gzip-compressed: decompress it first/],
      [utf16, /is UTF-16 text: convert it to UTF-8/],
      [utf16NoBom, /is not UTF-8 text \(a NUL byte at offset 1/],
    ] as const) {
      await assert.rejects(runFile('enc', file), (err: unknown) => err instanceof SourceError && err.exitCode === 3 && what.test(err.message));
    }
  });

  test('a rejected row holding a NUL, a lone surrogate or 20,000 levels of nesting is stored, escaped and cut', async () => {
    const deep = '['.repeat(20_000) + ']'.repeat(20_000);
    const lines = [
      JSON.stringify(sampleItems(1, 'ok')[0]),
      `{"item_id":"r-nul","description":"fine","brand":5,"category":"a\\u0000b"}`,
      `{"item_id":"r-surrogate","description":"fine","brand":"\\ud800"}`,
      `{"item_id":"r-deep","description":${deep}}`,
    ];
    const file = await writeJsonl(path.join(await tempDir(), 'dead.jsonl'), lines);
    const s = await runFile('dead', file);
    assert.equal(s.embedded, 1);
    assert.equal(s.rejected, 3);
    assert.equal(s.dead_letters_unwritten, 0);
    const failures = await failuresOf(db, 'dead');
    const by = Object.fromEntries(failures.map((f) => [f.item_id, f]));
    assert.match(by['r-nul']!.message, /brand must be a string, got number/);
    assert.equal(JSON.parse(by['r-nul']!.payload!).category, 'a\uFFFDb');
    assert.match(by['r-surrogate']!.message, /brand contains an unpaired UTF-16 surrogate .* at byte 0/);
    assert.equal(JSON.parse(by['r-surrogate']!.payload!).brand, '\uFFFD');
    assert.match(by['r-deep']!.message, /description must be a string, got array/);
    assert.match(by['r-deep']!.payload!, /nested deeper than 32 levels: cut/);
  });
});

test('repro 4: a CSV quote never closed is rejected at its line; the next row keeps its own description and image', async () => {
  const file = path.join(await tempDir(), 'quote.csv');
  await writeFile(
    file,
    `${[
      'item_id,description,brand,category,image_url',
      'q1,First item,A,C,https://x.example.com/1.jpg',
      'q2,"never closed,A,C,https://x.example.com/2.jpg',
      'q3,Third item,B,C,https://x.example.com/3.jpg',
    ].join('\n')}\n`,
  );
  const s = await runFile('quote', file);
  assert.equal(s.embedded, 2);
  assert.equal(s.rejected, 1);
  const items = await db.query<{ item_id: string; description: string; image_url: string }>(
    "SELECT item_id, description, image_url FROM catalog_items WHERE namespace = 'quote' ORDER BY item_id",
  );
  assert.deepEqual(items, [
    { item_id: 'q1', description: 'First item', image_url: 'https://x.example.com/1.jpg' },
    { item_id: 'q3', description: 'Third item', image_url: 'https://x.example.com/3.jpg' },
  ]);
  const [f] = await failuresOf(db, 'quote');
  assert.equal(f?.item_id, 'q2');
  assert.equal(f?.source_ref, `${file}:3`);
  assert.match(f!.message, /a quote opened on this line is never closed/);
});

test('repro 5: an id repeated across read batches: the last row wins on every run, and reruns embed nothing', async () => {
  const ids = Array.from({ length: 60 }, (_, i) => `dup-${i + 1}`);
  const rows: RawItem[] = [
    ...sampleItems(60, 'first').map((r, i) => ({ ...r, item_id: ids[i]!, description: `FIRST ${r.description}` })),
    ...sampleItems(900, 'filler'),
    ...sampleItems(60, 'second').map((r, i) => ({ ...r, item_id: ids[i]!, description: `SECOND ${r.description}` })),
  ];
  const file = await writeJsonl(path.join(await tempDir(), 'dups.jsonl'), rows);
  for (let run = 1; run <= 4; run++) {
    const provider = hashProvider({ maxBatchInputs: 10 });
    const s = await runFile('dups', file, { provider });
    assert.equal(s.duplicates, 60, `run ${run}`);
    assert.equal(s.embedded, run === 1 ? 960 : 0, `run ${run}`);
    assert.equal(s.skipped_unchanged, run === 1 ? 0 : 960, `run ${run}`);
    assert.ok(
      provider.embeddedTexts.every((t) => !t.includes('FIRST')),
      `run ${run} embedded a FIRST row`,
    );
    const kept = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM catalog_items WHERE namespace = 'dups' AND item_id LIKE 'dup-%' AND description LIKE 'SECOND %'",
    );
    assert.equal(kept[0]?.n, 60, `run ${run}`);
  }
});

describe('repro 8: the smaller ones', () => {
  test('one item may cost at most embed.maxTokensPerItem: dead-lettered by default, or cut with embed.tooLong "truncate"', async () => {
    // ~120,000 tokens: "word " is one cl100k token.
    const huge = { ...sampleItems(1, 'huge')[0]!, description: 'word '.repeat(120_000) };
    const file = await writeJsonl(path.join(await tempDir(), 'huge.jsonl'), [...sampleItems(3, 'small'), huge]);
    const dead = hashProvider();
    const s = await runFile('cost-dead', file, { provider: dead });
    assert.equal(s.embedded, 3);
    assert.equal(s.failed, 1);
    assert.ok(
      dead.embeddedTexts.every((t) => t.length < 1000),
      'the long prompt was sent',
    );
    const [f] = await failuresOf(db, 'cost-dead');
    assert.equal(f?.error_class, 'TEXT_TOO_LONG');
    assert.match(f!.message, /the prompt has 1200\d\d tokens, above embed\.maxTokensPerItem \(32768/);

    const cut = hashProvider();
    const t = await runFile('cost-cut', file, { provider: cut, config: { embed: { provider: 'local', tooLong: 'truncate' }, run: { cache: false } } });
    assert.equal(t.embedded, 4);
    assert.equal(t.truncated, 1);
    assert.equal(t.failed, 0);
    const sent = cut.embeddedTexts.filter((x) => x.includes('word word'));
    assert.equal(sent.length, 4, 'cut to 32,768 tokens: four chunks of at most 8,192');
    assert.equal(
      sent.reduce((n, x) => n + cut.tokenizer.encode(x).length, 0),
      32_768,
    );
  });

  test('an objects folder under /proc fails the run with exit 7 instead of hanging in mkdir', { skip: process.platform !== 'linux' }, async () => {
    await assert.rejects(makeDir('/proc/itemvec-test/objects'), (err: unknown) => (err as { code?: string }).code === 'ENOENT');
    const file = await writeJsonl(path.join(await tempDir(), 'proc.jsonl'), sampleItems(3, 'proc'));
    const config = testConfig(home, { namespace: 'proc', objects: { url: '/proc/itemvec-test/objects' }, run: { createIndex: false } });
    await assert.rejects(
      runEmbeddingJob({ config, source: { kind: 'file', path: file }, db, provider: hashProvider(), logger }),
      (err: unknown) => err instanceof ObjectStoreError && err.exitCode === 7,
    );
  });

  test('two first starts on a fresh database migrate side by side: CREATE EXTENSION is inside the migration lock', async () => {
    const server = await startPgliteServer({ wholeExchanges: true });
    const [a, b] = [await openDb({ databaseUrl: server.url, home }), await openDb({ databaseUrl: server.url, home })];
    try {
      await Promise.all([migrate(a), migrate(b)]);
      const [row] = await a.query<{ n: number; distinct: number }>('SELECT count(*)::int AS n, count(DISTINCT id)::int AS distinct FROM itemvec_migrations');
      assert.ok(row!.n > 0);
      assert.equal(row!.n, row!.distinct);
    } finally {
      await a.close();
      await b.close();
      await server.close();
    }
  });
});

const cli = (args: string[], env: Record<string, string>) =>
  promisify(execFile)(process.execPath, [...CLI_PROCESS_ARGS, ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    maxBuffer: 64 * 1024 * 1024,
  }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

/** Ten kinds of poison, three rows each, as JSONL lines (bytes: one kind is not valid UTF-8). */
function poisonLines(): Buffer[] {
  const base = (id: string) => ({ item_id: id, description: 'A plain item', brand: 'Acme', category: 'Things' });
  const kinds: Array<(id: string) => string | Buffer> = [
    (id) => JSON.stringify({ ...base(id), description: `nul${NUL}inside` }),
    (id) => JSON.stringify({ ...base(id), item_id: `${id}${NUL}` }),
    (id) => `{"item_id":"${id}","description":"lone \\ud800 surrogate","brand":"Acme"}`,
    (id) => Buffer.concat([Buffer.from(`{"item_id":"${id}","description":"bad `), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(' bytes"}')]),
    (id) => `{"item_id":"${id}","description":${'['.repeat(20_000)}${']'.repeat(20_000)}}`,
    (id) => `{"item_id":"${id}","descr`,
    (id) => JSON.stringify({ ...base(id), brand: 42 }),
    (id) => JSON.stringify({ item_id: id, brand: 'Acme' }),
    (id) => JSON.stringify({ ...base(id), item_id: `${id}-${'x'.repeat(600)}` }),
    // Over embed.maxTokensPerItem (32,768): dead-lettered at the transform stage, never sent.
    (id) => JSON.stringify({ ...base(id), description: 'word '.repeat(40_000) }),
  ];
  return kinds.flatMap((kind, k) =>
    [1, 2, 3].map((n) => {
      const line = kind(`poison-${k + 1}-${n}`);
      return typeof line === 'string' ? Buffer.from(line) : line;
    }),
  );
}

test('a 3,000-row catalog with 30 poison rows of 10 kinds: 2,970 items and 30 dead letters, exit 0 under the 5 % alert threshold', async () => {
  const server = await startOpenAIServer();
  try {
    const dir = await tempDir();
    const good = sampleItems(2970, 'good').map((r) => Buffer.from(JSON.stringify(r)));
    const poison = poisonLines();
    // Poison spread through the file: one every 100 rows.
    const lines: Buffer[] = [];
    good.forEach((g, i) => {
      if (i % 99 === 50 && poison.length > 0) lines.push(poison.shift()!);
      lines.push(g);
    });
    lines.push(...poison);
    const file = path.join(dir, 'poison.jsonl');
    await writeFile(file, Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])));
    const r = await cli(['run', '--catalog', file, '--json'], {
      ITEMVEC_HOME: dir,
      ITEMVEC_PROVIDER: 'openai',
      ITEMVEC_MODEL: 'text-embedding-3-small',
      ITEMVEC_DIMS: '32',
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: server.url,
    });
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    const s = JSON.parse(r.stdout) as RunSummary;
    assert.equal(s.items_seen, 3000);
    assert.equal(s.embedded, 2970);
    assert.equal(s.rejected + s.failed, 30);
    assert.equal(s.failed, 3, 'the three over the token cap fail at transform');
    assert.equal(s.failure_rate, 0.01);
    assert.equal(s.alert, false);
    assert.equal(s.dead_letters_unwritten, 0);
    const local = await openDb({ home: dir });
    try {
      const [n] = await local.query<{ n: number; kinds: number }>(
        "SELECT count(*)::int AS n, count(DISTINCT split_part(coalesce(item_id, ''), '-', 2))::int AS kinds FROM embedding_failures",
      );
      assert.equal(n?.n, 30);
      const [v] = await local.query<{ n: number }>('SELECT count(*)::int AS n FROM item_embeddings');
      assert.equal(v?.n, 2970);
    } finally {
      await local.close();
    }
  } finally {
    await server.close();
  }
});

test('repro 1: two `itemvec run` on one ITEMVEC_HOME, the second started while the first runs: it waits, then finds nothing to do; one row per key, no run left running', async () => {
  const dir = await tempDir();
  const file = await writeJsonl(path.join(dir, 'race.jsonl'), sampleItems(300, 'race'));
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ITEMVEC_HOME: dir };
  const first = spawn(process.execPath, [...CLI_PROCESS_ARGS, 'run', '--catalog', file, '--json'], { cwd: root, env });
  let firstOut = '';
  let firstErr = '';
  first.stdout.on('data', (c: Buffer) => (firstOut += c));
  const started = new Promise<void>((resolve) =>
    first.stderr.on('data', (c: Buffer) => {
      firstErr += c;
      if (firstErr.includes('run started')) resolve();
    }),
  );
  const firstExit = new Promise<number | null>((resolve) => first.on('exit', resolve));
  await started;
  const second = await cli(['run', '--catalog', file, '--json', '--wait-lock', '300'], { ITEMVEC_HOME: dir });
  assert.equal(await firstExit, 0, firstErr.slice(-2000));
  assert.equal(second.code, 0, second.stderr.slice(-2000));
  assert.match(second.stderr, /itemvec: waiting up to 300 s for the embedded database in .*, held by /);
  assert.equal((JSON.parse(firstOut) as RunSummary).embedded, 300);
  const s2 = JSON.parse(second.stdout) as RunSummary;
  assert.equal(s2.embedded, 0);
  assert.equal(s2.skipped_unchanged, 300);
  const local = await openDb({ home: dir });
  try {
    const [v] = await local.query<{ rows: number; keys: number }>(
      'SELECT count(*)::int AS rows, count(DISTINCT (org_id, namespace, item_id, version))::int AS keys FROM item_embeddings',
    );
    assert.deepEqual(v, { rows: 300, keys: 300 });
    const [r] = await local.query<{ running: number; succeeded: number }>(
      "SELECT count(*) FILTER (WHERE status = 'running')::int AS running, count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded FROM embedding_runs",
    );
    assert.deepEqual(r, { running: 0, succeeded: 2 });
  } finally {
    await local.close();
  }
});
