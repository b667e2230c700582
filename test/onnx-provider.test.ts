/**
 * The `onnx` provider against a tiny BERT-shaped model this test writes itself (testkit/tiny-bert.ts):
 * no weights are downloaded and no network is touched. Transformers.js sends every remote request
 * through `env.fetch`, so the test swaps that (and globalThis.fetch) for a spy that refuses and
 * records: the provider must load and embed with zero fetch attempts.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { env } from '@huggingface/transformers';
import { createOnnxProvider } from '../src/embed/onnx.js';
import type { EmbeddingProvider } from '../src/embed/provider.js';
import { ConfigError, ProviderError } from '../src/errors.js';
import { cosine } from '../testkit/random.js';
import { TINY_BERT_MAX_POSITIONS, writeTinyBertModel } from '../testkit/tiny-bert.js';

const HIDDEN = 32;

function norm(v: Float32Array): number {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}

describe('onnx provider (tiny generated BERT)', () => {
  let root: string;
  let modelDir: string;
  let provider: EmbeddingProvider;
  const fetchAttempts: string[] = [];
  const originalEnvFetch = env.fetch;
  const originalGlobalFetch = globalThis.fetch;

  before(async () => {
    const refuse = async (input: string | URL | Request): Promise<never> => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      fetchAttempts.push(url);
      throw new Error(`network access attempted in an offline test: ${url}`);
    };
    env.fetch = refuse;
    globalThis.fetch = refuse as typeof globalThis.fetch;
    root = await mkdtemp(path.join(tmpdir(), 'itemvec-onnx-'));
    modelDir = path.join(root, 'tiny-bert');
    await writeTinyBertModel(modelDir, { hiddenSize: HIDDEN });
    provider = await createOnnxProvider({ modelDir });
  });

  after(async () => {
    await provider?.close();
    env.fetch = originalEnvFetch;
    globalThis.fetch = originalGlobalFetch;
    if (root) await rm(root, { recursive: true, force: true });
  });

  test('loads offline and describes itself from the folder', () => {
    assert.equal(provider.name, 'onnx');
    assert.equal(provider.model, 'tiny-bert');
    assert.equal(provider.dims, HIDDEN);
    // model_max_length 128 minus [CLS] and [SEP].
    assert.equal(provider.maxInputTokens, TINY_BERT_MAX_POSITIONS - 2);
    assert.equal(provider.maxBatchInputs, 32);
    assert.equal(provider.maxBatchTokens, 8192);
    assert.equal(provider.concurrency, 1);
    assert.deepEqual(fetchAttempts, []);
  });

  test('returns unit-length vectors of the model width', async () => {
    const { vectors, tokens } = await provider.embed(['Waterproof hiking boots']);
    assert.equal(vectors.length, 1);
    assert.ok(vectors[0] instanceof Float32Array);
    assert.equal(vectors[0]!.length, HIDDEN);
    assert.ok(Math.abs(norm(vectors[0]!) - 1) < 1e-5, `norm ${norm(vectors[0]!)}`);
    assert.equal(tokens, 3);
  });

  test('texts sharing words score higher than unrelated texts', async () => {
    const { vectors } = await provider.embed([
      'waterproof hiking boots',
      'waterproof hiking boots for women',
      'waterproof hiking jacket',
      'stainless steel coffee kettle',
    ]);
    const [boots, womensBoots, jacket, kettle] = vectors as [Float32Array, Float32Array, Float32Array, Float32Array];
    assert.ok(cosine(boots, womensBoots) > cosine(boots, kettle), 'shared words should beat unrelated');
    assert.ok(cosine(boots, jacket) > cosine(boots, kettle), 'shared words should beat unrelated');
    assert.ok(cosine(boots, womensBoots) > cosine(boots, jacket), 'more shared words should be closer');
  });

  test('a batch returns one vector per input, in order, matching single calls', async () => {
    const texts = ['cotton t shirt', 'Leather wallet', 'wireless headphones with a long cable', 'yoga mat', 'red dress'];
    const batch = await provider.embed(texts);
    assert.equal(batch.vectors.length, texts.length);
    const expectedTokens = texts.reduce((sum, t) => sum + provider.tokenizer.encode(t).length, 0);
    assert.equal(batch.tokens, expectedTokens);
    for (const [i, text] of texts.entries()) {
      const single = await provider.embed([text]);
      // Padding in the batch must not change a text's vector.
      assert.ok(cosine(single.vectors[0]!, batch.vectors[i]!) > 0.99999, `input ${i} (${text}) out of order or padding leaked`);
    }
  });

  test('tokenizer counts content tokens only and round-trips lowercase words', () => {
    const ids = provider.tokenizer.encode('waterproof hiking boots');
    assert.equal(ids.length, 3);
    assert.equal(provider.tokenizer.decode(ids), 'waterproof hiking boots');
    // Case folds, unknown words split into WordPiece pieces and come back whole.
    assert.equal(provider.tokenizer.decode(provider.tokenizer.encode('Stainless KETTLES')), 'stainless kettles');
    assert.ok(provider.tokenizer.encode('kettles').length > 1);
    assert.equal(provider.tokenizer.decode([]), '');
    assert.deepEqual(provider.tokenizer.encode(''), []);
  });

  test('an input with no tokens is rejected as non-fatal', async () => {
    await assert.rejects(provider.embed(['   ']), (err: unknown) => err instanceof ProviderError && !err.fatal && err.code === 'EMPTY_INPUT');
  });

  test('opts.model names the model and matching dims are accepted', async () => {
    const other = await createOnnxProvider({ modelDir, model: 'my-tiny', dims: HIDDEN, maxBatchInputs: 4, maxBatchTokens: 100 });
    try {
      assert.equal(other.model, 'my-tiny');
      assert.equal(other.maxBatchInputs, 4);
      assert.equal(other.maxBatchTokens, 100);
    } finally {
      await other.close();
    }
  });

  test('dims different from the model are a ConfigError', async () => {
    await assert.rejects(createOnnxProvider({ modelDir, dims: HIDDEN * 2 }), (err: unknown) => err instanceof ConfigError && /32-d/.test(err.message));
  });

  test('no modelDir is a ConfigError pointing at ITEMVEC_LOCAL_MODEL_DIR', async () => {
    await assert.rejects(createOnnxProvider({}), (err: unknown) => err instanceof ConfigError && err.message.includes('ITEMVEC_LOCAL_MODEL_DIR'));
  });

  test('a missing folder is a ConfigError naming it', async () => {
    const missing = path.join(root, 'no-such-model');
    await assert.rejects(createOnnxProvider({ modelDir: missing }), (err: unknown) => err instanceof ConfigError && err.message.includes(missing));
  });

  test('a file instead of a folder is a ConfigError', async () => {
    const file = path.join(root, 'not-a-folder');
    await writeFile(file, 'x');
    await assert.rejects(createOnnxProvider({ modelDir: file }), (err: unknown) => err instanceof ConfigError && err.message.includes('is not a folder'));
  });

  test('a folder without onnx/model.onnx is a ConfigError naming the file', async () => {
    const dir = path.join(root, 'no-weights');
    await writeTinyBertModel(dir, { hiddenSize: 8 });
    await unlink(path.join(dir, 'onnx', 'model.onnx'));
    await assert.rejects(
      createOnnxProvider({ modelDir: dir }),
      (err: unknown) => err instanceof ConfigError && err.message.includes(dir) && err.message.includes('onnx/model.onnx'),
    );
  });

  test('a folder with only onnx/model_quantized.onnx loads that file', async () => {
    const dir = path.join(root, 'quantized-only');
    await writeTinyBertModel(dir, { hiddenSize: 8 });
    await rename(path.join(dir, 'onnx', 'model.onnx'), path.join(dir, 'onnx', 'model_quantized.onnx'));
    const quantized = await createOnnxProvider({ modelDir: dir });
    try {
      assert.equal(quantized.dims, 8);
      assert.equal((await quantized.embed(['yoga mat'])).vectors[0]!.length, 8);
    } finally {
      await quantized.close();
    }
  });

  test('a folder without tokenizer.json is a ConfigError naming the file', async () => {
    const dir = path.join(root, 'no-tokenizer');
    await writeTinyBertModel(dir, { hiddenSize: 8 });
    await unlink(path.join(dir, 'tokenizer.json'));
    await assert.rejects(
      createOnnxProvider({ modelDir: dir }),
      (err: unknown) => err instanceof ConfigError && err.message.includes(dir) && err.message.includes('tokenizer.json'),
    );
  });

  test('a corrupt model file is a fatal ProviderError, not a crash', async () => {
    const dir = path.join(root, 'corrupt');
    await writeTinyBertModel(dir, { hiddenSize: 8 });
    await mkdir(path.join(dir, 'onnx'), { recursive: true });
    await writeFile(path.join(dir, 'onnx', 'model.onnx'), 'not an onnx model');
    await assert.rejects(createOnnxProvider({ modelDir: dir }), (err: unknown) => err instanceof ProviderError && err.fatal && err.code === 'ONNX_MODEL_LOAD');
  });

  test('a closed provider refuses work', async () => {
    const other = await createOnnxProvider({ modelDir });
    await other.close();
    await other.close(); // idempotent
    await assert.rejects(other.embed(['yoga mat']), (err: unknown) => err instanceof ProviderError && err.code === 'PROVIDER_CLOSED');
  });

  test('nothing tried the network', () => {
    assert.deepEqual(fetchAttempts, []);
  });
});
