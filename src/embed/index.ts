import { ConfigError } from '../errors.js';
import type { EmbeddingProvider, ProviderName, ProviderOptions } from './provider.js';

/**
 * Create the configured provider. Each backend is imported only when chosen, so the default run
 * never loads onnxruntime or the OpenAI SDK.
 */
export async function createProvider(name: ProviderName, options: ProviderOptions): Promise<EmbeddingProvider> {
  switch (name) {
    case 'local':
      return (await import('./local-use.js')).createLocalUseProvider(options);
    case 'openai':
      return (await import('./openai.js')).createOpenAIProvider(options);
    case 'onnx':
      return (await import('./onnx.js')).createOnnxProvider(options);
    default:
      throw new ConfigError(`unknown provider "${String(name)}"; use local, openai or onnx`);
  }
}
