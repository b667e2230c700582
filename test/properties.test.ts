/**
 * Property tests (fast-check) on every reader, the validator, the dead-letter writer and the whole
 * run: random bytes, random JSON, random CSV quoting, random Parquet column types, hostile text
 * (NUL, lone surrogates, U+FFFD, deep nesting). The invariants are the ones an operator relies on:
 * a reader yields rows or throws a SourceError, nothing else; a dead letter always goes in; a run
 * ends with a documented exit code and accounts for every row it read. Run counts are bounded so
 * the file stays well under a minute, and printed.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import fc from 'fast-check';
import { parquetWriteFile } from 'hyparquet-writer';
import type { RowResult } from '../src/catalog/item.js';
import { openCatalog } from '../src/catalog/open.js';
import { validateRow } from '../src/catalog/validate.js';
import { SourceError } from '../src/errors.js';
import { runEmbeddingJob } from '../src/pipeline/run.js';
import { DEAD_LETTER_LIMITS, recordFailures } from '../src/store/failures.js';
import { quietLogger, testConfig } from '../testkit/fixtures.js';
import { hashProvider } from '../testkit/hash-provider.js';
import { useTestDb } from '../testkit/test-db.js';

const DEFAULTS = { orgId: '00000000-0000-0000-0000-000000000001', namespace: 'default' };
/** Exit codes the README documents for a run: 2 config, 3 source, 4 database, 5 provider, 6 alert, 7 objects. */
const DOCUMENTED_EXIT_CODES = new Set([2, 3, 4, 5, 6, 7]);
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this looks for (text the reader must reject or clean)
const INVALID_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|\ufffd/;

/** Characters that break naive code: quotes, separators, line breaks, NUL, lone surrogates, U+FFFD, astral. */
const hostileChar = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'b', 'z', '1', ' ', '-', 'é', '€') },
  { weight: 2, arbitrary: fc.constantFrom('"', ',', '\n', '\r', '\\', '{', '}', '[', ']', ':') },
  { weight: 1, arbitrary: fc.constantFrom('\u0000', '\ud800', '\udfff', '\ufffd', '😀', '\u2028') },
);
const hostileText = fc.string({ unit: hostileChar, maxLength: 40 });
/** Mostly plain text, sometimes hostile: enough valid rows for the invariants to bite. */
const mostlyPlainText = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: fc.constantFrom('a', 'b', 'z', ' ', '-', 'é', ','), minLength: 1, maxLength: 30 }) },
  { weight: 1, arbitrary: hostileText },
);

const { db, home: dir } = useTestDb();

let fileNo = 0;
async function fileWith(ext: string, content: string | Uint8Array): Promise<string> {
  const file = path.join(dir, `f${++fileNo}.${ext}`);
  await writeFile(file, content);
  return file;
}

/** Every row of the file, or the SourceError that stopped it; any other error fails the property. */
async function readAll(file: string): Promise<{ rows: RowResult[]; sourceError: SourceError | null }> {
  const rows: RowResult[] = [];
  try {
    for await (const r of openCatalog({ kind: 'file', path: file }, DEFAULTS).rows) rows.push(r);
    return { rows, sourceError: null };
  } catch (err) {
    if (err instanceof SourceError) return { rows, sourceError: err };
    throw err;
  }
}

/** What every row result must look like, whatever came in. */
function checkResult(r: RowResult): void {
  if (r.ok) {
    for (const v of [r.item.itemId, r.item.description, r.item.title ?? '', r.item.brand, r.item.category, r.item.imageUrl, ...r.item.tags]) {
      assert.ok(!INVALID_TEXT.test(v), `invalid text reached an item: ${JSON.stringify(v)}`);
    }
    assert.ok(r.item.itemId.length > 0 && r.item.itemId.length <= 512);
  } else {
    assert.ok(r.rejection.field.length > 0 && r.rejection.reason.length > 0, 'a rejection names a field and a reason');
  }
}

function report(t: TestContext, what: string, counts: Record<string, number>): void {
  t.diagnostic(
    `${what}: ${Object.entries(counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ')}`,
  );
}

test('the validator: any value in any field is an item or a rejection naming a field, never a throw, never invalid text', (t) => {
  const counts = { rows: 0, items: 0, rejections: 0 };
  const value = fc.oneof(
    hostileText,
    fc.anything({ maxDepth: 3, withBigInt: true, withDate: true, withNullPrototype: true, withTypedArray: true, stringUnit: hostileChar }),
  );
  const absentOr = <T>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: a });
  const row = fc.record(
    {
      item_id: fc.oneof({ weight: 3, arbitrary: mostlyPlainText }, { weight: 1, arbitrary: value }),
      description: fc.oneof({ weight: 3, arbitrary: mostlyPlainText }, { weight: 1, arbitrary: value }),
      title: absentOr(value),
      brand: fc.oneof({ weight: 3, arbitrary: mostlyPlainText }, { weight: 1, arbitrary: value }),
      category: mostlyPlainText,
      image_url: absentOr(value),
      tags: fc.oneof(fc.array(mostlyPlainText, { maxLength: 3 }), value),
      metadata_version: absentOr(value),
      org_id: absentOr(value),
      namespace: absentOr(value),
    },
    { requiredKeys: ['item_id'] },
  );
  fc.assert(
    fc.property(fc.oneof({ weight: 9, arbitrary: row }, { weight: 1, arbitrary: fc.anything() }), (raw) => {
      const r = validateRow(raw, { source: 'prop', line: 1 }, DEFAULTS);
      checkResult(r);
      counts.rows++;
      if (r.ok) counts.items++;
      else counts.rejections++;
    }),
    { numRuns: 3000 },
  );
  report(t, 'validator', counts);
});

test('JSONL and CSV readers: random bytes give rows or a SourceError, nothing else', async (t) => {
  const counts = { files: 0, rows: 0, sourceErrors: 0 };
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('jsonl', 'csv'), fc.uint8Array({ maxLength: 600 }), fc.boolean(), async (ext, bytes, withHeader) => {
      const head = ext === 'csv' && withHeader ? Buffer.from('item_id,description,brand\n') : Buffer.alloc(0);
      const { rows, sourceError } = await readAll(await fileWith(ext, Buffer.concat([head, bytes])));
      rows.forEach(checkResult);
      counts.files++;
      counts.rows += rows.length;
      if (sourceError) counts.sourceErrors++;
    }),
    { numRuns: 300 },
  );
  report(t, 'random bytes', counts);
});

test('JSONL reader: random JSON lines give exactly one result per line', async (t) => {
  const counts = { files: 0, lines: 0, items: 0 };
  const line = fc.oneof(
    fc.record({ item_id: mostlyPlainText, description: mostlyPlainText, brand: mostlyPlainText, tags: fc.array(mostlyPlainText, { maxLength: 3 }) }),
    fc.jsonValue({ maxDepth: 4 }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 20 }), async (values) => {
      const text = `${values.map((v) => JSON.stringify(v)).join('\n')}\n`;
      const { rows, sourceError } = await readAll(await fileWith('jsonl', text));
      if (Array.isArray(values[0])) {
        // A file whose first line is an array is taken for a JSON array file, said once (SourceError).
        assert.match(String(sourceError?.message), /looks like a JSON array/);
        return;
      }
      assert.equal(sourceError, null);
      assert.equal(rows.length, values.length);
      rows.forEach(checkResult);
      counts.files++;
      counts.lines += values.length;
      counts.items += rows.filter((r) => r.ok).length;
    }),
    { numRuns: 200 },
  );
  report(t, 'random JSON', counts);
});

const csvQuote = (v: string) => `"${v.replaceAll('"', '""')}"`;

test('CSV reader: quoted fields round-trip exactly; one quote left open is rejected at its line and every other row is read as itself', async (t) => {
  const counts = { files: 0, rows: 0, withOpenQuote: 0, items: 0, rejections: 0 };
  const anyText = fc.string({ unit: fc.constantFrom('a', 'b', ' ', '-', 'é', '"', ',', '\n'), minLength: 1, maxLength: 12 });
  // Beside a quote left open, fields hold no quotes or line breaks: otherwise the file is ambiguous
  // (the open quote could close in a later field) and no reader can tell what was meant; for the
  // same reason they start with a letter, and the quote left open is the last field of its line.
  const simpleText = fc
    .tuple(fc.constantFrom('a', 'b', 'é'), fc.string({ unit: fc.constantFrom('a', 'b', ' ', '-', 'é', ','), maxLength: 11 }))
    .map(([first, rest]) => first + rest);
  const file = fc.oneof(
    fc.record({ rows: fc.array(fc.tuple(anyText, anyText), { minLength: 1, maxLength: 12 }), open: fc.constant(-1), bare: fc.constant<boolean[]>([]) }),
    fc.array(fc.tuple(simpleText, simpleText), { minLength: 1, maxLength: 12 }).chain((rows) =>
      fc.record({
        rows: fc.constant(rows),
        open: fc.nat({ max: rows.length - 1 }).map((row) => 2 * row + 1),
        bare: fc.array(fc.boolean(), { minLength: 2 * rows.length, maxLength: 2 * rows.length }),
      }),
    ),
  );
  await fc.assert(
    fc.asyncProperty(file, async ({ rows, open, bare }) => {
      const write = (v: string, i: number) => (i === open ? `"${v}` : bare[i] && !v.includes(',') ? v : csvQuote(v));
      const ids = rows.map((_, i) => `id${i}`);
      const text = `${['item_id,description,brand', ...rows.map(([d, b], i) => [ids[i], write(d, 2 * i), write(b, 2 * i + 1)].join(','))].join('\n')}\n`;
      const { rows: results, sourceError } = await readAll(await fileWith('csv', text));
      assert.equal(sourceError, null);
      results.forEach(checkResult);
      const openRow = open >= 0 ? Math.floor(open / 2) : -1;
      const items = results.flatMap((r) => (r.ok ? [{ id: r.item.itemId, d: r.item.description, b: r.item.brand }] : []));
      const expected = rows.map(([d, b], i) => ({ id: ids[i]!, d: d.trim(), b: b.trim() })).filter((e, i) => e.d !== '' && i !== openRow);
      assert.deepEqual(items, expected);
      if (openRow >= 0) {
        const rejected = results.flatMap((r) => (r.ok ? [] : [r.rejection]));
        assert.deepEqual(
          rejected.map((r) => [r.ref.line, r.reason]),
          [[openRow + 2, 'a quote opened on this line is never closed; the lines after it are read as rows of their own']],
        );
        counts.withOpenQuote++;
      }
      counts.files++;
      counts.rows += rows.length;
      counts.items += items.length;
      counts.rejections += results.length - items.length;
    }),
    { numRuns: 250 },
  );
  report(t, 'CSV quoting', counts);
});

test('Parquet reader: any column types give exactly one result per row', async (t) => {
  const counts = { files: 0, rows: 0, items: 0 };
  type ColumnType = 'STRING' | 'INT32' | 'INT64' | 'DOUBLE' | 'BOOLEAN' | 'JSON' | 'TIMESTAMP';
  const column = fc.oneof(
    { weight: 6, arbitrary: fc.constant<ColumnType>('STRING') },
    { weight: 1, arbitrary: fc.constantFrom<ColumnType>('INT32', 'INT64', 'DOUBLE', 'BOOLEAN', 'JSON', 'TIMESTAMP') },
  );
  const cellValue = (type: string, i: number, s: string): unknown => {
    switch (type) {
      case 'STRING':
        return s;
      case 'INT32':
        return i - 3;
      case 'INT64':
        return BigInt(i) * 10_000_000_000n;
      case 'DOUBLE':
        return i / 7;
      case 'BOOLEAN':
        return i % 2 === 0;
      case 'JSON':
        return { s, n: [i] };
      default:
        return new Date(Date.UTC(2026, 0, 1 + i));
    }
  };
  await fc.assert(
    fc.asyncProperty(
      fc.tuple(column, column, column, column),
      fc.array(fc.option(mostlyPlainText, { nil: null, freq: 8 }), { minLength: 1, maxLength: 15 }),
      async (types, texts) => {
        const names = ['item_id', 'description', 'brand', 'tags'];
        const columnData = names.map((name, c) => ({
          name,
          type: types[c]!,
          data: texts.map((s, i) => (s === null && c > 0 ? null : cellValue(types[c]!, i, s ?? `x${i}`))),
        }));
        const file = path.join(dir, `f${++fileNo}.parquet`);
        parquetWriteFile({ filename: file, columnData: columnData as Parameters<typeof parquetWriteFile>[0]['columnData'] });
        const { rows, sourceError } = await readAll(file);
        assert.equal(sourceError, null);
        assert.equal(rows.length, texts.length);
        rows.forEach(checkResult);
        counts.files++;
        counts.rows += rows.length;
        counts.items += rows.filter((r) => r.ok).length;
      },
    ),
    { numRuns: 120 },
  );
  report(t, 'Parquet types', counts);
});

test('the dead-letter writer stores any payload: hostile text, any value, deep nesting, huge rows', async (t) => {
  const counts = { batches: 0, letters: 0, cut: 0 };
  const deep = fc.integer({ min: 1, max: 30_000 }).map((n) => JSON.parse('['.repeat(n) + ']'.repeat(n)) as unknown);
  const payload = fc.oneof(
    fc.anything({
      maxDepth: 4,
      withBigInt: true,
      withDate: true,
      withNullPrototype: true,
      withTypedArray: true,
      withSparseArray: true,
      stringUnit: hostileChar,
    }),
    deep,
    fc.integer({ min: 1, max: 300_000 }).map((n) => ({ description: 'x'.repeat(n) })),
  );
  const letter = fc.record({ itemId: fc.option(hostileText, { nil: null }), field: fc.option(hostileText, { nil: null }), message: hostileText, payload });
  const key = { orgId: DEFAULTS.orgId, namespace: 'dead-letters', modality: 'text' as const, version: 'v1' };
  await fc.assert(
    fc.asyncProperty(fc.array(letter, { minLength: 1, maxLength: 5 }), async (letters) => {
      await recordFailures(
        db,
        key,
        '00000000-0000-4000-8000-000000000000',
        letters.map((l, i) => ({
          itemId: l.itemId,
          sourceRef: `prop:${counts.letters + i}`,
          stage: 'extract',
          errorClass: 'ROW_REJECTED',
          field: l.field,
          message: l.message,
          payload: l.payload,
        })),
      );
      counts.batches++;
      counts.letters += letters.length;
    }),
    { numRuns: 150 },
  );
  const [r] = await db.query<{ longest: number; cut: number }>(
    "SELECT max(length(payload::text))::int AS longest, count(*) FILTER (WHERE payload::text LIKE '%nested deeper than%' OR payload ? 'truncated')::int AS cut FROM embedding_failures WHERE namespace = 'dead-letters'",
  );
  assert.ok(r!.longest <= DEAD_LETTER_LIMITS.maxPayloadChars + 200, `a payload of ${r!.longest} characters`);
  counts.cut = r!.cut;
  report(t, 'dead letters', counts);
});

test('a run over a random catalog ends with a documented code, and rows read = loaded + skipped + rejected + failed', async (t) => {
  const counts = { runs: 0, rows: 0, embedded: 0, skipped: 0, rejected: 0, failed: 0, sourceErrors: 0 };
  // Short ids from a small alphabet: repeats happen, so duplicates are part of the accounting.
  const good = fc.record({ item_id: fc.stringMatching(/^[a-c0-9]{1,2}$/), description: mostlyPlainText, brand: mostlyPlainText, category: mostlyPlainText });
  const line = fc.oneof(
    { weight: 6, arbitrary: good.map((r) => JSON.stringify(r)) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: hostileText.filter((s) => !/[\n\r\u2028]/.test(s)) },
  );
  let namespace = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 40 }), async (lines) => {
      const file = await fileWith('jsonl', `${lines.join('\n')}\n`);
      const config = testConfig(dir, {
        namespace: `prop-${++namespace}`,
        objects: { url: path.join(dir, 'objects') },
        run: { createIndex: false, cache: false },
      });
      try {
        for (const attempt of [1, 2]) {
          const s = await runEmbeddingJob({
            config,
            source: { kind: 'file', path: file },
            db,
            provider: hashProvider({ maxBatchInputs: 7 }),
            logger: quietLogger(),
          });
          assert.equal(
            s.items_seen,
            s.embedded + s.skipped_unchanged + s.cache_hits + s.duplicates + s.sampled_out + s.rejected + s.failed,
            `run ${attempt}: ${JSON.stringify(s)}`,
          );
          if (attempt === 2) assert.equal(s.embedded, 0, 'a rerun of the same file embeds nothing');
          counts.runs++;
          counts.rows += s.items_seen;
          counts.embedded += s.embedded;
          counts.skipped += s.skipped_unchanged + s.duplicates;
          counts.rejected += s.rejected;
          counts.failed += s.failed;
        }
      } catch (err) {
        const code = (err as { exitCode?: number }).exitCode;
        assert.ok(code !== undefined && DOCUMENTED_EXIT_CODES.has(code), `undocumented failure: ${String(err)}`);
        counts.sourceErrors++;
      }
    }),
    { numRuns: 25 },
  );
  report(t, 'runs', counts);
});
