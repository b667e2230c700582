/**
 * `onnx`: any sentence-embedding model exported for Transformers.js (a Hugging Face / Optimum ONNX
 * export), run in-process on CPU through `@huggingface/transformers` + onnxruntime-node, fully
 * offline. The model folder is a parameter (`modelDir`, from ITEMVEC_LOCAL_MODEL_DIR):
 *
 *   <modelDir>/config.json              hidden_size (→ dims), max_position_embeddings
 *   <modelDir>/tokenizer.json           the fast-tokenizer JSON
 *   <modelDir>/tokenizer_config.json    tokenizer_class, model_max_length, special tokens
 *   <modelDir>/onnx/model.onnx          fp32 weights (preferred), or
 *   <modelDir>/onnx/model_quantized.onnx  8-bit weights, used only when model.onnx is absent
 *
 * Vectors are the mean of the model's `last_hidden_state` over the attention mask, L2-normalised
 * (what sentence-transformers does for MiniLM, mpnet, bge, e5 and gte exports).
 *
 * No code path downloads anything: remote loading is switched off globally, every load passes
 * `local_files_only`, and the folder is handed over as an absolute path, which Transformers.js
 * never treats as a Hub model id (so even a stray remote attempt would be refused by the library).
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { AutoModel, AutoTokenizer, env, type PreTrainedModel, type PreTrainedTokenizer, type Tensor } from '@huggingface/transformers';
import { ConfigError, errorMessage, ProviderError } from '../errors.js';
import type { EmbeddingProvider, ProviderOptions, Tokenizer } from './provider.js';

/** Files every model folder must hold, relative to it. */
export const ONNX_REQUIRED_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'] as const;
/** Weight files tried in order, with the Transformers.js dtype that selects each. */
export const ONNX_MODEL_FILES = [
  { file: 'onnx/model.onnx', dtype: 'fp32' },
  { file: 'onnx/model_quantized.onnx', dtype: 'q8' },
] as const;

/** Used when neither the tokenizer nor the config states a sequence limit (BERT's). */
const DEFAULT_MAX_POSITIONS = 512;
/** No CPU encoder is worth feeding more than this in one input; long texts are chunked instead. */
const MAX_POSITIONS_CAP = 8192;
/** Hugging Face writes a huge sentinel (1e30) as model_max_length when a tokenizer has no limit. */
const UNSET_LENGTH_THRESHOLD = 1_000_000;

interface ModelConfig {
  hidden_size?: unknown;
  d_model?: unknown;
  dim?: unknown;
  max_position_embeddings?: unknown;
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** Check the folder before Transformers.js sees it, so errors name the folder and the missing file. */
async function checkModelDir(modelDir: string | undefined): Promise<{ dir: string; modelFile: string; dtype: 'fp32' | 'q8' }> {
  if (!modelDir) {
    throw new ConfigError(
      'provider onnx needs a model folder: set ITEMVEC_LOCAL_MODEL_DIR (config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx)',
      {
        field: 'embed.modelDir',
      },
    );
  }
  const dir = path.resolve(modelDir);
  let isDir: boolean;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch {
    throw new ConfigError(`onnx model folder ${dir} does not exist`, { field: 'embed.modelDir', modelDir: dir });
  }
  if (!isDir) throw new ConfigError(`onnx model folder ${dir} is not a folder`, { field: 'embed.modelDir', modelDir: dir });

  const expected = `expected ${ONNX_REQUIRED_FILES.join(', ')} and onnx/model.onnx`;
  for (const file of ONNX_REQUIRED_FILES) {
    if (!(await isFile(path.join(dir, file)))) {
      throw new ConfigError(`onnx model folder ${dir} has no ${file} (${expected})`, { field: 'embed.modelDir', modelDir: dir, file });
    }
  }
  for (const { file, dtype } of ONNX_MODEL_FILES) {
    if (await isFile(path.join(dir, file))) return { dir, modelFile: file, dtype };
  }
  throw new ConfigError(`onnx model folder ${dir} has no onnx/model.onnx (nor onnx/model_quantized.onnx); ${expected}`, {
    field: 'embed.modelDir',
    modelDir: dir,
    file: 'onnx/model.onnx',
  });
}

async function readJson(dir: string, file: string): Promise<Record<string, unknown>> {
  const full = path.join(dir, file);
  try {
    const parsed: unknown = JSON.parse(await readFile(full, 'utf8'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`onnx model folder ${dir}: ${file} is unreadable: ${errorMessage(err)}`, { modelDir: dir, file }, { cause: err });
  }
}

/** Switch Transformers.js to local files only. Process-wide: this is the only module that loads it. */
function forbidRemoteLoading(): void {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  // Read the folder itself, never a stale copy in the library's own cache directory.
  env.useFSCache = false;
  env.useBrowserCache = false;
}

/**
 * Mean of `hidden` ([batch, seq, dims]) over positions whose attention mask is set, then L2
 * normalisation: one Float32Array per row.
 */
export function meanPoolNormalize(hidden: ArrayLike<number>, mask: ArrayLike<number | bigint>, batch: number, seq: number, dims: number): Float32Array[] {
  const vectors: Float32Array[] = [];
  const sum = new Float64Array(dims);
  for (let b = 0; b < batch; b++) {
    sum.fill(0);
    let count = 0;
    for (let s = 0; s < seq; s++) {
      const m = Number(mask[b * seq + s]);
      if (m === 0) continue;
      count += m;
      const offset = (b * seq + s) * dims;
      for (let d = 0; d < dims; d++) sum[d]! += (hidden[offset + d] as number) * m;
    }
    let norm = 0;
    for (let d = 0; d < dims; d++) {
      sum[d]! /= Math.max(count, 1);
      norm += sum[d]! * sum[d]!;
    }
    norm = Math.sqrt(norm);
    const out = new Float32Array(dims);
    for (let d = 0; d < dims; d++) out[d] = norm > 0 ? sum[d]! / norm : 0;
    vectors.push(out);
  }
  return vectors;
}

function tokenizerAdapter(tokenizer: PreTrainedTokenizer): Tokenizer {
  return {
    // Content tokens only: counting and chunking are about the text, not [CLS]/[SEP].
    encode: (text) => tokenizer.encode(text, { add_special_tokens: false }),
    // Transformers.js throws on an empty id list.
    decode: (ids) => (ids.length === 0 ? '' : tokenizer.decode(ids, { skip_special_tokens: true })),
  };
}

export async function createOnnxProvider(opts: ProviderOptions): Promise<EmbeddingProvider> {
  const { dir, modelFile, dtype } = await checkModelDir(opts.modelDir);
  const config = (await readJson(dir, 'config.json')) as ModelConfig;
  const tokenizerConfig = await readJson(dir, 'tokenizer_config.json');
  const configDims = positiveInt(config.hidden_size) ?? positiveInt(config.d_model) ?? positiveInt(config.dim);
  if (opts.dims !== undefined && configDims !== undefined && opts.dims !== configDims) {
    throw new ConfigError(`onnx model in ${dir} produces ${configDims}-d vectors (config.json hidden_size); --dims ${opts.dims} is not possible`, {
      modelDir: dir,
      field: 'embed.dims',
    });
  }

  forbidRemoteLoading();
  let tokenizer: PreTrainedTokenizer;
  let model: PreTrainedModel;
  try {
    tokenizer = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
    model = await AutoModel.from_pretrained(dir, {
      local_files_only: true,
      device: 'cpu',
      dtype,
      subfolder: 'onnx',
      model_file_name: 'model',
    });
  } catch (err) {
    throw new ProviderError('ONNX_MODEL_LOAD', `cannot load the onnx model in ${dir} (${modelFile}): ${errorMessage(err)}`, {
      fatal: true,
      context: { modelDir: dir, file: modelFile },
      cause: err,
    });
  }

  // How many special tokens ([CLS], [SEP], <s>, </s>…) the tokenizer wraps each input in.
  const probe = 'hello world';
  const specialTokens = Math.max(0, tokenizer.encode(probe).length - tokenizer.encode(probe, { add_special_tokens: false }).length);
  const tokenizerMax = positiveInt(tokenizerConfig.model_max_length);
  const limits = [
    tokenizerMax !== undefined && tokenizerMax < UNSET_LENGTH_THRESHOLD ? tokenizerMax : undefined,
    positiveInt(config.max_position_embeddings),
  ].filter((n): n is number => n !== undefined);
  const maxPositions = Math.min(limits.length > 0 ? Math.min(...limits) : DEFAULT_MAX_POSITIONS, MAX_POSITIONS_CAP);
  const maxInputTokens = maxPositions - specialTokens;
  if (maxInputTokens < 1) {
    await model.dispose().catch(() => undefined);
    throw new ConfigError(`onnx model in ${dir} allows ${maxPositions} positions, no room for input beside ${specialTokens} special tokens`, { modelDir: dir });
  }

  let closed = false;
  let outputDims = configDims;

  /** Tokenize, run and pool. Throws plain errors; callers wrap them. */
  async function run(texts: string[]): Promise<Float32Array[]> {
    const inputs = tokenizer(texts, { padding: true, truncation: true, max_length: maxPositions });
    const outputs = (await model(inputs)) as Record<string, Tensor | undefined>;
    const hidden = outputs.last_hidden_state ?? outputs.token_embeddings;
    if (!hidden) {
      throw new ProviderError('ONNX_MODEL_OUTPUT', `onnx model in ${dir} has no last_hidden_state output (outputs: ${Object.keys(outputs).join(', ')})`, {
        fatal: true,
        context: { modelDir: dir },
      });
    }
    const [batch, seq, width] = hidden.dims;
    if (hidden.dims.length !== 3 || batch !== texts.length || seq === undefined || width === undefined) {
      throw new ProviderError('ONNX_MODEL_OUTPUT', `onnx model in ${dir} returned a ${hidden.dims.join('×')} tensor; expected [batch, tokens, dims]`, {
        fatal: true,
        context: { modelDir: dir },
      });
    }
    const mask = (inputs as { attention_mask: Tensor }).attention_mask;
    const data = hidden.type === 'float32' ? (hidden.data as Float32Array) : (hidden.to('float32').data as Float32Array);
    return meanPoolNormalize(data, mask.data as BigInt64Array, batch, seq, width);
  }

  // One probe pass: fails fast on a broken model and learns dims when config.json has no hidden_size.
  let probeVector: Float32Array | undefined;
  try {
    probeVector = (await run([probe]))[0];
  } catch (err) {
    await model.dispose().catch(() => undefined);
    if (err instanceof ProviderError) throw err;
    throw new ProviderError('ONNX_MODEL_LOAD', `onnx model in ${dir} failed a test run: ${errorMessage(err)}`, {
      fatal: true,
      context: { modelDir: dir, file: modelFile },
      cause: err,
    });
  }
  const probeDims = probeVector?.length ?? 0;
  if (outputDims !== undefined && outputDims !== probeDims) {
    await model.dispose().catch(() => undefined);
    throw new ConfigError(`onnx model in ${dir} returns ${probeDims}-d vectors but config.json says hidden_size ${outputDims}`, { modelDir: dir });
  }
  outputDims = probeDims;
  if (opts.dims !== undefined && opts.dims !== outputDims) {
    await model.dispose().catch(() => undefined);
    throw new ConfigError(`onnx model in ${dir} produces ${outputDims}-d vectors; --dims ${opts.dims} is not possible`, { modelDir: dir, field: 'embed.dims' });
  }
  const dims = outputDims;
  const adapter = tokenizerAdapter(tokenizer);

  return {
    name: 'onnx',
    model: opts.model ?? path.basename(dir),
    dims,
    maxInputTokens,
    maxBatchInputs: opts.maxBatchInputs ?? 32,
    maxBatchTokens: opts.maxBatchTokens ?? 8192,
    // One in-process CPU session already uses every core; parallel calls would only queue.
    concurrency: 1,
    tokenizer: adapter,
    async embed(texts, options) {
      if (closed) throw new ProviderError('PROVIDER_CLOSED', 'onnx provider is closed', { fatal: true });
      if (texts.length === 0) return { vectors: [], tokens: 0 };
      if (options?.signal?.aborted) {
        throw new ProviderError('ABORTED', 'onnx embedding aborted before it started', { fatal: false, cause: options.signal.reason });
      }
      let tokens = 0;
      for (const [i, text] of texts.entries()) {
        const n = adapter.encode(text).length;
        if (n === 0) throw new ProviderError('EMPTY_INPUT', `input ${i} has no tokens`, { fatal: false, context: { input: i } });
        tokens += n;
      }
      let vectors: Float32Array[];
      try {
        vectors = await run(texts);
      } catch (err) {
        if (err instanceof ProviderError) throw err;
        throw new ProviderError('ONNX_RUNTIME', `onnx model failed on a batch of ${texts.length}: ${errorMessage(err)}`, {
          fatal: false,
          context: { modelDir: dir, inputs: texts.length },
          cause: err,
        });
      }
      for (const [i, v] of vectors.entries()) {
        if (v.some((x) => !Number.isFinite(x))) {
          throw new ProviderError('ONNX_BAD_VECTOR', `onnx model returned a non-finite vector for input ${i}`, { fatal: false, context: { input: i } });
        }
      }
      return { vectors, tokens };
    },
    async close() {
      if (closed) return;
      closed = true;
      await model.dispose();
    },
  };
}
