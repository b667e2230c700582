/**
 * Text queries over image vectors (`itemvec search --modality image "red shoes"`): the text goes
 * through the text tower of the same CLIP model that embedded the version's images, so both land in
 * one space. The resulting vector is then searched like any other (`search(db, { vector })`).
 */
import { ConfigError } from '../errors.js';
import type { VersionRecord } from '../store/versions.js';
import { createImageProvider } from './create-image-provider.js';
import type { ImageEmbeddingProvider, ImageProviderName } from './image-provider.js';

function checkVersion(version: VersionRecord): void {
  if (version.modality !== 'image') throw new ConfigError(`version "${version.version}" holds ${version.modality} vectors, not image vectors`);
  if (version.provider !== 'clip') {
    throw new ConfigError(
      `image version "${version.version}" of namespace "${version.namespace}" was embedded with ${version.provider}/${version.model}, which has no text tower: ` +
        'text search over images needs a version embedded with a CLIP model folder (--image-model-dir DIR with onnx/text_model.onnx and a tokenizer). ' +
        'Use `itemvec similar ITEM --modality image` to search by image instead.',
      { version: version.version },
    );
  }
}

/**
 * Load the image provider that embedded `version` (its text tower included), from `modelDir`.
 * Throws ConfigError when the version's model cannot embed text or the folder holds another model.
 *
 *   const provider = await imageProviderForTextSearch(version, config.images.modelDir);
 */
export async function imageProviderForTextSearch(version: VersionRecord, modelDir: string | undefined): Promise<ImageEmbeddingProvider> {
  checkVersion(version);
  const provider = await createImageProvider({ provider: version.provider as ImageProviderName, modelDir });
  try {
    checkProvider(provider, version);
  } catch (err) {
    await provider.close();
    throw err;
  }
  return provider;
}

function checkProvider(provider: ImageEmbeddingProvider, version: VersionRecord): void {
  if (provider.name !== version.provider || provider.model !== version.model || provider.dims !== version.dims) {
    throw new ConfigError(
      `image version "${version.version}" was embedded with ${version.provider}/${version.model} (${version.dims}-d); ` +
        `the model folder holds ${provider.name}/${provider.model} (${provider.dims}-d). Point --image-model-dir at the folder the version was made with.`,
      { version: version.version },
    );
  }
  if (!provider.embedTexts) {
    throw new ConfigError(
      `the clip model folder of version "${version.version}" has no text tower (onnx/text_model.onnx, tokenizer.json, tokenizer_config.json)`,
      {
        version: version.version,
      },
    );
  }
}

/** `text` as a query vector in `version`'s image space. */
export async function imageQueryVector(provider: ImageEmbeddingProvider, version: VersionRecord, text: string): Promise<Float32Array> {
  checkVersion(version);
  checkProvider(provider, version);
  if (text.trim() === '') throw new ConfigError('search text is empty');
  return (await provider.embedTexts!([text]))[0]!;
}
