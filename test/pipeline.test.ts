/**
 * The job end to end on real parts: the local USE model, PGlite with pgvector, Parquet files read
 * back by DuckDB, and an OpenAI-compatible server over real HTTP.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { fromSql } from 'pgvector';
import type { ConfigInput } from '../src/config.js';
import { createLocalUseProvider } from '../src/embed/local-use.js';
import type { EmbeddingProvider } from '../src/embed/provider.js';
import { ProviderError } from '../src/errors.js';
import { openObjectStore } from '../src/objects/open.js';
import { CHUNK_VECTOR_COLUMNS } from '../src/objects/parquet.js';
import { runEmbeddingJob } from '../src/pipeline/run.js';
import { countItemVectors } from '../src/store/embeddings.js';
import { listFailures } from '../src/store/failures.js';
import { lexicalSearch } from '../src/store/lexical.js';
import { quietLogger, type RawItem, sampleItems, tempDir, testConfig, writeJsonl } from '../testkit/fixtures.js';
import { startOpenAIServer } from '../testkit/openai-server.js';
import { S3RVER_CREDENTIALS, startS3Server } from '../testkit/s3-server.js';
import { useTestDb } from '../testkit/test-db.js';

const { db, home } = useTestDb();
let local: EmbeddingProvider;
const logger = quietLogger();

before(async () => {
  local = await createLocalUseProvider();
});
after(async () => {
  await local?.close();
});

/** Run the job on `items` in `namespace`, sharing this file's database and model. */
async function run(namespace: string, items: unknown[], extra: { provider?: EmbeddingProvider; objectsDir?: string; config?: ConfigInput } = {}) {
  const dir = await tempDir();
  const file = await writeJsonl(path.join(dir, 'catalog.jsonl'), items);
  const config = testConfig(home, { ...extra.config, namespace, objects: { url: extra.objectsDir ?? path.join(home, 'objects') } });
  return runEmbeddingJob({ config, source: { kind: 'file', path: file }, db, provider: extra.provider ?? local, logger });
}

const key = (namespace: string) => ({ orgId: testConfig(home).orgId, namespace, modality: 'text' as const, version: 'v1' });

async function duck(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
  }
}

describe('change detection', () => {
  test('an unchanged rerun makes zero calls; an edit re-embeds only that item', async () => {
    const items = sampleItems(24, 'cd');
    const first = await run('cd', items);
    assert.equal(first.items_seen, 24);
    assert.equal(first.embedded, 24);
    assert.equal(first.failed, 0);
    assert.ok(first.api_calls >= 2, `24 items over 16-input requests need ≥ 2 calls, got ${first.api_calls}`);
    assert.ok(first.tokens > 24 * 10);

    const second = await run('cd', items);
    assert.deepEqual([second.embedded, second.api_calls, second.skipped_unchanged, second.tokens], [0, 0, 24, 0]);

    const edited = structuredClone(items);
    edited[5]!.description = 'A completely different text about a hiking boot with a red lace.';
    const third = await run('cd', edited);
    assert.deepEqual([third.embedded, third.api_calls, third.skipped_unchanged], [1, 1, 23]);

    // metadata_version is honoured: a new value re-embeds even though the text is the same.
    edited[6]!.metadata_version = 2;
    const fourth = await run('cd', edited);
    assert.deepEqual([fourth.embedded, fourth.api_calls], [1, 1]);

    // A tag-only change refreshes the item's attributes without an embedding call.
    edited[7]!.tags = ['changed-tag'];
    const fifth = await run('cd', edited);
    assert.deepEqual([fifth.embedded, fifth.api_calls], [0, 0]);
    const [row] = await db.query<{ tags: string[] }>("SELECT tags FROM catalog_items WHERE namespace = 'cd' AND item_id = $1", [edited[7]!.item_id]);
    assert.deepEqual(row?.tags, ['changed-tag']);
    assert.equal(await countItemVectors(db, key('cd')), 24);
  });
});

describe('lexical index', () => {
  const bm25 = { k1: 1.2, b: 0.75, maxPostings: 10_000 };
  const scope = (namespace: string) => ({ orgId: testConfig(home).orgId, namespace, version: 'v1', textSearchConfig: 'english' });
  /** Items whose lexical document is missing or was written from another prompt than their vector's. */
  const outOfStep = (namespace: string) =>
    db.query<{ item_id: string }>(
      `SELECT e.item_id FROM item_embeddings e
       LEFT JOIN lexical_documents l ON l.org_id = e.org_id AND l.namespace = e.namespace AND l.version = e.version AND l.item_id = e.item_id
       WHERE e.namespace = $1 AND (l.metadata_hash IS DISTINCT FROM e.metadata_hash)
       UNION ALL
       SELECT l.item_id FROM lexical_documents l WHERE l.namespace = $1
         AND NOT EXISTS (SELECT 1 FROM item_embeddings e WHERE e.org_id = l.org_id AND e.namespace = l.namespace AND e.version = l.version AND e.item_id = l.item_id)`,
      [namespace],
    );

  test('every embedded item is indexed from the same prompt; an edit moves its words with its vector, in one transaction', async () => {
    const items = sampleItems(12, 'lx');
    await run('lx', items);
    assert.deepEqual(await outOfStep('lx'), []);
    const hits = await lexicalSearch(db, scope('lx'), { text: 'espresso steam wand' }, bm25, 3);
    assert.ok(
      hits.length === 3 && hits.every((h) => items.find((i) => i.item_id === h.item_id)!.category === 'Kitchen > Espresso Machines'),
      JSON.stringify(hits),
    );

    const edited = structuredClone(items);
    edited[0]!.description = 'A kayak paddle in carbon fibre.';
    const second = await run('lx', edited);
    assert.deepEqual([second.embedded, second.api_calls, second.lexical_indexed], [1, 1, 0]);
    assert.deepEqual(await outOfStep('lx'), []);
    assert.deepEqual(
      (await lexicalSearch(db, scope('lx'), { text: 'kayak paddle' }, bm25, 5)).map((h) => h.item_id),
      ['lx-0001'],
    );
    const [terms] = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM lexical_postings WHERE namespace = 'lx' AND item_id = 'lx-0001' AND lexeme = 'waterproof'",
    );
    assert.equal(terms!.n, 0, "the old description's words are gone");

    // A failing load loses the vector and the words together: nothing half-written.
    edited[1]!.description = 'A tandem bicycle with a wicker basket.';
    await db.exec('ALTER TABLE lexical_corpus RENAME TO lexical_corpus_away');
    try {
      await assert.rejects(run('lx', edited), /lexical_corpus/);
    } finally {
      await db.exec('ALTER TABLE lexical_corpus_away RENAME TO lexical_corpus');
    }
    assert.deepEqual(await outOfStep('lx'), []);
    assert.deepEqual(await lexicalSearch(db, scope('lx'), { text: 'tandem bicycle' }, bm25, 5), []);
    const retried = await run('lx', edited);
    assert.deepEqual([retried.embedded, retried.api_calls], [1, 1]);
    assert.deepEqual(
      (await lexicalSearch(db, scope('lx'), { text: 'tandem bicycle' }, bm25, 5)).map((h) => h.item_id),
      ['lx-0002'],
    );
  });

  test('a version without a lexical index (loaded before it existed) is indexed by the next run, with zero model calls', async () => {
    const items = sampleItems(8, 'lb');
    await run('lb', items);
    for (const table of ['lexical_postings', 'lexical_documents', 'lexical_terms', 'lexical_corpus'])
      await db.query(`DELETE FROM ${table} WHERE namespace = 'lb'`);
    const backfill = await run('lb', items);
    assert.deepEqual([backfill.embedded, backfill.api_calls, backfill.skipped_unchanged, backfill.lexical_indexed], [0, 0, 8, 8]);
    assert.deepEqual(await outOfStep('lb'), []);
    const again = await run('lb', items);
    assert.deepEqual([again.api_calls, again.lexical_indexed], [0, 0]);
  });

  test('a row with no text for the template, or with too many tokens, fails alone with a clear dead letter', async () => {
    const items: unknown[] = [
      { item_id: 'tx-1', title: 'Analog Watch for Women', brand: 'Timex' },
      { item_id: 'tx-2', title: '   ', description: 'Only a description: the template reads the title and brand' },
      { item_id: 'tx-3', title: `Watch ${'with a very long name '.repeat(40)}`, brand: 'Casio' },
      { item_id: 'tx-4', title: 'Leather Strap Watch' },
    ];
    const summary = await run('tx', items, { config: { prompt: { template: 'Product: {title}\nBrand: {brand}' }, embed: { maxTokensPerItem: 100 } } });
    assert.deepEqual([summary.embedded, summary.failed, summary.rejected], [2, 2, 0]);
    const failures = new Map((await listFailures(db, { orgId: testConfig(home).orgId, namespace: 'tx' })).map((f) => [f.item_id, f]));
    assert.equal(failures.get('tx-2')?.error_class, 'EMPTY_TEXT');
    assert.match(failures.get('tx-2')!.message, /no text to embed: every field the prompt template uses is empty \(\{title\} \{brand\}\)/);
    assert.equal(failures.get('tx-3')?.error_class, 'TEXT_TOO_LONG');
    assert.match(failures.get('tx-3')!.message, /the prompt has \d+ tokens, above embed.maxTokensPerItem \(100; ITEMVEC_MAX_TOKENS_PER_ITEM\)/);
    assert.deepEqual((await lexicalSearch(db, scope('tx'), { text: 'watch' }, bm25, 5)).map((h) => h.item_id).sort(), ['tx-1', 'tx-4']);
  });
});

describe('Parquet objects', () => {
  test('parts read back by DuckDB carry the documented columns and match item_embeddings', async () => {
    const objectsDir = await tempDir();
    const items: RawItem[] = sampleItems(12, 'pq');
    // ~2,000 USE tokens: split into 512-token chunks on token boundaries.
    items[0]!.description = Array.from({ length: 260 }, (_, i) => `Sturdy leather boot number ${i} for long trails.`).join(' ');
    const summary = await run('pq', items, { objectsDir });
    assert.equal(summary.embedded, 12);
    // Each finished request is loaded at once: one part per request at most (12 items + 4 extra chunks = 2 requests of 16).
    assert.ok(summary.parquet_parts >= 1 && summary.parquet_parts <= summary.api_calls, `${summary.parquet_parts} parts for ${summary.api_calls} requests`);

    // Only the file's own columns: DuckDB would otherwise add the Hive folder keys (run=…) as columns.
    const parts = `read_parquet('${objectsDir}/**/*.parquet', hive_partitioning = false)`;
    const columns = await duck(`DESCRIBE SELECT * FROM ${parts}`);
    assert.deepEqual(
      columns.map((c) => c.column_name),
      [...CHUNK_VECTOR_COLUMNS],
    );
    assert.equal(columns.find((c) => c.column_name === 'vector')?.column_type, 'FLOAT[]');
    // Floats are written plain and uncompressed (they do not compress); the small columns keep Snappy.
    const codecs = await duck(`SELECT DISTINCT path_in_schema AS path, compression, encodings FROM parquet_metadata('${objectsDir}/**/*.parquet')`);
    const vectorChunks = codecs.filter((c) => String(c.path).startsWith('vector'));
    assert.ok(
      vectorChunks.length > 0 && vectorChunks.every((c) => c.compression === 'UNCOMPRESSED' && !String(c.encodings).includes('DICTIONARY')),
      JSON.stringify(vectorChunks),
    );
    assert.ok(
      codecs.filter((c) => c.path === 'item_id').every((c) => c.compression === 'SNAPPY'),
      JSON.stringify(codecs),
    );
    const [counts] = await duck(`SELECT count(DISTINCT item_id) AS items, count(*) AS chunks FROM ${parts}`);
    assert.equal(Number(counts!.items), await countItemVectors(db, key('pq')));
    assert.equal(Number(counts!.chunks), summary.chunks);

    // The Postgres vector is the token-weighted mean of the Parquet chunk vectors, L2-normalised.
    const chunks = await duck(`SELECT chunk_index, token_count, vector FROM ${parts} WHERE item_id = 'pq-0001' ORDER BY chunk_index`);
    assert.ok(chunks.length >= 3, `a long description becomes several chunks, got ${chunks.length}`);
    assert.ok(chunks.every((c) => Number(c.token_count) <= local.maxInputTokens));
    const [stored] = await db.query<{ vector: string; chunk_count: number; token_count: number }>(
      "SELECT vector::text AS vector, chunk_count, token_count FROM item_embeddings WHERE namespace = 'pq' AND item_id = 'pq-0001'",
    );
    assert.equal(stored!.chunk_count, chunks.length);
    assert.equal(
      stored!.token_count,
      chunks.reduce((s, c) => s + Number(c.token_count), 0),
    );
    const mean = new Array<number>(512).fill(0);
    for (const c of chunks) for (const [d, x] of (c.vector as number[]).entries()) mean[d]! += Number(c.token_count) * x;
    const norm = Math.hypot(...mean);
    const expected = mean.map((x) => x / norm);
    const actual = fromSql(stored!.vector) as number[];
    for (const [d, x] of actual.entries()) assert.ok(Math.abs(x - expected[d]!) < 1e-5, `dim ${d}: ${x} vs ${expected[d]}`);
  });

  test('parts go to an S3-compatible server when the objects URL is s3://', async () => {
    const s3 = await startS3Server();
    after(() => s3.close());
    process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
    const items = sampleItems(6, 's3');
    const file = await writeJsonl(path.join(await tempDir(), 'c.jsonl'), items);
    const config = testConfig(home, { namespace: 's3', objects: { url: `s3://${s3.bucket}/vectors`, endpoint: s3.endpoint, region: 'us-east-1' } });
    const summary = await runEmbeddingJob({ config, source: { kind: 'file', path: file }, db, provider: local, logger });
    assert.equal(summary.objects_url, `s3://${s3.bucket}/vectors`);
    const store = openObjectStore(`s3://${s3.bucket}/vectors`, { endpoint: s3.endpoint, region: 'us-east-1' });
    const keys: string[] = [];
    for await (const k of store.list('')) keys.push(k);
    assert.equal(keys.length, 1);
    assert.match(keys[0]!, /^org_id=[0-9a-f-]+\/namespace=s3\/version=v1\/modality=text\/run=[0-9a-f-]+\/part-00000\.parquet$/);
    const partFile = path.join(await tempDir(), 'part.parquet');
    await writeFile(partFile, await store.get(keys[0]!));
    const [row] = await duck(`SELECT count(*) AS n FROM read_parquet('${partFile}')`);
    assert.equal(Number(row!.n), 6);
  });
});

describe('bad input', () => {
  test('bad rows are rejected with item or line, field and reason; the run goes on', async () => {
    const good = sampleItems(8, 'bad');
    const rows: unknown[] = [
      ...good.slice(0, 4),
      { item_id: 'bad-missing', brand: 'X', category: 'Y', image_url: 'u' },
      { ...good[4], item_id: 'bad-brand', brand: 42 },
      '{"item_id": "broken", ',
      ...good.slice(4),
    ];
    const summary = await run('bad', rows);
    assert.equal(summary.items_seen, 11);
    assert.equal(summary.rejected, 3);
    assert.equal(summary.embedded, 8);
    assert.equal(summary.failure_rate, Math.round((3 / 11) * 10_000) / 10_000);
    assert.equal(summary.alert, true);

    const failures = await listFailures(db, { orgId: testConfig(home).orgId, namespace: 'bad' });
    const byKey = new Map(failures.map((f) => [f.item_id ?? f.source_ref, f]));
    assert.equal(byKey.get('bad-missing')?.field, 'description');
    assert.match(byKey.get('bad-missing')!.message, /description is missing/);
    assert.equal(byKey.get('bad-brand')?.field, 'brand');
    assert.match(byKey.get('bad-brand')!.message, /brand must be a string, got number/);
    const broken = failures.find((f) => f.item_id === null);
    assert.match(broken!.source_ref!, /catalog\.jsonl:7$/);
    assert.equal(broken!.stage, 'extract');

    // Fixing the row and running again embeds it and resolves its dead letter.
    const fixed = [...good, { ...good[0], item_id: 'bad-missing', description: 'Now with a description: a trail boot.' }];
    const again = await run('bad', fixed);
    assert.equal(again.embedded, 1);
    const left = await listFailures(db, { orgId: testConfig(home).orgId, namespace: 'bad' });
    assert.ok(!left.some((f) => f.item_id === 'bad-missing'));
  });

  test('an input the model rejects fails alone, not the items packed with it', async () => {
    const poisoned: EmbeddingProvider = {
      ...local,
      maxBatchInputs: 16,
      async embed(texts) {
        if (texts.some((t) => t.includes('POISON'))) throw new ProviderError('BAD_REQUEST', 'input rejected by the model', { fatal: false });
        return local.embed(texts);
      },
    };
    const items = sampleItems(16, 'poison');
    items[9]!.description = 'POISON pill';
    const summary = await run('poison', items, { provider: poisoned });
    assert.equal(summary.embedded, 15);
    assert.equal(summary.failed, 1);
    // 1 full request + bisection down to the culprit: 2 + 2 + 2 + 2 halves at most.
    assert.ok(summary.api_calls <= 9, `bisection should take few calls, got ${summary.api_calls}`);
    const [failure] = await listFailures(db, { orgId: testConfig(home).orgId, namespace: 'poison' });
    assert.equal(failure?.item_id, 'poison-0010');
    assert.equal(failure?.stage, 'embed');
    assert.equal(failure?.error_class, 'BAD_REQUEST');
  });
  test('an unusable vector from the model fails only its item', async () => {
    const zeroing: EmbeddingProvider = {
      ...local,
      async embed(texts) {
        const result = await local.embed(texts);
        for (const [i, t] of texts.entries()) if (t.includes('ZERO')) result.vectors[i]!.fill(0);
        return result;
      },
    };
    const items = sampleItems(6, 'zero');
    items[2]!.description = 'ZERO vector please';
    const summary = await run('zero', items, { provider: zeroing });
    assert.deepEqual([summary.embedded, summary.failed], [5, 1]);
    const [failure] = await listFailures(db, { orgId: testConfig(home).orgId, namespace: 'zero' });
    assert.deepEqual([failure?.item_id, failure?.error_class], ['zero-0003', 'BAD_VECTOR']);
  });
});

describe('OpenAI-compatible server over HTTP', () => {
  test('items are packed across the run into one request; reruns send none', async () => {
    const server = await startOpenAIServer();
    after(() => server.close());
    const items = sampleItems(65, 'oa');
    const file = await writeJsonl(path.join(await tempDir(), 'c.jsonl'), items);
    const config = testConfig(home, {
      namespace: 'oa',
      objects: { url: path.join(home, 'objects') },
      embed: { provider: 'openai', baseURL: server.url, apiKey: 'sk-test', model: 'text-embedding-3-small', dims: 256 },
      run: { loadBatchSize: 10 },
    });
    const first = await runEmbeddingJob({ config, source: { kind: 'file', path: file }, db, logger, readBatchSize: 16 });
    assert.equal(first.embedded, 65);
    // One response carried all 65 items: loaded in slices of loadBatchSize, the remainder at the end.
    assert.equal(first.parquet_parts, 7);
    assert.equal(await countItemVectors(db, key('oa')), 65);
    assert.equal(first.dims, 256);
    assert.equal(server.counters.requests, 1, 'sixty-five small items fit one request even when read 16 at a time');
    assert.equal(server.counters.inputs, 65);
    assert.equal((server.log[0]?.body as { dimensions?: number } | undefined)?.dimensions, 256);
    const [row] = await db.query<{ dims: number }>("SELECT dims FROM item_embeddings WHERE namespace = 'oa' LIMIT 1");
    assert.equal(row?.dims, 256);

    const second = await runEmbeddingJob({ config, source: { kind: 'file', path: file }, db, logger });
    assert.equal(second.api_calls, 0);
    assert.equal(server.counters.requests, 1);
  });

  test('a wrong API key stops the run with a fatal error that does not leak the key', async () => {
    const server = await startOpenAIServer({ apiKey: 'sk-right' });
    after(() => server.close());
    const file = await writeJsonl(path.join(await tempDir(), 'c.jsonl'), sampleItems(3, 'key'));
    const config = testConfig(home, {
      namespace: 'key',
      embed: { provider: 'openai', baseURL: server.url, apiKey: 'sk-wrong-secret-123', model: 'text-embedding-3-small' },
    });
    await assert.rejects(runEmbeddingJob({ config, source: { kind: 'file', path: file }, db, logger }), (err: unknown) => {
      assert.ok(err instanceof ProviderError);
      assert.equal(err.code, 'AUTH');
      assert.equal(err.fatal, true);
      assert.ok(!err.message.includes('sk-wrong-secret-123'));
      return true;
    });
  });
});
