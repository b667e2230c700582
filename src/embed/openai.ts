/**
 * OpenAI embedding provider: the official `openai` SDK against api.openai.com or any
 * OpenAI-compatible server (Azure OpenAI v1, vLLM, Ollama, TEI, LiteLLM…) via `baseURL`.
 */

import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { ConfigError, type ErrorContext, ProviderError } from '../errors.js';
import { cl100kTokenizer } from './cl100k.js';
import type { EmbeddingProvider, EmbedOptions, EmbedResponse, ProviderOptions } from './provider.js';
import { observeHeaders, sharedRateLimiter } from './rate-limit.js';

export interface OpenAIModelInfo {
  /** Native output size. */
  readonly dims: number;
  /** Whether the model accepts the `dimensions` parameter (Matryoshka shortening). */
  readonly shortenable: boolean;
}

/** Per-model defaults for OpenAI's embedding models. */
export const OPENAI_EMBEDDING_MODELS: Readonly<Record<string, OpenAIModelInfo>> = {
  'text-embedding-3-large': { dims: 3072, shortenable: true },
  'text-embedding-3-small': { dims: 1536, shortenable: true },
  'text-embedding-ada-002': { dims: 1536, shortenable: false },
};

export const OPENAI_DEFAULT_MODEL = 'text-embedding-3-large';

/** API limits (https://platform.openai.com/docs/api-reference/embeddings/create). */
export const OPENAI_LIMITS = {
  /** The API allows 8,192 tokens per input; we keep one token of headroom. */
  maxInputTokens: 8191,
  maxBatchInputs: 2048,
  maxBatchTokens: 300_000,
} as const;

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_CONCURRENCY = 10;

/**
 * Floats one response may carry by default: 256 inputs at 3072-d, 512 at 1536-d, 1,024 at 768-d,
 * the API's 2,048 at 384-d or less. Memory held for requests is in flight × inputs × dims: at
 * 2,048 × 3072-d a response is 25 MB decoded after 33 MB of base64, so ten in flight held ~600 MB
 * and a run's peak RSS grew with the catalog until the window filled (bench/README.md, "Memory").
 * Smaller requests also come back one after another instead of all at once, so loading overlaps the
 * requests still out: 256 × 3072 made a 5,000-item cold run ~10 % faster than 512 × 3072 on a
 * server (bench/README.md, "On a PostgreSQL server"), and at ~100 tokens an item a request still
 * carries ~25,000 tokens, far from any tier's requests-per-minute limit.
 */
const RESPONSE_FLOATS = 256 * 3072;

function defaultBatchInputs(dims: number): number {
  return Math.max(1, Math.min(OPENAI_LIMITS.maxBatchInputs, Math.floor(RESPONSE_FLOATS / dims)));
}

/** The SDK client and what every call needs to know, from provider options (shared by the Batch API path). */
export function openAIClient(opts: ProviderOptions): { client: OpenAI; ctx: OpenAIContext; dimensions: number | undefined } {
  const apiKey = opts.apiKey;
  if (!apiKey) {
    throw new ConfigError('the openai provider needs an API key: set OPENAI_API_KEY');
  }
  const model = opts.model ?? OPENAI_DEFAULT_MODEL;
  const { dims, dimensions } = resolveDims(model, opts.dims);
  const timeoutMs = positiveInt('timeoutMs', opts.timeoutMs, DEFAULT_TIMEOUT_MS);
  // One attempt per call: retries belong to the scheduler's policy (src/embed/retry.ts), which
  // also sees rate limits and bisects bad batches. Left to the SDK, retries would multiply
  // (SDK × scheduler), hide 429s from the pacer and retry insufficient_quota, which never heals.
  const client = new OpenAI({
    apiKey,
    baseURL: opts.baseURL, // undefined → the SDK's default (OPENAI_BASE_URL, else api.openai.com/v1)
    timeout: timeoutMs,
    maxRetries: 0,
  });
  return { client, ctx: { model, endpoint: describeEndpoint(client.baseURL), apiKey, timeoutMs, dims }, dimensions };
}

/** What `embeddings.create({ encoding_format: 'base64', … }).withResponse()` resolves to; the SDK does not export this type. */
type Base64EmbeddingResult = {
  data: Omit<OpenAI.CreateEmbeddingResponse, 'data'> & { data: Array<Omit<OpenAI.Embedding, 'embedding'> & { embedding: string }> };
  response: Response;
};

export async function createOpenAIProvider(opts: ProviderOptions): Promise<EmbeddingProvider> {
  const { client, ctx, dimensions } = openAIClient(opts);
  const { model, dims, endpoint, apiKey } = ctx;
  // Limits are per organisation and model: every run of this process using the same key shares them.
  const keyFingerprint = createHash('sha256').update(apiKey).digest('hex').slice(0, 16);
  const limiter = sharedRateLimiter(`${endpoint}|${model}|${keyFingerprint}`, { rpm: opts.rpm, tpm: opts.tpm });

  async function embed(texts: string[], options: EmbedOptions = {}): Promise<EmbedResponse> {
    if (texts.length === 0) return { vectors: [], tokens: 0 };
    const tokens = options.tokens ?? texts.reduce((n, t) => n + cl100kTokenizer.encode(t).length, 0);
    const ticket = await limiter.acquire(tokens, options.signal);
    let result: Base64EmbeddingResult;
    try {
      result = await client.embeddings
        .create(
          {
            model,
            input: texts,
            // Passing encoding_format explicitly makes the SDK hand back the raw base64 strings; when
            // it is omitted the SDK requests base64 itself and converts every vector to number[].
            encoding_format: 'base64',
            ...(dimensions !== undefined ? { dimensions } : {}),
          },
          { signal: options.signal },
        )
        .withResponse();
    } catch (err) {
      const error = toProviderError(err, ctx);
      // A request refused by the rate limiter, or refused or reset before the server answered,
      // consumed none of the budget: give it back, or the next minute is paced far too slowly.
      const neverServed = error.code === 'RATE_LIMITED' || (err instanceof APIConnectionError && !(err instanceof APIConnectionTimeoutError));
      limiter.settle(ticket, err instanceof APIError && err.headers ? observeHeaders(err.headers) : undefined, neverServed);
      const retryAfterMs = error.context.retryAfterMs;
      // A request over the whole budget is split by the scheduler; its wait says nothing about smaller ones.
      const overBudget = Number(error.context.requestedTokens) > Number(error.context.tokenLimit);
      if (error.code === 'RATE_LIMITED' && typeof retryAfterMs === 'number' && !overBudget) limiter.pause(retryAfterMs);
      throw error;
    }
    const { data: body, response } = result;
    limiter.settle(ticket, observeHeaders(response.headers));
    const context: ErrorContext = { model, endpoint, status: response.status };
    const requestId = response.headers.get('x-request-id');
    if (requestId) context.requestId = requestId;

    const vectors = decodeEmbeddings(body?.data, texts.length, ctx, context);
    const usage = body.usage;
    return { vectors, tokens: usage?.total_tokens ?? usage?.prompt_tokens ?? tokens };
  }

  return {
    name: 'openai',
    model,
    dims,
    maxInputTokens: OPENAI_LIMITS.maxInputTokens,
    maxBatchInputs: positiveInt('maxBatchInputs', opts.maxBatchInputs, defaultBatchInputs(dims)),
    maxBatchTokens: positiveInt('maxBatchTokens', opts.maxBatchTokens, OPENAI_LIMITS.maxBatchTokens),
    concurrency: positiveInt('concurrency', opts.concurrency, DEFAULT_CONCURRENCY),
    tokenizer: cl100kTokenizer,
    tokenBudget: () => limiter.tokenLimit,
    embed,
    close: async () => {},
  };
}

/** What error messages and checks need to know about the client that made the call. */
export interface OpenAIContext {
  model: string;
  endpoint: string;
  apiKey: string;
  timeoutMs: number;
  dims: number;
}

/** Map an SDK error to a ProviderError an operator can act on, never echoing the key. */
export function toProviderError(err: unknown, ctx: OpenAIContext): ProviderError {
  if (err instanceof ProviderError) return err;
  const { model, endpoint, timeoutMs } = ctx;
  // Never echo the key: the exact key, and the masked `sk-abc***xyz` form OpenAI puts in 401s.
  const redact = (text: string): string =>
    text
      .split(ctx.apiKey)
      .join('[redacted]')
      .replace(/\bsk-[\w*.-]+/g, 'sk-[redacted]');
  const context: ErrorContext = { model, endpoint };
  if (err instanceof APIUserAbortError) {
    return new ProviderError('ABORTED', 'embedding request aborted', { fatal: false, context, cause: err });
  }
  // APIConnectionTimeoutError extends APIConnectionError, which extends APIError (status undefined).
  if (err instanceof APIConnectionTimeoutError) {
    return new ProviderError('TIMEOUT', `embedding request to ${endpoint} got no answer within ${timeoutMs} ms`, {
      fatal: false,
      context,
      cause: err,
    });
  }
  if (err instanceof APIConnectionError) {
    return new ProviderError('UNAVAILABLE', `cannot reach ${endpoint}: ${redact(connectionDetail(err))}`, {
      fatal: false,
      context,
      cause: err,
    });
  }
  if (err instanceof APIError && typeof err.status === 'number') {
    const status = err.status;
    context.status = status;
    if (err.requestID) context.requestId = err.requestID;
    const serverMessage = redact(serverMessageOf(err));
    if (status === 401 || status === 403) {
      // No `cause`: the SDK error carries the server's unredacted message.
      return new ProviderError(
        'AUTH',
        `OpenAI rejected the credentials (HTTP ${status}): check OPENAI_API_KEY and the base URL (${endpoint}). ` + `Server said: ${serverMessage}`,
        { fatal: true, context },
      );
    }
    const code = typeof err.code === 'string' ? err.code : undefined;
    const type = typeof err.type === 'string' ? err.type : undefined;
    if (status === 429 && (code === 'insufficient_quota' || type === 'insufficient_quota')) {
      return new ProviderError('QUOTA', `OpenAI quota exhausted (HTTP 429 insufficient_quota): check the plan and billing of this API key. ${serverMessage}`, {
        fatal: true,
        context,
        cause: err,
      });
    }
    if (status === 404) {
      return new ProviderError('MODEL_NOT_FOUND', `model "${model}" not found at ${endpoint} (HTTP 404): check the model name and base URL. ${serverMessage}`, {
        fatal: true,
        context,
        cause: err,
      });
    }
    if (status === 429) {
      const retryAfterMs = retryAfterMsOf(err.headers) ?? waitFromMessage(serverMessage);
      if (retryAfterMs !== undefined) context.retryAfterMs = retryAfterMs;
      // "… on tokens per min (TPM): Limit 120000, Used 0, Requested 138053": a request larger than
      // the whole per-minute budget can never pass; the scheduler splits it instead of retrying.
      const tpm = /tokens per min[^:]*: Limit (\d+), Used \d+, Requested (\d+)/i.exec(serverMessage);
      if (tpm) {
        context.tokenLimit = Number(tpm[1]);
        context.requestedTokens = Number(tpm[2]);
      }
      return new ProviderError('RATE_LIMITED', `rate limited by ${endpoint} (HTTP 429): ${serverMessage}`, {
        fatal: false,
        context,
        cause: err,
      });
    }
    if (status === 408 || status === 409 || status >= 500) {
      return new ProviderError('UNAVAILABLE', `${endpoint} failed (HTTP ${status}): ${serverMessage}`, {
        fatal: false,
        context,
        cause: err,
      });
    }
    // 400 and the other 4xx (413, 422…): this batch is wrong, the next one may be fine.
    return new ProviderError('BAD_REQUEST', `OpenAI rejected the request (HTTP ${status}): ${serverMessage}`, {
      fatal: false,
      context,
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError('UNAVAILABLE', `embedding request failed: ${redact(message)}`, {
    fatal: false,
    context,
    cause: err,
  });
}

/**
 * The `data` of an embeddings response → one vector per input, in input order, checked: count,
 * indexes, encoding (base64 or floats: some compatible servers ignore encoding_format) and dims.
 */
export function decodeEmbeddings(data: unknown, count: number, ctx: OpenAIContext, context: ErrorContext): Float32Array[] {
  const { endpoint, model, dims } = ctx;
  const items = Array.isArray(data) ? ([...data] as Array<{ index: number; embedding: unknown }>) : [];
  if (items.length !== count) {
    throw new ProviderError('BAD_RESPONSE', `${endpoint} returned ${items.length} embeddings for ${count} inputs`, { fatal: false, context });
  }
  items.sort((a, b) => a.index - b.index);
  return items.map((item, i) => {
    if (item.index !== i) {
      const message = `${endpoint} returned embedding indexes that are not 0..${count - 1}`;
      throw new ProviderError('BAD_RESPONSE', message, { fatal: false, context });
    }
    const raw = item.embedding;
    const vector = typeof raw === 'string' ? decodeFloat32Base64(raw) : Array.isArray(raw) ? Float32Array.from(raw as number[]) : undefined;
    if (!vector) {
      const message = `${endpoint} returned an embedding that is neither base64 nor an array`;
      throw new ProviderError('BAD_RESPONSE', message, { fatal: false, context });
    }
    if (vector.length !== dims) {
      throw new ProviderError(
        'DIMS_MISMATCH',
        `model "${model}" returned ${vector.length}-dimensional vectors but ${dims} were expected: set dims to the model's output size`,
        { fatal: true, context: { ...context, expected: dims, actual: vector.length } },
      );
    }
    return vector;
  });
}

/**
 * Output size and the `dimensions` parameter to send. Known models default to their native size;
 * 3-* models may be shortened. For a model we do not know (a compatible server's own model, an
 * Azure deployment name) `dims` is required and taken as its output size; `dimensions` is not sent.
 */
function resolveDims(model: string, dims: number | undefined): { dims: number; dimensions?: number } {
  if (dims !== undefined && (!Number.isInteger(dims) || dims < 1)) {
    throw new ConfigError(`dims must be a positive integer, got ${dims}`, { field: 'dims' });
  }
  const info = OPENAI_EMBEDDING_MODELS[model];
  if (!info) {
    if (dims === undefined) {
      throw new ConfigError(`unknown OpenAI embedding model "${model}": set dims to its output size`, {
        field: 'dims',
      });
    }
    return { dims };
  }
  if (dims === undefined) return { dims: info.dims };
  if (dims > info.dims) {
    throw new ConfigError(`dims ${dims} exceeds ${model}'s native ${info.dims} dimensions`, { field: 'dims' });
  }
  if (!info.shortenable) {
    if (dims === info.dims) return { dims };
    throw new ConfigError(`${model} cannot shorten its vectors (no dimensions parameter): omit dims or use a text-embedding-3 model`, { field: 'dims' });
  }
  return { dims, dimensions: dims };
}

/** The API sends little-endian float32s; on such a machine (every platform Node ships for) their bytes are the floats. */
const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * Little-endian float32s, as the API encodes them. A vector of 1,024 floats or more is decoded into
 * a buffer of its own (Node pools only small ones), which is viewed as floats rather than copied:
 * measured 10 ms against 79 ms to decode a 2,048 × 3072-d response, one allocation per vector instead of
 * two. A small vector is copied, so it does not keep a shared pool slab alive or sit unaligned.
 */
export function decodeFloat32Base64(b64: string): Float32Array | undefined {
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length % 4 !== 0) return undefined;
  if (LITTLE_ENDIAN && bytes.byteLength >= 4096 && bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

function serverMessageOf(err: APIError): string {
  const body: unknown = err.error;
  if (body && typeof body === 'object' && 'message' in body && typeof body.message === 'string') return body.message;
  return err.message;
}

function connectionDetail(err: APIConnectionError): string {
  const parts = [err.message];
  let cause: unknown = err.cause;
  for (let depth = 0; cause instanceof Error && depth < 3; depth++) {
    const code = (cause as { code?: unknown }).code;
    parts.push(typeof code === 'string' ? `${cause.message} (${code})` : cause.message);
    cause = cause.cause;
  }
  return parts.join(': ');
}

/** "Please try again in 1.5s." / "in 20ms": the wait OpenAI writes into 429 messages. */
function waitFromMessage(message: string): number | undefined {
  const m = /try again in (\d+(?:\.\d+)?)(ms|s)\b/i.exec(message);
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === 'ms' ? 1 : 1000);
}

function retryAfterMsOf(headers: Headers | undefined): number | undefined {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms)) return ms;
  const s = Number.parseFloat(headers?.get('retry-after') ?? '');
  return Number.isFinite(s) ? s * 1000 : undefined;
}

/** Origin and path only: a base URL may carry userinfo or query-string secrets. */
function describeEndpoint(baseURL: string): string {
  try {
    const url = new URL(baseURL);
    return `${url.origin}${url.pathname.replace(/\/$/, '')}`;
  } catch {
    return '(invalid base URL)';
  }
}

function positiveInt(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigError(`${field} must be a positive integer, got ${value}`, { field });
  }
  return value;
}
