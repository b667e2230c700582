/**
 * The offline default image model. No CLIP-style weights ship in any npm or Debian package, but
 * `nsfwjs` bundles a MobileNetV2 (a Keras layers model, weights base64-encoded in its JS files). Its
 * `flatten_1` layer, the 1,280-d global-average-pooled features before the classifier head, is a
 * general image descriptor (measured: generated look-alike pairs ≈ 0.93 cosine, unrelated ≈ 0.45).
 * It runs on TF.js with the WebAssembly backend, in-process, with no download.
 *
 * The vectors live in their own space (no text tower): `similar --modality image` works, text search
 * over images needs the `clip` provider.
 */
import { ConfigError, errorMessage, ProviderError } from '../errors.js';
import type { DecodedImage } from '../images/decode.js';
import { type ImageEmbeddingProvider, type ImageProviderOptions, normalizeInPlace } from './image-provider.js';

export const MOBILENET_MODEL = 'nsfwjs-mobilenet_v2-flatten_1';
export const MOBILENET_DIMS = 1280;
export const MOBILENET_INPUT = 224;
/** The layer whose output is the feature vector. */
const FEATURE_LAYER = 'flatten_1';

export async function createMobileNetProvider(opts: ImageProviderOptions): Promise<ImageEmbeddingProvider> {
  if (opts.modelDir) {
    throw new ConfigError(
      'images.modelDir is for images.provider "clip"; the mobilenet model ships inside the nsfwjs package (unset images.modelDir or set images.provider to clip)',
      { field: 'images.modelDir' },
    );
  }
  let tf: typeof import('@tensorflow/tfjs');
  let features: import('@tensorflow/tfjs').LayersModel;
  let dispose: () => void;
  try {
    tf = await import('@tensorflow/tfjs');
    await import('@tensorflow/tfjs-backend-wasm');
    if (tf.getBackend() !== 'wasm') await tf.setBackend('wasm');
    await tf.ready();
    const [{ load }, { MobileNetV2Model }] = await Promise.all([import('nsfwjs/core'), import('nsfwjs/models/mobilenet_v2')]);
    // nsfwjs announces the model it loads with console.info, i.e. on stdout, which carries `--json`
    // results: silence it for the duration of the load only.
    const info = console.info;
    console.info = () => {};
    let nsfw: Awaited<ReturnType<typeof load>>;
    try {
      nsfw = await load('MobileNetV2', { modelDefinitions: [MobileNetV2Model] });
    } finally {
      console.info = info;
    }
    const full = nsfw.model as import('@tensorflow/tfjs').LayersModel;
    const layer = full.layers?.find((l) => l.name === FEATURE_LAYER);
    if (!layer) throw new Error(`the bundled MobileNetV2 has no layer ${FEATURE_LAYER}`);
    features = tf.model({ inputs: full.inputs, outputs: layer.output as import('@tensorflow/tfjs').SymbolicTensor });
    dispose = () => nsfw.dispose();
  } catch (err) {
    throw new ProviderError('IMAGE_MODEL_LOAD', `cannot load the MobileNetV2 image model from nsfwjs: ${errorMessage(err)}`, { fatal: true, cause: err });
  }
  let closed = false;

  return {
    name: 'mobilenet',
    model: MOBILENET_MODEL,
    dims: MOBILENET_DIMS,
    inputSize: MOBILENET_INPUT,
    // Measured on 2 vCPUs (WASM): 21 images/s one at a time, 23 at 4–16 per call, 17 at 32.
    maxBatchInputs: opts.maxBatchInputs ?? 8,
    preprocessing: `sharp cover ${MOBILENET_INPUT}x${MOBILENET_INPUT} srgb, flatten on white; /255`,
    async embedImages(images: DecodedImage[]): Promise<Float32Array[]> {
      if (closed) throw new ProviderError('PROVIDER_CLOSED', 'mobilenet provider is closed', { fatal: true });
      if (images.length === 0) return [];
      const size = MOBILENET_INPUT;
      const pixels = new Float32Array(images.length * size * size * 3);
      images.forEach((img, i) => {
        if (img.width !== size || img.height !== size)
          throw new ProviderError('IMAGE_INPUT', `image ${i} is ${img.width}×${img.height}, expected ${size}×${size}`, { fatal: false });
        // nsfwjs's own preprocessing: pixel values scaled to [0, 1].
        const offset = i * size * size * 3;
        for (let p = 0; p < img.data.length; p++) pixels[offset + p] = img.data[p]! / 255;
      });
      let flat: Float32Array;
      try {
        const out = tf.tidy(() => features.predict(tf.tensor4d(pixels, [images.length, size, size, 3])) as import('@tensorflow/tfjs').Tensor);
        try {
          flat = (await out.data()) as Float32Array;
        } finally {
          out.dispose();
        }
      } catch (err) {
        throw new ProviderError('IMAGE_MODEL', `mobilenet failed on a batch of ${images.length}: ${errorMessage(err)}`, { fatal: false, cause: err });
      }
      return images.map((_, i) => normalizeInPlace(flat.slice(i * MOBILENET_DIMS, (i + 1) * MOBILENET_DIMS)));
    },
    async close() {
      if (closed) return;
      closed = true;
      // The feature model shares its layers with nsfwjs's full model: disposing that one frees them all.
      dispose();
    },
  };
}
