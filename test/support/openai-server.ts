/**
 * A local OpenAI-compatible HTTP server for tests: POST /v1/embeddings with the real API's bearer auth,
 * validation messages, response shape, x-ratelimit-* headers and injectable faults. Embeddings are a
 * deterministic hashed bag-of-words, so texts that share words are closer than texts that do not.
 *
 * To extend: add endpoints to `routes` (Files, Batches…) and fault kinds to `Fault` / `faultError`.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { decode, encode } from 'gpt-tokenizer/encoding/cl100k_base';
import { mulberry32 } from './random.js';

export interface ServerModel {
  dims: number;
  /** Accepts the `dimensions` parameter. */
  dimensions: boolean;
}

export const SERVER_MODELS: Record<string, ServerModel> = {
  'text-embedding-3-large': { dims: 3072, dimensions: true },
  'text-embedding-3-small': { dims: 1536, dimensions: true },
  'text-embedding-ada-002': { dims: 1536, dimensions: false },
};

/** The next `count` authenticated requests answer `status`; 429 + code `insufficient_quota` is a quota error. */
export interface StatusFault {
  status: 429 | 500 | 503;
  count: number;
  retryAfterMs?: number;
  code?: string;
}
export type Fault = StatusFault;

export interface OpenAIServerOptions {
  /** Expected bearer key (default `sk-test`). */
  apiKey?: string;
  /** Delay before answering each request. */
  latencyMs?: number;
  /** Per-minute budgets, reported in x-ratelimit-* and enforced with 429s (defaults 10k RPM, 10M TPM). */
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  /** Extra or replacement models. */
  models?: Record<string, ServerModel>;
  /** Return `data` in reverse order (clients must sort by `index`). */
  reverseData?: boolean;
}

export interface OpenAIServerCounters {
  /** Every HTTP request received, failed ones included. */
  requests: number;
  /** Inputs embedded in successful responses, and their tokens. */
  inputs: number;
  tokens: number;
  inFlight: number;
  maxInFlight: number;
}

export interface OpenAIServer {
  /** Base URL including `/v1`, e.g. http://127.0.0.1:PORT/v1 */
  url: string;
  counters: OpenAIServerCounters;
  /** The last 100 authenticated requests with their parsed JSON bodies. */
  log: Array<{ method: string; path: string; body: unknown }>;
  setFaults(faults: Fault[]): void;
  close(): Promise<void>;
}

export const LIMITS = { inputs: 2048, inputTokens: 8192, requestTokens: 300_000 } as const;
const DOCS = 'Please check the API reference: https://platform.openai.com/docs/api-reference.';

type HeaderMap = Record<string, string>;
interface Reply {
  status?: number;
  body: unknown;
  headers?: HeaderMap;
}

/** An error answered in OpenAI's shape: {error:{message,type,param,code}}. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: { type?: string; code?: string | null; param?: string | null; headers?: HeaderMap } = {},
  ) {
    super(message);
  }
  reply(): Reply {
    const { type = 'invalid_request_error', code = null, param = null, headers } = this.extra;
    return { status: this.status, headers, body: { error: { message: this.message, type, param, code } } };
  }
}

interface Context {
  body: unknown;
  opts: OpenAIServerOptions;
  models: Record<string, ServerModel>;
  limits: RateLimits;
  counters: OpenAIServerCounters;
}

const routes: Record<string, (ctx: Context) => Reply> = {
  'POST /v1/embeddings': handleEmbeddings,
};

export async function startOpenAIServer(opts: OpenAIServerOptions = {}): Promise<OpenAIServer> {
  const apiKey = opts.apiKey ?? 'sk-test';
  const counters: OpenAIServerCounters = { requests: 0, inputs: 0, tokens: 0, inFlight: 0, maxInFlight: 0 };
  const log: OpenAIServer['log'] = [];
  const limits = new RateLimits(opts.requestsPerMinute ?? 10_000, opts.tokensPerMinute ?? 10_000_000);
  const models = { ...SERVER_MODELS, ...opts.models };
  let faults: Fault[] = [];

  async function handle(req: http.IncomingMessage, headers: HeaderMap): Promise<Reply> {
    const raw = await readBody(req);
    if (opts.latencyMs) await sleep(opts.latencyMs);
    const auth = req.headers.authorization;
    if (!auth?.startsWith('Bearer ')) {
      throw new ApiError(401, "You didn't provide an API key. You need to provide your API key in an Authorization " +
        'header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).');
    }
    const key = auth.slice('Bearer '.length);
    if (key !== apiKey) {
      throw new ApiError(401, `Incorrect API key provided: ${maskKey(key)}. You can find your API key at ` +
        'https://platform.openai.com/account/api-keys.', { code: 'invalid_api_key' });
    }
    Object.assign(headers, limits.headers());
    const fault = faults[0];
    if (fault) {
      if (--fault.count <= 0) faults.shift();
      throw faultError(fault);
    }
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      throw new ApiError(400, 'We could not parse the JSON body of your request. The API expects a JSON payload.');
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    log.push({ method: req.method ?? '', path, body });
    if (log.length > 100) log.shift();
    const route = routes[`${req.method} ${path}`];
    if (!route) throw new ApiError(404, `Invalid URL (${req.method} ${path})`);
    const reply = route({ body, opts, models, limits, counters });
    Object.assign(headers, limits.headers());
    return reply;
  }

  const server = http.createServer((req, res) => {
    counters.requests++;
    counters.maxInFlight = Math.max(counters.maxInFlight, ++counters.inFlight);
    res.once('close', () => counters.inFlight--);
    const headers: HeaderMap = { 'x-request-id': `req_${randomUUID().replace(/-/g, '')}` };
    void handle(req, headers)
      .catch((err: unknown) => {
        const bug = () => new ApiError(500, `test server bug: ${String(err)}`, { type: 'server_error' });
        return (err instanceof ApiError ? err : bug()).reply();
      })
      .then((reply) => {
        res.writeHead(reply.status ?? 200, { ...headers, ...reply.headers, 'content-type': 'application/json' });
        res.end(JSON.stringify(reply.body));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    counters,
    log,
    setFaults: (next) => {
      faults = next.filter((f) => f.count > 0).map((f) => ({ ...f }));
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections(); // the SDK keeps connections alive
      }),
  };
}

function handleEmbeddings({ body, opts, models, limits, counters }: Context): Reply {
  const req = (body ?? {}) as Record<string, unknown>;
  if (typeof req.model !== 'string') throw new ApiError(400, 'you must provide a model parameter');
  const inputs = parseInput(req.input);
  if (!inputs) throw new ApiError(400, `'$.input' is invalid. ${DOCS}`);
  const model = models[req.model];
  if (!model) {
    throw new ApiError(404, `The model \`${req.model}\` does not exist or you do not have access to it.`, {
      code: 'model_not_found',
    });
  }
  let dims = model.dims;
  const d = req.dimensions;
  if (d !== undefined && d !== null) {
    if (!model.dimensions) throw new ApiError(400, 'This model does not support specifying dimensions.');
    if (typeof d !== 'number' || !Number.isInteger(d)) throw new ApiError(400, `'$.dimensions' is invalid. ${DOCS}`);
    if (d < 1 || d > model.dims) {
      const [side, bound] = d < 1 ? ['below_min', '>= 1'] : ['above_max', `<= ${model.dims}`];
      throw new ApiError(400, `Invalid 'dimensions': integer ${side.replace('_', 'imum ')} value. ` +
        `Expected a value ${bound}, but got ${d} instead.`, { code: `integer_${side}_value`, param: 'dimensions' });
    }
    dims = d;
  }
  const format = req.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') throw new ApiError(400, `'$.encoding_format' is invalid. ${DOCS}`);

  const counts = inputs.map((x) => (typeof x === 'string' ? countTokens(x) : x.length));
  if (counts.some((n) => n > LIMITS.inputTokens)) {
    throw new ApiError(400, `Invalid 'input': maximum context length is ${LIMITS.inputTokens} tokens.`);
  }
  const total = counts.reduce((a, b) => a + b, 0);
  if (total > LIMITS.requestTokens) {
    throw new ApiError(400, `Requested ${total} tokens, max ${LIMITS.requestTokens} tokens per request`, {
      type: 'max_tokens_per_request',
      code: 'max_tokens_per_request',
    });
  }
  limits.take(total, req.model);

  const data = inputs.map((input, index) => {
    const v = embedText(typeof input === 'string' ? input : decode(input), dims);
    return { object: 'embedding', index, embedding: format === 'base64' ? toBase64(v) : Array.from(v) };
  });
  if (opts.reverseData) data.reverse();
  counters.inputs += inputs.length;
  counters.tokens += total;
  return {
    body: { object: 'list', data, model: req.model, usage: { prompt_tokens: total, total_tokens: total } },
    headers: { 'openai-model': req.model },
  };
}

/** string | string[] | number[] | number[][] → inputs; undefined where the API answers '$.input' is invalid. */
function parseInput(input: unknown): Array<string | number[]> | undefined {
  const isTokens = (x: unknown): x is number[] =>
    Array.isArray(x) && x.length > 0 && x.every((t) => Number.isInteger(t) && t >= 0);
  const list: unknown[] | undefined =
    typeof input === 'string' || isTokens(input) ? [input] : Array.isArray(input) ? input : undefined;
  if (!list || list.length === 0 || list.length > LIMITS.inputs) return undefined;
  const ok = list.every((x) => (typeof x === 'string' && x.length > 0) || isTokens(x));
  return ok ? (list as Array<string | number[]>) : undefined;
}

function faultError({ status, code, retryAfterMs }: Fault): ApiError {
  const headers: HeaderMap = {};
  if (retryAfterMs !== undefined) {
    headers['retry-after-ms'] = String(retryAfterMs);
    headers['retry-after'] = String(Math.ceil(retryAfterMs / 1000));
  }
  if (status === 429 && code === 'insufficient_quota') {
    return new ApiError(429, 'You exceeded your current quota, please check your plan and billing details. For more ' +
      'information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.', {
      type: 'insufficient_quota', code, headers,
    });
  }
  if (status === 429) {
    return new ApiError(429, 'Rate limit reached for requests. Please try again later.', {
      type: 'requests', code: code ?? 'rate_limit_exceeded', headers,
    });
  }
  const message = status === 503 ? 'The engine is currently overloaded, please try again later.'
    : 'The server had an error while processing your request. Sorry about that!';
  return new ApiError(status, message, { type: 'server_error', code: code ?? null, headers });
}

/** Continuously refilling per-minute budgets, reported like OpenAI's x-ratelimit-* headers. */
class RateLimits {
  private left: { requests: number; tokens: number };
  private at = Date.now();
  constructor(private readonly rpm: number, private readonly tpm: number) {
    this.left = { requests: rpm, tokens: tpm };
  }
  private refill(): void {
    const now = Date.now();
    const minutes = (now - this.at) / 60_000;
    this.at = now;
    this.left.requests = Math.min(this.rpm, this.left.requests + minutes * this.rpm);
    this.left.tokens = Math.min(this.tpm, this.left.tokens + minutes * this.tpm);
  }
  /** Spend one request and `tokens`, or throw the API's 429. */
  take(tokens: number, model: string): void {
    this.refill();
    const [kind, unit, limit, need] = this.left.requests < 1
      ? (['requests', 'RPM', this.rpm, 1] as const) : (['tokens', 'TPM', this.tpm, tokens] as const);
    const have = this.left[kind];
    if (have < need) {
      const waitMs = Math.ceil(((need - have) * 60_000) / limit);
      throw new ApiError(429, `Rate limit reached for ${model} in organization org-test on ${kind} per min ` +
        `(${unit}): Limit ${limit}, Used ${Math.floor(limit - have)}, Requested ${need}. Please try again in ` +
        `${duration(waitMs)}. Visit https://platform.openai.com/account/rate-limits to learn more.`, {
        type: kind, code: 'rate_limit_exceeded',
        headers: { 'retry-after-ms': String(waitMs), 'retry-after': String(Math.ceil(waitMs / 1000)) },
      });
    }
    this.left.requests -= 1;
    this.left.tokens -= tokens;
  }
  headers(): HeaderMap {
    this.refill();
    const { requests, tokens } = this.left;
    return {
      'x-ratelimit-limit-requests': String(this.rpm),
      'x-ratelimit-limit-tokens': String(this.tpm),
      'x-ratelimit-remaining-requests': String(Math.floor(requests)),
      'x-ratelimit-remaining-tokens': String(Math.floor(tokens)),
      'x-ratelimit-reset-requests': duration(((this.rpm - requests) * 60_000) / this.rpm),
      'x-ratelimit-reset-tokens': duration(((this.tpm - tokens) * 60_000) / this.tpm),
    };
  }
}

/** OpenAI's duration format: `20ms`, `1.5s`, `6m0s`. */
function duration(ms: number): string {
  if (ms < 1000) return `${Math.ceil(ms)}ms`;
  const s = Math.round(ms / 100) / 10;
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
}

// ---- deterministic hashed bag-of-words embeddings ----------------------------------------------

const wordCache = new Map<string, Float32Array>();

/**
 * Sum of one pseudo-random unit vector per lowercase word, L2-normalised. A word's vector for `dims`
 * is the prefix of its longer vectors, so `dimensions` behaves like the API's truncate-and-renormalise.
 */
export function embedText(text: string, dims: number): Float32Array {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [text];
  const sum = new Float32Array(dims);
  for (const word of words) {
    const key = `${dims}:${word}`;
    let v = wordCache.get(key);
    if (!v) {
      const next = mulberry32(fnv1a(word));
      v = normalise(Float32Array.from({ length: dims }, () => next() * 2 - 1));
      if (wordCache.size >= 2000) wordCache.clear();
      wordCache.set(key, v);
    }
    for (let i = 0; i < dims; i++) sum[i]! += v[i]!;
  }
  return normalise(sum);
}

function normalise(v: Float32Array): Float32Array {
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => x / norm);
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

// ---- helpers -----------------------------------------------------------------------------------

/** Special-token text such as `<|endoftext|>` counts as plain text. */
const countTokens = (text: string): number => encode(text, { disallowedSpecial: new Set() }).length;

/** Little-endian float32s, base64-encoded, as the API sends them. */
function toBase64(v: Float32Array): string {
  const buf = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => buf.writeFloatLE(x, i * 4));
  return buf.toString('base64');
}

/** Like OpenAI, long keys show only their first and last characters; short ones are echoed as sent. */
const maskKey = (key: string): string =>
  key.length > 12 ? `${key.slice(0, 6)}${'*'.repeat(key.length - 10)}${key.slice(-4)}` : key;

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
