/**
 * cl100k_base, the tokenizer of every OpenAI embedding model (text-embedding-3-*, ada-002),
 * wrapped as our Tokenizer. Used to count tokens for request packing and to chunk long texts.
 */
import { decode, encode } from 'gpt-tokenizer/encoding/cl100k_base';
import type { Tokenizer } from './provider.js';

/**
 * gpt-tokenizer throws on special-token text such as `<|endoftext|>` unless told otherwise
 * (its `disallowedSpecial` defaults to 'all'). Catalog text is data, never control tokens, so we
 * encode those strings as ordinary text — which is also how they count against the API's limits.
 */
const AS_PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

export const cl100kTokenizer: Tokenizer = {
  encode: (text: string): number[] => encode(text, AS_PLAIN_TEXT),
  decode: (tokens: number[]): string => decode(tokens),
};
