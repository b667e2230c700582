/**
 * A fast in-process provider for tests about the pipeline's bookkeeping, not about models: the real
 * cl100k tokenizer (so token caps and truncation are counted as for OpenAI) and the local
 * OpenAI-compatible server's word-hash vectors. It records every text it embeds.
 */

import { cl100kTokenizer } from '../src/embed/cl100k.js';
import type { EmbeddingProvider, ProviderName } from '../src/embed/provider.js';
import { embedText } from './openai-server.js';

export interface HashProvider extends EmbeddingProvider {
  /** Every input embedded, in call order. */
  readonly embeddedTexts: string[];
}

export function hashProvider(options: { dims?: number; maxBatchInputs?: number; maxInputTokens?: number } = {}): HashProvider {
  const dims = options.dims ?? 16;
  const embeddedTexts: string[] = [];
  return {
    name: 'test' as ProviderName,
    model: `hash-${dims}`,
    dims,
    maxInputTokens: options.maxInputTokens ?? 8192,
    maxBatchInputs: options.maxBatchInputs ?? 64,
    maxBatchTokens: 300_000,
    concurrency: 2,
    tokenizer: cl100kTokenizer,
    embeddedTexts,
    async embed(texts) {
      embeddedTexts.push(...texts);
      return { vectors: texts.map((t) => embedText(t, dims)), tokens: texts.reduce((n, t) => n + cl100kTokenizer.encode(t).length, 0) };
    },
    close: async () => {},
  };
}
