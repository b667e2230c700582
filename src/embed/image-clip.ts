/**
 * `clip`: a CLIP-style model folder the user supplies (no CLIP weights ship in any npm or Debian
 * package), run in-process through `@huggingface/transformers` + onnxruntime-node, fully offline.
 * The folder is a Transformers.js export (e.g. a local copy of `Xenova/clip-vit-base-patch32`):
 *
 *   <dir>/config.json                 projection_dim (→ dims) when present
 *   <dir>/preprocessor_config.json    CLIPImageProcessor: size, crop_size, image_mean, image_std
 *   <dir>/onnx/vision_model.onnx      pixel_values → image_embeds   (or vision_model_quantized.onnx)
 *   text tower, optional — needed for `itemvec search --modality image "red shoes"`:
 *   <dir>/tokenizer.json, <dir>/tokenizer_config.json
 *   <dir>/onnx/text_model.onnx        input_ids, attention_mask → text_embeds   (or text_model_quantized.onnx)
 *
 * Vectors are the projected embeddings, L2-normalised, so image and text vectors share one space.
 * No code path downloads anything: remote loading is off, every load passes `local_files_only`,
 * and the folder is an absolute path, which Transformers.js never treats as a Hub model id.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  AutoImageProcessor,
  AutoTokenizer,
  CLIPTextModelWithProjection,
  CLIPVisionModelWithProjection,
  env,
  type PreTrainedModel,
  type PreTrainedTokenizer,
  RawImage,
  type Tensor,
} from '@huggingface/transformers';
import { ConfigError, errorMessage, ProviderError } from '../errors.js';
import type { DecodedImage } from '../images/decode.js';
import { type ImageEmbeddingProvider, type ImageProviderOptions, normalizeInPlace } from './image-provider.js';

const REQUIRED = ['config.json', 'preprocessor_config.json'] as const;
const TEXT_FILES = ['tokenizer.json', 'tokenizer_config.json'] as const;

async function isFile(file: string): Promise<boolean> {
  return stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** fp32 weights when present, else the 8-bit export, with the dtype Transformers.js selects each by. */
async function weights(dir: string, name: 'vision_model' | 'text_model'): Promise<{ file: string; dtype: 'fp32' | 'q8' } | null> {
  if (await isFile(path.join(dir, 'onnx', `${name}.onnx`))) return { file: `onnx/${name}.onnx`, dtype: 'fp32' };
  if (await isFile(path.join(dir, 'onnx', `${name}_quantized.onnx`))) return { file: `onnx/${name}_quantized.onnx`, dtype: 'q8' };
  return null;
}

async function readJson(dir: string, file: string): Promise<Record<string, unknown>> {
  try {
    const parsed: unknown = JSON.parse(await readFile(path.join(dir, file), 'utf8'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(
      `clip model folder ${dir}: ${file} is unreadable: ${errorMessage(err)}`,
      { field: 'images.modelDir', modelDir: dir, file },
      { cause: err },
    );
  }
}

const positiveInt = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);

/**
 * The square side to decode images to: the processor's resize target (short side), so that its own
 * resize is a no-op and its centre crop does the rest, exactly as for the original image.
 */
export function clipInputSize(pre: Record<string, unknown>): number | undefined {
  const size = pre.size as unknown;
  const crop = pre.crop_size as unknown;
  const side = (v: unknown): number | undefined =>
    positiveInt(v) ??
    (v && typeof v === 'object'
      ? (positiveInt((v as Record<string, unknown>).shortest_edge) ?? positiveInt((v as Record<string, unknown>).height))
      : undefined);
  return side(size) ?? side(crop);
}

/** Switch Transformers.js to local files only (the same settings as the text `onnx` provider). */
function forbidRemoteLoading(): void {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.useFSCache = false;
  env.useBrowserCache = false;
}

function rows(tensor: Tensor, expected: number, dir: string, output: string): Float32Array[] {
  const [batch, dims] = tensor.dims;
  if (tensor.dims.length !== 2 || batch !== expected || !dims) {
    throw new ProviderError('CLIP_MODEL_OUTPUT', `clip model in ${dir} returned ${output} of shape ${tensor.dims.join('×')}; expected [${expected}, dims]`, {
      fatal: true,
      context: { modelDir: dir },
    });
  }
  const data = (tensor.type === 'float32' ? tensor.data : tensor.to('float32').data) as Float32Array;
  return Array.from({ length: batch }, (_, i) => normalizeInPlace(data.slice(i * dims, (i + 1) * dims)));
}

export async function createClipProvider(opts: ImageProviderOptions): Promise<ImageEmbeddingProvider> {
  if (!opts.modelDir) {
    throw new ConfigError('image provider clip needs a model folder: set images.modelDir (ITEMVEC_IMAGE_MODEL_DIR or --image-model-dir)', {
      field: 'images.modelDir',
    });
  }
  const dir = path.resolve(opts.modelDir);
  if (
    !(await stat(dir).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  ) {
    throw new ConfigError(`clip model folder ${dir} does not exist or is not a folder`, { field: 'images.modelDir', modelDir: dir });
  }
  for (const file of REQUIRED) {
    if (!(await isFile(path.join(dir, file)))) {
      throw new ConfigError(`clip model folder ${dir} has no ${file} (expected config.json, preprocessor_config.json, onnx/vision_model.onnx)`, {
        field: 'images.modelDir',
        modelDir: dir,
        file,
      });
    }
  }
  const vision = await weights(dir, 'vision_model');
  if (!vision) {
    throw new ConfigError(`clip model folder ${dir} has no onnx/vision_model.onnx (nor onnx/vision_model_quantized.onnx)`, {
      field: 'images.modelDir',
      modelDir: dir,
      file: 'onnx/vision_model.onnx',
    });
  }
  const text = await weights(dir, 'text_model');
  const hasTextTower = text !== null && (await Promise.all(TEXT_FILES.map((f) => isFile(path.join(dir, f))))).every(Boolean);
  const config = await readJson(dir, 'config.json');
  const pre = await readJson(dir, 'preprocessor_config.json');
  const inputSize = clipInputSize(pre);
  if (!inputSize)
    throw new ConfigError(`clip model folder ${dir}: preprocessor_config.json has no size or crop_size`, { field: 'images.modelDir', modelDir: dir });

  forbidRemoteLoading();
  const local = { local_files_only: true, device: 'cpu' as const, subfolder: 'onnx' };
  const loaded: PreTrainedModel[] = [];
  let processor: Awaited<ReturnType<typeof AutoImageProcessor.from_pretrained>>;
  let visionModel: PreTrainedModel;
  let textModel: PreTrainedModel | null = null;
  let tokenizer: PreTrainedTokenizer | null = null;
  try {
    processor = await AutoImageProcessor.from_pretrained(dir, { local_files_only: true });
    visionModel = await CLIPVisionModelWithProjection.from_pretrained(dir, { ...local, dtype: vision.dtype, model_file_name: 'vision_model' });
    loaded.push(visionModel);
    if (hasTextTower) {
      tokenizer = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
      textModel = await CLIPTextModelWithProjection.from_pretrained(dir, { ...local, dtype: text!.dtype, model_file_name: 'text_model' });
      loaded.push(textModel);
    }
  } catch (err) {
    await Promise.all(loaded.map((m) => m.dispose().catch(() => undefined)));
    throw new ProviderError('CLIP_MODEL_LOAD', `cannot load the clip model in ${dir}: ${errorMessage(err)}`, {
      fatal: true,
      context: { modelDir: dir },
      cause: err,
    });
  }

  async function runImages(images: DecodedImage[]): Promise<Float32Array[]> {
    const raws = images.map((img) => new RawImage(new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length), img.width, img.height, 3));
    const inputs = await processor(raws);
    const out = (await visionModel(inputs)) as Record<string, Tensor | undefined>;
    const embeds = out.image_embeds;
    if (!embeds) {
      throw new ProviderError('CLIP_MODEL_OUTPUT', `clip vision model in ${dir} has no image_embeds output (outputs: ${Object.keys(out).join(', ')})`, {
        fatal: true,
        context: { modelDir: dir },
      });
    }
    return rows(embeds, images.length, dir, 'image_embeds');
  }

  // One probe pass: a broken export fails at start, not on the first catalog batch; it also gives dims.
  let dims: number;
  try {
    dims = (await runImages([{ data: new Uint8Array(inputSize * inputSize * 3).fill(128), width: inputSize, height: inputSize }]))[0]!.length;
  } catch (err) {
    await Promise.all(loaded.map((m) => m.dispose().catch(() => undefined)));
    if (err instanceof ProviderError) throw err;
    throw new ProviderError('CLIP_MODEL_LOAD', `clip model in ${dir} failed a test run: ${errorMessage(err)}`, {
      fatal: true,
      context: { modelDir: dir },
      cause: err,
    });
  }
  const projection = positiveInt(config.projection_dim);
  if (projection !== undefined && projection !== dims) {
    await Promise.all(loaded.map((m) => m.dispose().catch(() => undefined)));
    throw new ConfigError(`clip model in ${dir} returns ${dims}-d image_embeds but config.json says projection_dim ${projection}`, { modelDir: dir });
  }
  let closed = false;
  const checkOpen = () => {
    if (closed) throw new ProviderError('PROVIDER_CLOSED', 'clip provider is closed', { fatal: true });
  };

  const provider: ImageEmbeddingProvider = {
    name: 'clip',
    model: path.basename(dir),
    dims,
    inputSize,
    maxBatchInputs: opts.maxBatchInputs ?? 8,
    preprocessing: `sharp cover ${inputSize}x${inputSize} srgb, flatten on white; preprocessor_config.json`,
    async embedImages(images) {
      checkOpen();
      if (images.length === 0) return [];
      try {
        return await runImages(images);
      } catch (err) {
        if (err instanceof ProviderError) throw err;
        throw new ProviderError('IMAGE_MODEL', `clip vision model failed on a batch of ${images.length}: ${errorMessage(err)}`, {
          fatal: false,
          context: { modelDir: dir },
          cause: err,
        });
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(loaded.map((m) => m.dispose()));
    },
  };
  if (textModel && tokenizer) {
    const [tm, tok] = [textModel, tokenizer];
    provider.embedTexts = async (texts) => {
      checkOpen();
      if (texts.length === 0) return [];
      let out: Record<string, Tensor | undefined>;
      try {
        out = (await tm(tok(texts, { padding: true, truncation: true }))) as Record<string, Tensor | undefined>;
      } catch (err) {
        throw new ProviderError('CLIP_TEXT_MODEL', `clip text model failed on ${texts.length} text(s): ${errorMessage(err)}`, {
          fatal: false,
          context: { modelDir: dir },
          cause: err,
        });
      }
      if (!out.text_embeds) {
        throw new ProviderError('CLIP_MODEL_OUTPUT', `clip text model in ${dir} has no text_embeds output (outputs: ${Object.keys(out).join(', ')})`, {
          fatal: true,
          context: { modelDir: dir },
        });
      }
      const vectors = rows(out.text_embeds, texts.length, dir, 'text_embeds');
      if (vectors[0]!.length !== dims) {
        throw new ProviderError('CLIP_MODEL_OUTPUT', `clip text model in ${dir} returns ${vectors[0]!.length}-d text_embeds; its images are ${dims}-d`, {
          fatal: true,
          context: { modelDir: dir },
        });
      }
      return vectors;
    };
  }
  return provider;
}
