/**
 * Versions side by side: lifecycle (activate, rollback, retire, delete), the content cache across
 * versions and namespaces, staged rollout by stable hash buckets, and run records.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ConfigInput } from '../src/config.js';
import { openConfiguredObjectStore } from '../src/objects/open.js';
import { purgeVersionObjects } from '../src/objects/parquet.js';
import { runEmbeddingJob } from '../src/pipeline/run.js';
import { sampleBucket } from '../src/pipeline/sample.js';
import { similar } from '../src/retrieve/similar.js';
import { countItemVectors } from '../src/store/embeddings.js';
import { listRuns } from '../src/store/runs.js';
import { activateVersion, deleteVersion, listVersions, retireVersion, rollbackVersion, vectorIndexShape } from '../src/store/versions.js';
import { quietLogger, type RawItem, sampleItems, tempDir, testConfig, writeJsonl } from '../testkit/fixtures.js';
import { type OpenAIServer, startOpenAIServer } from '../testkit/openai-server.js';
import { useTestDb } from '../testkit/test-db.js';

const { db, home } = useTestDb();
let server: OpenAIServer;
const logger = quietLogger();

before(async () => {
  server = await startOpenAIServer();
});
after(async () => {
  await server?.close();
});

function config(namespace: string, extra: ConfigInput = {}) {
  return testConfig(home, {
    namespace,
    ...extra,
    embed: { provider: 'openai', model: 'text-embedding-3-small', dims: 32, apiKey: 'sk-test', baseURL: server.url, ...extra.embed },
    run: { createIndex: true, ...extra.run },
  });
}

async function run(namespace: string, items: RawItem[], extra: ConfigInput = {}) {
  const file = await writeJsonl(path.join(await tempDir(), 'catalog.jsonl'), items);
  const before = { requests: server.counters.requests, inputs: server.counters.inputs };
  const summary = await runEmbeddingJob({ config: config(namespace, extra), source: { kind: 'file', path: file }, db, logger });
  return { summary, requests: server.counters.requests - before.requests, inputs: server.counters.inputs - before.inputs };
}

const org = () => testConfig(home).orgId;
/** sampleItems repeats its descriptions for every prefix: make this test's prompts its own, or the content cache serves them. */
const own = (items: RawItem[], tag: string) => items.map((i) => ({ ...i, description: `${i.description} (${tag})` }));
const key = (namespace: string, version: string) => ({ orgId: org(), namespace, modality: 'text' as const, version });

describe('versions side by side', () => {
  test('activate and rollback switch what similar returns; list shows rows, coverage and size', async () => {
    const items = own(sampleItems(40, 'lc'), 'lifecycle');
    await run('lc', items, { version: 'v1' });
    // v2: same items, another prompt (so other vectors, and no cache hits).
    await run('lc', items, { version: 'v2', prompt: { template: '{category} | {brand} | {description}' } });

    const served = async () => (await similar(db, { orgId: org(), namespace: 'lc', itemId: 'lc-0001', k: 3 })).version.version;
    assert.equal(await served(), 'v1', 'the first version of a namespace is active; later ones wait');
    const activated = await activateVersion(db, key('lc', 'v2'));
    assert.equal(activated.previous?.version, 'v1');
    assert.equal(await served(), 'v2');
    const rolledBack = await rollbackVersion(db, { orgId: org(), namespace: 'lc', modality: 'text' });
    assert.equal(rolledBack.activated.version, 'v1');
    assert.equal(await served(), 'v1');

    const list = (await listVersions(db, org())).filter((v) => v.namespace === 'lc');
    assert.deepEqual(
      list.map((v) => [v.version, v.status, v.rows, v.coverage]),
      [
        ['v1', 'active', 40, 1],
        ['v2', 'inactive', 40, 1],
      ],
    );
    assert.ok(
      list.every((v) => v.vectorBytes >= 40 * 32 * 4 && v.indexBytes > 0),
      'size on disk counts vectors and the HNSW index',
    );
  });

  test('retire and delete refuse the active version; delete removes rows, index and, on request, Parquet files', async () => {
    const items = own(sampleItems(10, 'rd'), 'retire');
    await run('rd', items, { version: 'v1' });
    await run('rd', items, { version: 'v2', prompt: { template: '{description} ({brand})' } });
    await assert.rejects(retireVersion(db, key('rd', 'v1')), /is active/);
    await assert.rejects(deleteVersion(db, key('rd', 'v1')), /is active/);
    await assert.rejects(activateVersion(db, key('rd', 'v9')), /no text version "v9"/);

    await activateVersion(db, key('rd', 'v2'));
    assert.equal((await retireVersion(db, key('rd', 'v1'))).status, 'retired');
    const objects = openConfiguredObjectStore(config('rd'));
    const removed = await deleteVersion(db, key('rd', 'v1'));
    assert.equal(removed.rows, 10);
    assert.equal(await countItemVectors(db, key('rd', 'v1')), 0);
    assert.equal(await countItemVectors(db, key('rd', 'v2')), 10, 'the other version is untouched');
    const shape = vectorIndexShape({ namespace: 'rd', version: 'v1', modality: 'text', dims: 32 });
    assert.equal((await db.query('SELECT 1 FROM pg_class WHERE relname = $1', [shape.name])).length, 0, 'its index is gone');
    assert.ok((await purgeVersionObjects(objects, key('rd', 'v1'))) >= 1);
    const folder = path.join(home, 'objects', `org_id=${org()}`, 'namespace=rd');
    const parquetUnder = async (version: string) =>
      (await readdir(path.join(folder, `version=${version}`), { recursive: true }).catch(() => [] as string[])).filter((f) => f.endsWith('.parquet')).length;
    assert.equal(await parquetUnder('v1'), 0);
    assert.ok((await parquetUnder('v2')) >= 1, 'the other version keeps its files');
    await assert.rejects(rollbackVersion(db, { orgId: org(), namespace: 'rd', modality: 'text' }), /nothing to roll back to/);
  });
});

describe('content cache', () => {
  test('a new version or namespace with the same model and prompt makes zero API calls', async () => {
    const items = own(sampleItems(60, 'cc'), 'cache');
    const first = await run('cache-a', items);
    assert.equal(first.summary.embedded, 60);
    assert.equal(first.summary.cache_hits, 0);

    const otherNamespace = await run('cache-b', items);
    assert.equal(otherNamespace.requests, 0);
    assert.equal(otherNamespace.summary.cache_hits, 60);
    assert.equal(otherNamespace.summary.embedded, 0);
    assert.equal(await countItemVectors(db, key('cache-b', 'v1')), 60);

    const otherVersion = await run('cache-a', items, { version: 'v2' });
    assert.equal(otherVersion.requests, 0);
    assert.equal(otherVersion.summary.cache_hits, 60);

    // The copied vectors are the same vectors: identical neighbours, identical scores.
    const a = await similar(db, { orgId: org(), namespace: 'cache-a', itemId: 'cc-0001', k: 5, version: 'v1' });
    const b = await similar(db, { orgId: org(), namespace: 'cache-b', itemId: 'cc-0001', k: 5 });
    assert.deepEqual(
      b.candidates.map((c) => [c.item_id, c.score]),
      a.candidates.map((c) => [c.item_id, c.score]),
    );

    // Another prompt is other content: embedded, not copied. --no-cache embeds anyway.
    const otherPrompt = await run('cache-c', items, { prompt: { template: 'Item: {description}' } });
    assert.equal(otherPrompt.summary.cache_hits, 0);
    assert.equal(otherPrompt.inputs, 60);
    const noCache = await run('cache-d', items, { run: { cache: false } });
    assert.equal(noCache.inputs, 60);
  });

  test('the cache never crosses organisations', async () => {
    const items = own(sampleItems(5, 'xo'), 'cross-org').map((i) => ({ ...i, org_id: '00000000-0000-0000-0000-0000000000aa' }));
    const other = await run('cache-org', items);
    assert.equal(other.summary.embedded, 5);
    const mine = await run(
      'cache-org',
      items.map(({ org_id: _org, ...rest }) => rest),
    );
    assert.equal(mine.summary.cache_hits, 0);
    assert.equal(mine.inputs, 5);
  });
});

describe('staged rollout', () => {
  test('--sample 5 % then 25 %: stable buckets; the second run embeds exactly the new 20 %', async () => {
    const items = own(sampleItems(2000, 'st'), 'staged');
    const inShare = (share: number) => items.filter((i) => sampleBucket(org(), i.item_id) < share * 10_000).length;
    const five = await run('staged', items, { run: { sample: 0.05 } });
    assert.equal(five.summary.embedded, inShare(0.05));
    assert.equal(five.summary.sampled_out, 2000 - inShare(0.05));
    assert.ok(five.summary.embedded > 50 && five.summary.embedded < 150, `about 5 % of 2,000: ${five.summary.embedded}`);

    const quarter = await run('staged', items, { run: { sample: 0.25 } });
    assert.equal(quarter.summary.skipped_unchanged, inShare(0.05), 'the 5 % are all included, and none embedded again');
    assert.equal(quarter.summary.embedded, inShare(0.25) - inShare(0.05));
    assert.equal(quarter.inputs, inShare(0.25) - inShare(0.05));
    const [v] = (await listVersions(db, org())).filter((x) => x.namespace === 'staged');
    assert.equal(v?.coverage, Math.round((inShare(0.25) / 2000) * 10_000) / 10_000, 'coverage counts the catalog seen so far');
  });
});

describe('run records', () => {
  test('every run leaves a row: succeeded with its counts', async () => {
    const { summary } = await run('records', own(sampleItems(7, 'rr'), 'records'));
    const [row] = (await listRuns(db)).filter((r) => r.run_id === summary.run_id);
    assert.equal(row?.status, 'succeeded');
    assert.equal(row?.items_seen, 7);
    assert.equal(row?.embedded, 7);
    assert.equal(row?.job, 'embed-text');
    assert.ok(row?.finished_at);
  });
});
