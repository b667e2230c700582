/**
 * The image job end to end on real parts: images (good and bad) from a real HTTP server on
 * 127.0.0.1, the real MobileNetV2 from nsfwjs on TF.js WASM, PGlite with pgvector, Parquet read back
 * by DuckDB. The model is wrapped only to count its calls.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { createImageProvider } from '../src/embed/create-image-provider.js';
import type { ImageEmbeddingProvider } from '../src/embed/image-provider.js';
import { type ImageRunSummary, runImageJob } from '../src/pipeline/image-job.js';
import { retryFailures } from '../src/pipeline/retry-failures.js';
import { runEmbeddingJob } from '../src/pipeline/run.js';
import { similar } from '../src/retrieve/similar.js';
import { listFailures } from '../src/store/failures.js';
import { listRuns } from '../src/store/runs.js';
import { listVersions } from '../src/store/versions.js';
import { quietLogger, tempDir, testConfig, writeJsonl } from '../testkit/fixtures.js';
import { type ImageServer, makeImage, startImageServer } from '../testkit/image-server.js';
import { useTestDb } from '../testkit/test-db.js';

const OTHER_ORG = '00000000-0000-0000-0000-0000000000b2';
const { db, home } = useTestDb();
let server: ImageServer;
let mobilenet: ImageEmbeddingProvider;
const logger = quietLogger();

/** The real model, with its calls counted. */
function counting(inner: ImageEmbeddingProvider) {
  const counts = { calls: 0, images: 0 };
  const provider: ImageEmbeddingProvider = {
    ...inner,
    async embedImages(images) {
      counts.calls += 1;
      counts.images += images.length;
      return inner.embedImages(images);
    },
    close: async () => {},
  };
  return { provider, counts };
}

before(async () => {
  server = await startImageServer({ dripMs: 100 });
  mobilenet = await createImageProvider({ provider: 'mobilenet' });
  const stripes = { color: [210, 30, 30] as [number, number, number], stripes: [245, 245, 245] as [number, number, number], period: 20 };
  server.put('red-stripes.jpg', await makeImage({ ...stripes, width: 480, height: 360 }));
  server.put('red-stripes-small.jpg', await makeImage({ ...stripes, width: 400, height: 300, quality: 70 }));
  server.put('blue-checks.png', await makeImage({ color: [20, 40, 200], stripes: [250, 220, 40], period: 60, format: 'png' }), { type: 'image/png' });
  server.put('green.webp', await makeImage({ color: [30, 180, 60], format: 'webp' }), { type: 'image/webp' });
  server.put('plain-server.jpg', await makeImage({ color: [120, 120, 120], stripes: [20, 20, 20], period: 8 }), { validators: false });
  server.put('other-org.jpg', await makeImage({ color: [250, 160, 0] }));
});
after(async () => {
  await mobilenet?.close();
  await server?.close();
});

const item = (id: string, imageUrl: string, extra: Record<string, unknown> = {}) => ({
  item_id: id,
  description: `Item ${id}`,
  brand: 'Acme',
  category: 'Test > Images',
  image_url: imageUrl,
  tags: ['test'],
  ...extra,
});

function catalogFor(ns: string) {
  const u = server.url;
  const good = [
    item('red-1', `${u}/img/red-stripes.jpg`),
    item('red-2', `${u}/img/red-stripes-small.jpg`),
    item('blue', `${u}/img/blue-checks.png`),
    item('green', `${u}/img/green.webp`),
    item('plain', `${u}/img/plain-server.jpg`),
    // Same item id, another tenant: its own version, vector and image record.
    item('red-1', `${u}/img/other-org.jpg`, { org_id: OTHER_ORG }),
  ];
  const bad: Array<[string, string, string]> = [
    ['bad-404', `${u}/status/404`, 'HTTP_STATUS'],
    ['bad-html', `${u}/html`, 'NOT_AN_IMAGE'],
    ['bad-fake', `${u}/fake.jpg`, 'NOT_AN_IMAGE'],
    ['bad-truncated', `${u}/truncated.jpg`, 'DECODE_FAILED'],
    ['bad-huge', `${u}/huge-chunked.jpg`, 'TOO_LARGE'],
    ['bad-huge-declared', `${u}/huge-declared.jpg`, 'TOO_LARGE'],
    ['bad-drip', `${u}/drip.jpg?every=2000`, 'TIMEOUT'],
    ['bad-redirect-loopback', `${u}/redirect?to=${encodeURIComponent(`http://localhost:${server.port}/img/green.webp`)}`, 'SSRF_REFUSED'],
    ['bad-metadata', 'http://169.254.169.254/latest/meta-data/iam/security-credentials/', 'SSRF_REFUSED'],
    ['bad-scheme', 'file:///etc/passwd', 'SSRF_REFUSED'],
    ['bad-loop', `${u}/loop/0`, 'TOO_MANY_REDIRECTS'],
  ];
  const rows: unknown[] = [...good, ...bad.map(([id, url]) => item(id, url)), { item_id: 'no-image', description: 'x', brand: 'b', category: 'c' }];
  return { rows, good, bad, ns };
}

function config(namespace: string) {
  return testConfig(home, {
    namespace,
    modality: 'image',
    objects: { url: path.join(home, 'objects') },
    images: { allowHosts: [server.hostPort], timeoutMs: 4_000, idleTimeoutMs: 500, maxBytes: 2 * 1024 * 1024 },
  });
}

async function run(namespace: string, rows: unknown[], provider: ImageEmbeddingProvider): Promise<ImageRunSummary> {
  const file = await writeJsonl(path.join(await tempDir(), 'catalog.jsonl'), rows);
  return runImageJob({ config: config(namespace), source: { kind: 'file', path: file }, db, imageProvider: provider, logger });
}

describe('image job', () => {
  test('bad images become one dead letter each, the run finishes; a rerun with unchanged images calls no model', async () => {
    const { rows, bad } = catalogFor('imgs');
    const { provider, counts } = counting(mobilenet);
    // Through the text job's entry point: modality "image" dispatches to the image job.
    const file = await writeJsonl(path.join(await tempDir(), 'catalog.jsonl'), rows);
    const first = (await runEmbeddingJob({ config: config('imgs'), source: { kind: 'file', path: file }, db, imageProvider: provider, logger } as Parameters<
      typeof runEmbeddingJob
    >[0])) as ImageRunSummary;
    assert.equal(first.modality, 'image');
    assert.equal(first.items_seen, rows.length);
    assert.equal(first.rejected, 0, 'a row without image_url is a valid item (its text can be embedded)');
    assert.equal(first.embedded, 6);
    assert.equal(first.failed, bad.length + 1, 'every bad image, and the item without one');
    assert.equal(first.images.fetched, 6 + 1, 'six good images and the truncated JPEG were downloaded');
    assert.deepEqual([first.provider, first.model, first.dims], ['mobilenet', 'nsfwjs-mobilenet_v2-flatten_1', 1280]);
    assert.equal(counts.images, 6);
    assert.equal(first.api_calls, counts.calls);

    const failures = await listFailures(db, { orgId: config('imgs').orgId, namespace: 'imgs' });
    assert.equal(failures.length, bad.length + 1);
    for (const [id, url, code] of bad) {
      const rowsFor = failures.filter((f) => f.failure_key === id);
      assert.equal(rowsFor.length, 1, `one dead letter for ${id}`);
      assert.equal(rowsFor[0]!.error_class, code, `${id}: ${rowsFor[0]!.message}`);
      assert.equal(rowsFor[0]!.stage, 'transform');
      assert.equal(rowsFor[0]!.modality, 'image');
      assert.ok(rowsFor[0]!.message.length > 20, rowsFor[0]!.message);
      if (url.startsWith('http')) assert.ok(rowsFor[0]!.message.includes(new URL(url).host), `${id}: the message names the URL: ${rowsFor[0]!.message}`);
    }
    assert.match(failures.find((f) => f.failure_key === 'bad-redirect-loopback')!.message, /localhost resolves to .* images\.allowHosts/);
    assert.match(failures.find((f) => f.failure_key === 'bad-metadata')!.message, /169\.254\.169\.254 is link-local/);
    const noImage = failures.find((f) => f.failure_key === 'no-image');
    assert.deepEqual([noImage?.error_class, noImage?.stage, noImage?.message], ['NO_IMAGE_URL', 'transform', 'the item has no image_url: nothing to fetch']);
    assert.equal(server.hits.get('/img/green.webp')?.total, 1, 'the refused redirect never reached its target');

    // Stored per version: the image version records its own model and dims.
    const v = (await listVersions(db, config('imgs').orgId)).find((x) => x.namespace === 'imgs' && x.modality === 'image');
    assert.deepEqual([v?.provider, v?.dims, v?.rows], ['mobilenet', 1280, 5]);
    const [src] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM image_sources WHERE namespace = 'imgs' AND item_id = 'red-1'");
    assert.equal(src!.n, 2, 'one image record per tenant for the same item id');

    // The weekly rerun: validators → 304 (or the same bytes from a server without them) → no model call.
    server.resetHits();
    const before = counts.calls;
    const second = await run('imgs', rows, provider);
    assert.equal(counts.calls, before, 'no model call');
    assert.deepEqual([second.embedded, second.api_calls, second.skipped_unchanged, second.failed], [0, 0, 6, bad.length + 1]);
    assert.equal(second.images.not_modified, 5);
    assert.equal(second.images.same_bytes, 1, 'the server without validators sends the same bytes again');
    assert.equal(server.hits.get('/img/red-stripes.jpg')?.notModified, 1);
    assert.equal(server.hits.get('/img/plain-server.jpg')?.ok, 1);
    const again = await listFailures(db, { orgId: config('imgs').orgId, namespace: 'imgs' });
    assert.equal(again.length, bad.length + 1, 'still one dead letter per bad image');
    assert.ok(again.filter((f) => f.item_id?.startsWith('bad-')).every((f) => f.attempts === 2));

    // One image changes: exactly that item is embedded again.
    server.put('blue-checks.png', await makeImage({ color: [20, 40, 200], stripes: [250, 250, 250], period: 30, format: 'png' }), { type: 'image/png' });
    const third = await run('imgs', rows, provider);
    assert.deepEqual([third.embedded, third.skipped_unchanged, counts.calls - before], [1, 5, 1]);

    // A new URL serving the same bytes: no model call, the record follows the URL.
    server.put('red-stripes-moved.jpg', await makeImage({ color: [210, 30, 30], stripes: [245, 245, 245], period: 20, width: 480, height: 360 }));
    const moved = rows.map((r) =>
      (r as { item_id: string }).item_id === 'red-1' && !(r as { org_id?: string }).org_id
        ? { ...(r as object), image_url: `${server.url}/img/red-stripes-moved.jpg` }
        : r,
    );
    const fourth = await run('imgs', moved, provider);
    assert.deepEqual([fourth.embedded, fourth.images.same_bytes, counts.calls - before], [0, 2, 1]);
    const [rec] = await db.query<{ url: string }>(`SELECT url FROM image_sources WHERE namespace = 'imgs' AND item_id = 'red-1' AND org_id = $1`, [
      config('imgs').orgId,
    ]);
    assert.match(rec!.url, /red-stripes-moved\.jpg$/);
  });

  test('similar --modality image finds the look-alike; vectors land in the same table and Parquet layout', async () => {
    const { good } = catalogFor('sim');
    const summary = await run('sim', good, mobilenet);
    assert.equal(summary.embedded, good.length);
    const orgId = config('sim').orgId;
    const result = await similar(db, { orgId, namespace: 'sim', itemId: 'red-1', modality: 'image', k: 3 });
    assert.equal(result.version.modality, 'image');
    assert.equal(result.candidates[0]?.item_id, 'red-2', JSON.stringify(result.candidates));
    assert.ok(
      result.candidates.every((c) => c.item_id !== 'red-1'),
      'other tenants never appear',
    );
    const [row] = await db.query<{ dims: number; modality: string; chunk_count: number }>(
      "SELECT dims, modality, chunk_count FROM item_embeddings WHERE namespace = 'sim' AND item_id = 'red-2'",
    );
    assert.deepEqual(row, { dims: 1280, modality: 'image', chunk_count: 1 });

    const dir = path.join(home, 'objects', `org_id=${orgId}`, 'namespace=sim', 'version=v1', 'modality=image');
    const runs = await readdir(dir);
    assert.equal(runs.length, 1);
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const parts = `read_parquet('${dir}/**/*.parquet', hive_partitioning = false)`;
      const rows = (await connection.runAndReadAll(`SELECT item_id, modality, len(vector) AS d FROM ${parts} ORDER BY item_id`)).getRowObjectsJson() as Array<
        Record<string, unknown>
      >;
      assert.deepEqual(
        rows.map((r) => [r.item_id, r.modality, Number(r.d)]),
        [
          ['blue', 'image', 1280],
          ['green', 'image', 1280],
          ['plain', 'image', 1280],
          ['red-1', 'image', 1280],
          ['red-2', 'image', 1280],
        ],
      );
    } finally {
      connection.closeSync();
    }
  });

  test('a dry run fetches nothing and writes nothing; batch mode is refused with a clear message', async () => {
    const file = await writeJsonl(path.join(await tempDir(), 'c.jsonl'), [
      item('x', `${server.url}/img/green.webp`),
      { item_id: 'no-image', description: 'x', brand: 'b', category: 'c' },
    ]);
    const source = { kind: 'file' as const, path: file };
    const hits = () => server.hits.get('/img/green.webp')?.total ?? 0;
    const before = hits();
    const plan = await runImageJob({ config: config('dry'), source, db, imageProvider: mobilenet, logger, dryRun: true });
    assert.deepEqual([plan.dry_run, plan.embedded, plan.failed, plan.api_calls], [true, 1, 1, 0]);
    assert.equal(hits(), before, 'no image was fetched');
    assert.equal((await listVersions(db, testConfig(home).orgId)).filter((v) => v.namespace === 'dry').length, 0, 'no version was created');
    assert.equal((await listFailures(db, { orgId: testConfig(home).orgId, namespace: 'dry' })).length, 0, 'no dead letter was written');

    await runImageJob({ config: config('dry'), source, db, imageProvider: mobilenet, logger });
    const again = await runImageJob({ config: config('dry'), source, db, imageProvider: mobilenet, logger, dryRun: true });
    assert.deepEqual([again.embedded, again.skipped_unchanged], [0, 1], 'a current vector counts as unchanged');

    const batch = { ...config('dry'), run: { ...config('dry').run, mode: 'batch' as const } };
    await assert.rejects(runImageJob({ config: batch, source, db, imageProvider: mobilenet, logger }), /--mode batch is for text/);
  });

  test('image runs have run records, and a replayed image failure resolves', async () => {
    const late = item('late', `${server.url}/img/late.jpg`);
    const first = await run('replay', [late, item('green', `${server.url}/img/green.webp`)], mobilenet);
    assert.deepEqual([first.embedded, first.failed, first.images.failures_by_class.HTTP_STATUS], [1, 1, 1]);
    const record = (await listRuns(db)).find((r) => r.run_id === first.run_id);
    assert.deepEqual([record?.job, record?.modality, record?.status, record?.embedded, record?.failed], ['embed-image', 'image', 'succeeded', 1, 1]);

    // The image appears; `failures retry` replays the dead letter with the version's own image model.
    server.put('late.jpg', await makeImage({ color: [90, 10, 140] }));
    const orgId = testConfig(home).orgId;
    const [replay] = await retryFailures({
      config: config('replay'),
      db,
      filter: { namespace: 'replay', modality: 'image' },
      imageProvider: mobilenet,
      logger,
    });
    assert.deepEqual([replay?.replayed, replay?.resolved, replay?.summary.embedded, replay?.summary.modality], [1, 1, 1, 'image']);
    assert.equal((await listFailures(db, { orgId, namespace: 'replay' })).length, 0);
  });
});
