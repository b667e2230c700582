/** Opens the image backend a config names; each is imported only when chosen (see image-provider.ts). */
import { ConfigError } from '../errors.js';
import type { ImageEmbeddingProvider, ImageProviderOptions } from './image-provider.js';

export async function createImageProvider(options: ImageProviderOptions): Promise<ImageEmbeddingProvider> {
  switch (options.provider) {
    case 'mobilenet':
      return (await import('./image-mobilenet.js')).createMobileNetProvider(options);
    case 'clip':
      return (await import('./image-clip.js')).createClipProvider(options);
    default:
      throw new ConfigError(`unknown image provider "${String(options.provider)}"; use mobilenet or clip`, { field: 'images.provider' });
  }
}
