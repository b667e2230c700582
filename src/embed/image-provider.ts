/**
 * Image embedding backends. Like text providers (provider.ts) each is a plain object made by a
 * factory in its own file, imported only when chosen (create-image-provider.ts), so a text run never loads TF.js for images
 * nor onnxruntime:
 *
 *   mobilenet (default)  MobileNetV2 from the npm package nsfwjs (weights inside it), on TF.js
 *                        with the WebAssembly backend: the 1,280-d layer before its classifier
 *   clip                 a CLIP-style model folder the user supplies (e.g. ViT-B/32 exported to
 *                        ONNX, 512-d), through @huggingface/transformers, offline; with its text
 *                        tower it also embeds text queries into the image space
 */
import type { DecodedImage } from '../images/decode.js';

export type ImageProviderName = 'mobilenet' | 'clip';

export interface ImageEmbeddingProvider {
  readonly name: ImageProviderName;
  /** Recorded with every vector and version, e.g. `nsfwjs-mobilenet_v2-flatten_1` or the folder name. */
  readonly model: string;
  readonly dims: number;
  /** Side of the square RGB input the model takes; images are decoded to it (images/decode.ts). */
  readonly inputSize: number;
  /** Images per model call. */
  readonly maxBatchInputs: number;
  /**
   * How pixels are prepared, stored as the version's "prompt template": a version fixes it like it
   * fixes the model, since other preprocessing gives other vectors.
   */
  readonly preprocessing: string;
  /** One L2-normalised vector per image, same order. Throws ProviderError. */
  embedImages(images: DecodedImage[]): Promise<Float32Array[]>;
  /** Text into the image space (CLIP with a text tower); absent when the model has none. */
  embedTexts?(texts: string[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}

export interface ImageProviderOptions {
  provider: ImageProviderName;
  /** clip: the model folder. */
  modelDir?: string;
  maxBatchInputs?: number;
}

/** L2-normalise in place; throws on a zero or non-finite vector (the model broke). */
export function normalizeInPlace(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  if (!(norm > 0) || !Number.isFinite(norm)) throw new Error('the model returned a zero or non-finite vector');
  for (let i = 0; i < v.length; i++) v[i]! /= norm;
  return v;
}
