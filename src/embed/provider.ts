/**
 * The one interface every embedding backend implements. A provider is a plain object created by
 * a factory in its own file (openai.ts, local-use.ts, onnx.ts); the pipeline only sees this shape.
 */
export type ProviderName = 'local' | 'openai' | 'onnx';

/** The model's own tokenizer: used to count tokens and to split long inputs on token boundaries. */
export interface Tokenizer {
  encode(text: string): number[];
  decode(tokens: number[]): string;
}

export interface EmbedResponse {
  /** One vector per input, same order, each of length `dims`. */
  vectors: Float32Array[];
  /** Tokens the backend says it consumed (OpenAI `usage.total_tokens`); otherwise our own count. */
  tokens: number;
}

export interface EmbedOptions {
  signal?: AbortSignal;
  /** The inputs' token count when the caller already has it (saves tokenizing twice for pacing). */
  tokens?: number;
}

export interface EmbeddingProvider {
  readonly name: ProviderName;
  /** Model identifier recorded with every vector (e.g. `text-embedding-3-large`, `use-lite-512`). */
  readonly model: string;
  readonly dims: number;
  /** Largest input, in this model's tokens, one request input may carry; longer texts are chunked. */
  readonly maxInputTokens: number;
  /** Request packing limits: inputs per request and tokens summed over a request. */
  readonly maxBatchInputs: number;
  readonly maxBatchTokens: number;
  /** Requests the pipeline may keep in flight at once against this provider. */
  readonly concurrency: number;
  readonly tokenizer: Tokenizer;
  /**
   * Tokens per minute the backend's rate limit allows, once known (OpenAI: from its headers or
   * `--tpm`). A request must not exceed it, or it could never pass: packing stays below it.
   */
  tokenBudget?(): number | undefined;
  /**
   * Embed `texts` (non-empty strings, each within `maxInputTokens`) in ONE attempt: retrying is the
   * scheduler's job. Rejects with ProviderError; `fatal: true` when retrying or continuing cannot
   * help (bad credentials, exhausted quota, unknown model).
   */
  embed(texts: string[], options?: EmbedOptions): Promise<EmbedResponse>;
  close(): Promise<void>;
}

/** Options every factory receives; each provider reads the fields it understands. */
export interface ProviderOptions {
  model?: string;
  dims?: number;
  /** openai: API key and base URL of any OpenAI-compatible server. */
  apiKey?: string;
  baseURL?: string;
  /** local/onnx: folder holding the model files (no code path downloads weights). */
  modelDir?: string;
  concurrency?: number;
  maxBatchInputs?: number;
  maxBatchTokens?: number;
  /** Per-attempt timeout. */
  timeoutMs?: number;
  /** openai: caps on requests and tokens per minute, below what the server advertises. */
  rpm?: number;
  tpm?: number;
}
