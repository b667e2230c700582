import type { Tokenizer } from '../embed/provider.js';

export interface TextChunk {
  index: number;
  text: string;
  tokens: number;
}

/**
 * Split `text` into consecutive pieces of at most `maxTokens` tokens of the model's own tokenizer,
 * cutting on token boundaries. Most prompts fit in one chunk and are returned as they are.
 */
export function chunkText(text: string, tokenizer: Tokenizer, maxTokens: number): TextChunk[] {
  const ids = tokenizer.encode(text);
  if (ids.length <= maxTokens) return [{ index: 0, text, tokens: ids.length }];
  const chunks: TextChunk[] = [];
  let start = 0;
  while (start < ids.length) {
    let end = Math.min(start + maxTokens, ids.length);
    let piece = tokenizer.decode(ids.slice(start, end));
    // A byte-level BPE token can hold half of a multi-byte character; moving the cut back a token
    // or two keeps every chunk valid text (the replacement character marks the broken tail).
    for (let back = 1; piece.endsWith('\uFFFD') && end < ids.length && back <= 3 && end - 1 > start; back++) {
      end -= 1;
      piece = tokenizer.decode(ids.slice(start, end));
    }
    chunks.push({ index: chunks.length, text: piece, tokens: end - start });
    start = end;
  }
  return chunks;
}
