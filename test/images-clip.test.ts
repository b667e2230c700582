/**
 * The `clip` image provider on a tiny CLIP-shaped model this test writes itself
 * (testkit/tiny-vision.ts), offline; the image job with it; and text→image search through its
 * text tower, in-process and through the `itemvec` CLI as a user runs it.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { env } from '@huggingface/transformers';
import { createClipProvider } from '../src/embed/image-clip.js';
import type { ImageEmbeddingProvider } from '../src/embed/image-provider.js';
import { imageProviderForTextSearch, imageQueryVector } from '../src/embed/image-text-query.js';
import { ConfigError } from '../src/errors.js';
import { runImageJob } from '../src/pipeline/image-job.js';
import { search } from '../src/retrieve/similar.js';
import { resolveVersion } from '../src/retrieve/version.js';
import { quietLogger, tempDir, testConfig, writeJsonl } from '../testkit/fixtures.js';
import { type ImageServer, makeImage, startImageServer } from '../testkit/image-server.js';
import { cosine } from '../testkit/random.js';
import { runCli } from '../testkit/run-cli.js';
import { useTestDb } from '../testkit/test-db.js';
import { TINY_CLIP_SIZE, writeTinyClipModel } from '../testkit/tiny-vision.js';

let modelDir: string;
let visionOnlyDir: string;
let clip: ImageEmbeddingProvider;
let server: ImageServer;
const fetchAttempts: string[] = [];
const originalEnvFetch = env.fetch;

const solid = (r: number, g: number, b: number, size = TINY_CLIP_SIZE) => {
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) data.set([r, g, b], i * 3);
  return { data, width: size, height: size };
};

before(async () => {
  // Transformers.js sends every remote request through env.fetch: a spy that refuses and records.
  env.fetch = async (input: string | URL | Request) => {
    fetchAttempts.push(String(input instanceof Request ? input.url : input));
    throw new Error('network access attempted in an offline test');
  };
  const dir = await tempDir();
  modelDir = (await writeTinyClipModel(path.join(dir, 'tiny-clip'))).dir;
  visionOnlyDir = (await writeTinyClipModel(path.join(dir, 'tiny-clip-vision'), { visionOnly: true })).dir;
  clip = await createClipProvider({ provider: 'clip', modelDir });
  server = await startImageServer();
  server.put('red-shoes.jpg', await makeImage({ color: [225, 25, 30], width: 300, height: 200 }));
  server.put('green-bag.png', await makeImage({ color: [30, 200, 40], format: 'png' }), { type: 'image/png' });
  server.put('blue-jacket.webp', await makeImage({ color: [25, 40, 215], format: 'webp' }), { type: 'image/webp' });
});
after(async () => {
  await clip?.close();
  await server?.close();
  env.fetch = originalEnvFetch;
});

describe('clip provider (tiny generated model)', () => {
  test('loads offline and describes itself from the folder', async () => {
    assert.deepEqual([clip.name, clip.model, clip.dims, clip.inputSize], ['clip', 'tiny-clip', 512, TINY_CLIP_SIZE]);
    assert.ok(clip.embedTexts, 'the folder has a text tower');
    assert.deepEqual(fetchAttempts, []);
  });

  test('image and text vectors share a space: "red shoes" is nearest to a red image', async () => {
    const [red, green, blue] = await clip.embedImages([solid(230, 20, 20), solid(20, 230, 20), solid(20, 20, 230)]);
    for (const v of [red!, green!, blue!]) assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-5);
    const [query] = await clip.embedTexts!(['red shoes']);
    const scores = [cosine(query!, red!), cosine(query!, green!), cosine(query!, blue!)];
    assert.ok(scores[0]! > 0.9 && scores[1]! < 0 && scores[2]! < 0, `scores ${scores.join(', ')}`);
  });

  test('a vision-only folder embeds images but cannot search by text', async () => {
    const p = await createClipProvider({ provider: 'clip', modelDir: visionOnlyDir });
    try {
      assert.equal(p.embedTexts, undefined);
      assert.equal((await p.embedImages([solid(1, 2, 3)]))[0]!.length, 512);
    } finally {
      await p.close();
    }
  });

  test('a missing folder or file is a ConfigError naming it', async () => {
    await assert.rejects(createClipProvider({ provider: 'clip' }), (e: ConfigError) => e instanceof ConfigError && /needs a model folder/.test(e.message));
    await assert.rejects(createClipProvider({ provider: 'clip', modelDir: '/nonexistent/clip' }), /does not exist/);
    const broken = path.join(await tempDir(), 'broken');
    await writeTinyClipModel(broken, { visionOnly: true });
    await rm(path.join(broken, 'onnx', 'vision_model.onnx'));
    await assert.rejects(createClipProvider({ provider: 'clip', modelDir: broken }), /has no onnx\/vision_model\.onnx/);
  });
});

describe('image job and text search with clip', () => {
  const { db, home } = useTestDb();
  const items = () => [
    { item_id: 'shoe', description: 'Shoes', brand: 'A', category: 'Footwear', image_url: `${server.url}/img/red-shoes.jpg` },
    { item_id: 'bag', description: 'Bag', brand: 'A', category: 'Bags', image_url: `${server.url}/img/green-bag.png` },
    { item_id: 'jacket', description: 'Jacket', brand: 'A', category: 'Outerwear', image_url: `${server.url}/img/blue-jacket.webp` },
  ];

  test('vectors are 512-d in the same table; "red shoes" finds the red item first', async () => {
    const config = testConfig(home, { namespace: 'clip', modality: 'image', images: { provider: 'clip', modelDir, allowHosts: [server.hostPort] } });
    const file = await writeJsonl(path.join(await tempDir(), 'c.jsonl'), items());
    const summary = await runImageJob({ config, source: { kind: 'file', path: file }, db, imageProvider: clip, logger: quietLogger() });
    assert.deepEqual([summary.embedded, summary.failed, summary.provider, summary.dims], [3, 0, 'clip', 512]);
    const version = await resolveVersion(db, { orgId: config.orgId, namespace: 'clip', modality: 'image' });
    assert.deepEqual([version.provider, version.model, version.dims], ['clip', 'tiny-clip', 512]);
    const vector = await imageQueryVector(clip, version, 'red shoes');
    const result = await search(db, { orgId: config.orgId, namespace: 'clip', modality: 'image', vector, k: 3 });
    assert.deepEqual(result.candidates.map((c) => c.item_id)[0], 'shoe', JSON.stringify(result.candidates));
    const blue = await search(db, {
      orgId: config.orgId,
      namespace: 'clip',
      modality: 'image',
      vector: await imageQueryVector(clip, version, 'blue jacket'),
      k: 1,
    });
    assert.equal(blue.candidates[0]?.item_id, 'jacket');
  });

  test('text search refuses a version whose model has no text tower, or another model folder', async () => {
    const version = await resolveVersion(db, { orgId: testConfig(home).orgId, namespace: 'clip', modality: 'image' });
    await assert.rejects(
      imageProviderForTextSearch({ ...version, provider: 'mobilenet', model: 'nsfwjs-mobilenet_v2-flatten_1', dims: 1280 }, undefined),
      /has no text tower/,
    );
    await assert.rejects(imageProviderForTextSearch(version, visionOnlyDir), /tiny-clip-vision/);
  });

  test('the CLI: run --modality image, then search --modality image "red shoes"', async () => {
    const cliHome = await tempDir();
    const catalog = await writeJsonl(path.join(cliHome, 'catalog.jsonl'), items());
    const configFile = path.join(cliHome, 'itemvec.json');
    await writeFile(configFile, JSON.stringify({ images: { allowHosts: [server.hostPort] } }));
    const itemvec = async (args: string[]) => {
      const r = await runCli([...args, '--home', cliHome, '--config', configFile], { env: { ITEMVEC_LOG_LEVEL: 'silent' } });
      assert.equal(r.exitCode, 0, r.stderr);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    };
    const run = await itemvec(['run', '--catalog', catalog, '--modality', 'image', '--image-model-dir', modelDir, '--json']);
    assert.deepEqual([run.modality, run.embedded, run.dims, run.provider], ['image', 3, 512, 'clip']);
    const rerun = await itemvec(['run', '--catalog', catalog, '--modality', 'image', '--image-model-dir', modelDir, '--json']);
    assert.deepEqual([rerun.embedded, rerun.api_calls, rerun.skipped_unchanged], [0, 0, 3]);
    const found = await itemvec(['search', 'red shoes', '--modality', 'image', '--image-model-dir', modelDir, '--k', '2', '--json']);
    assert.equal((found.candidates as Array<{ item_id: string }>)[0]?.item_id, 'shoe');
    const near = await itemvec(['similar', 'bag', '--modality', 'image', '--k', '2', '--json']);
    assert.equal((near.candidates as unknown[]).length, 2);
  });
});
