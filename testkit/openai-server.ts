/**
 * A local OpenAI-compatible HTTP server for tests and benchmarks: the Embeddings, Files and Batch APIs
 * with the real API's bearer auth, validation messages, response shapes and x-ratelimit-* headers, plus
 * injectable faults (status codes, hung and reset connections, a seeded random fault rate, poisoned
 * inputs). Embeddings are a deterministic hashed bag-of-words, so texts that share words are closer
 * than texts that do not.
 *
 * It runs in the process of the test or benchmark that starts it, so it must stay cheap: a benchmark
 * measures the client, never this server (see the embeddings section at the end).
 *
 * To extend: add endpoints to `routes` and fault kinds to `FaultKind` / `faultOutcome`.
 */

import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { endianness } from 'node:os';
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

// ---- faults ----------------------------------------------------------------------------------

/** How an injected fault shows: an HTTP status, or a connection that never answers or is reset. */
export type FaultKind = '429' | '500' | '503' | 'reset' | 'hang';

interface FaultScope {
  /**
   * Only requests to this route, written as in `counters.byRoute`: `POST /v1/embeddings`,
   * `POST /v1/batches`, `GET /v1/batches/:id`… Default: any authenticated request.
   */
  route?: string;
  /**
   * `before` (default): the request fails before it is handled. `after`: it is handled (a file
   * stored, a batch created…) and then its answer is lost — the case where a blind retry duplicates work.
   */
  phase?: 'before' | 'after';
}

/** The next `count` matching authenticated requests answer `status`; 429 + code `insufficient_quota` is a quota error. */
export interface StatusFault extends FaultScope {
  /** Optional: objects without `kind` are status faults. */
  kind?: 'status';
  status: 429 | 500 | 503;
  count: number;
  retryAfterMs?: number;
  code?: string;
}

/**
 * `hang`: the next `count` matching requests are read and never answered; the socket stays open
 * until the client gives up or the server closes. `reset`: the connection is reset (TCP RST) after
 * the body is read, without an answer.
 */
export interface ConnectionFault extends FaultScope {
  kind: 'hang' | 'reset';
  count: number;
}

export type Fault = StatusFault | ConnectionFault;

/** A share of requests fails with a kind drawn by a seeded PRNG: the same seed gives the same sequence. */
export interface FaultRate {
  /** 0…1, the share of matching requests that fail. */
  rate: number;
  /** Default 1. */
  seed?: number;
  /** Default `['429', '500', '503', 'reset']`: `hang` only when asked, since it stalls clients without timeouts. */
  kinds?: FaultKind[];
  /** Routes it applies to (see `FaultScope.route`); default `['POST /v1/embeddings']`. */
  routes?: string[];
}

// ---- files and batches -----------------------------------------------------------------------

export interface FileObject {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
  status: 'processed';
}

export type BatchStatus = 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

/** An entry of `batch.errors.data`: why validation failed, with the 1-based input line when there is one. */
export interface BatchError {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

/** The Batch object, with every field the real API sends (null until it applies). */
export interface BatchObject {
  id: string;
  object: 'batch';
  endpoint: string;
  model: string | null;
  errors: { object: 'list'; data: BatchError[] } | null;
  input_file_id: string;
  completion_window: string;
  status: BatchStatus;
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: number;
  in_progress_at: number | null;
  expires_at: number;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  request_counts: { total: number; completed: number; failed: number };
  usage: {
    input_tokens: number;
    input_tokens_details: { cached_tokens: number };
    output_tokens: number;
    output_tokens_details: { reasoning_tokens: number };
    total_tokens: number;
  } | null;
  metadata: Record<string, string> | null;
}

/**
 * How a batch that passed validation ends. `fail`: it fails as when the organisation's enqueued-token
 * limit is reached (`token_limit_exceeded`). `expire`: the first `afterLines` lines (default 0) are
 * answered, the rest land in the error file as `batch_expired`, and the batch is `expired`.
 */
export type BatchOutcome = 'complete' | 'fail' | 'expire' | { kind: 'expire'; afterLines: number };

// ---- server ----------------------------------------------------------------------------------

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
  /** Random faults (also `setFaultRate`). */
  faultRate?: FaultRate;
  /**
   * Embedding requests (sync or batch lines) with an input containing this marker answer 400
   * `'$.input' is invalid`: the whole request fails, so a client must bisect to find the culprit.
   */
  poison?: string;
  /** Time each asynchronous batch step takes (validating → in_progress, finalizing, cancelling); default 50 ms. */
  batchDelayMs?: number;
  /** Batches stop at `in_progress` until `releaseBatches()` (also `setHoldBatches`). */
  holdBatches?: boolean;
  /** Default `complete`; a function decides per batch (also `setBatchOutcome`). */
  batchOutcome?: BatchOutcome | ((batch: Readonly<BatchObject>) => BatchOutcome);
  /**
   * Order of the lines in output and error files. The real API does not keep input order, so the
   * default `shuffled` (deterministic) makes clients match lines by `custom_id`.
   */
  batchOutputOrder?: 'input' | 'shuffled';
  /** Enqueued-token limit per model, over the batches in progress or finalizing; unlimited by default. */
  batchTokenLimit?: number;
}

export interface OpenAIServerCounters {
  /** Every HTTP request received, failed ones included. */
  requests: number;
  /** Inputs embedded in successful synchronous responses, and their tokens (batch lines not included). */
  inputs: number;
  tokens: number;
  inFlight: number;
  maxInFlight: number;
  /**
   * Milliseconds with at least one request in flight (arrival to response closed), over the server's
   * life: the time a client spent on the API, overlapped requests counted once. A benchmark's wall
   * time minus this is the client's own share.
   */
  busyMs: number;
  /** Injected faults by kind, scripted and random (the rate limiter's own 429s are not faults). */
  faults: Record<FaultKind, number>;
  /** Every HTTP request by route, e.g. `POST /v1/batches`, `GET /v1/batches/:id` (unknown paths as sent). */
  byRoute: Record<string, number>;
  /** Files uploaded by clients (output files written by batches not included). */
  filesUploaded: number;
  /** Batches accepted by `POST /v1/batches`. */
  batchesCreated: number;
  /** Inputs embedded in successful batch lines, and their tokens. */
  batchInputs: number;
  batchTokens: number;
}

export interface OpenAIServer {
  /** Base URL including `/v1`, e.g. http://127.0.0.1:PORT/v1 */
  url: string;
  counters: OpenAIServerCounters;
  /** The last 100 authenticated requests with their parsed JSON bodies (undefined for multipart uploads). */
  log: Array<{ method: string; path: string; body: unknown }>;
  /** Replaces the scripted faults; each matching request consumes the first fault whose `route` matches. */
  setFaults(faults: Fault[]): void;
  /** Replaces the random fault rate and restarts its PRNG from the seed; undefined turns it off. */
  setFaultRate(faultRate: FaultRate | undefined): void;
  setPoison(marker: string | undefined): void;
  /** While true, new batches stop at `in_progress`; false releases the held ones too. */
  setHoldBatches(hold: boolean): void;
  /** Lets the batches currently held run; later ones are held again while `holdBatches` is on. */
  releaseBatches(): void;
  setBatchOutcome(outcome: OpenAIServerOptions['batchOutcome']): void;
  /** Stops batch processing, drops hung requests and closes every connection. */
  close(): Promise<void>;
}

export const LIMITS = { inputs: 2048, inputTokens: 8192, requestTokens: 300_000 } as const;
/** Batch API limits: requests per batch, embedding inputs across a batch, input file size. */
export const BATCH_LIMITS = { lines: 50_000, inputs: 50_000, fileBytes: 200 * 1024 * 1024 } as const;
const DOCS = 'Please check the API reference: https://platform.openai.com/docs/api-reference.';
const FILE_PURPOSES = ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'];

type HeaderMap = Record<string, string>;
interface Reply {
  status?: number;
  /** Sent as JSON unless `raw` is set. */
  body?: unknown;
  raw?: Buffer;
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

/** Thrown to answer nothing: the connection hangs or is reset. */
class Dropped extends Error {
  constructor(readonly kind: 'hang' | 'reset') {
    super(kind);
  }
}

const bugError = (err: unknown) => new ApiError(500, `test server bug: ${String(err)}`, { type: 'server_error' });
const missing = (param: string) => new ApiError(400, `Missing required parameter: '${param}'.`, { code: 'missing_required_parameter', param });

interface StoredFile {
  file: FileObject;
  content: Buffer;
}

interface BatchLine {
  line: number;
  customId: string;
  body: unknown;
}

interface BatchRecord {
  batch: BatchObject;
  /** Creation order: `created_at` has one-second resolution, lists need a total order. */
  seq: number;
  lines: BatchLine[];
  /** Lines answered so far, and their JSONL results. */
  next: number;
  outputLines: string[];
  errorLines: string[];
  outcome: BatchOutcome;
  /** Tokens this batch holds against `batchTokenLimit`. */
  tokens: number;
  held: boolean;
}

/** Everything routes share; setters write to `opts`, so changes apply to the next request. */
interface State {
  opts: OpenAIServerOptions;
  models: Record<string, ServerModel>;
  limits: RateLimits;
  counters: OpenAIServerCounters;
  files: Map<string, StoredFile>;
  batches: Map<string, BatchRecord>;
  timers: Timers;
  batchSeq: number;
}

interface Context {
  body: unknown;
  raw: Buffer;
  contentType: string;
  params: Record<string, string>;
  query: URLSearchParams;
  state: State;
}

type Handler = (ctx: Context) => Reply | Promise<Reply>;

/** [method, path pattern, handler]; `:name` segments become `ctx.params.name`. */
const routes: Array<[string, string, Handler]> = [
  ['POST', '/v1/embeddings', ({ body, state }) => embeddings(body, state, 'sync')],
  ['POST', '/v1/files', uploadFile],
  ['GET', '/v1/files', listFiles],
  ['GET', '/v1/files/:id', ({ params, state }) => ({ body: findFile(state, params.id!).file })],
  ['GET', '/v1/files/:id/content', getFileContent],
  ['DELETE', '/v1/files/:id', deleteFile],
  ['POST', '/v1/batches', createBatch],
  ['GET', '/v1/batches', listBatches],
  ['GET', '/v1/batches/:id', ({ params, state }) => ({ body: findBatch(state, params.id!).batch })],
  ['POST', '/v1/batches/:id/cancel', cancelBatch],
];

/** The route for a request; unknown paths keep their literal path as key (and no handler). */
function matchRoute(method: string, path: string): { key: string; handler?: Handler; params: Record<string, string> } {
  const parts = path.split('/');
  for (const [m, pattern, handler] of routes) {
    const want = pattern.split('/');
    if (m !== method || want.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const ok = want.every((segment, i) => {
      const part = parts[i]!;
      if (!segment.startsWith(':')) return segment === part;
      params[segment.slice(1)] = safeDecode(part);
      return part !== '';
    });
    if (ok) return { key: `${method} ${pattern}`, handler, params };
  }
  return { key: `${method} ${path}`, params: {} };
}

/** A malformed escape must answer 404, not throw in the request listener and crash the test process. */
function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** Run `fn` against a fresh server, closed afterwards whatever happens. */
export async function withOpenAIServer(opts: OpenAIServerOptions, fn: (server: OpenAIServer) => Promise<void>): Promise<void> {
  const server = await startOpenAIServer(opts);
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

export async function startOpenAIServer(options: OpenAIServerOptions = {}): Promise<OpenAIServer> {
  const opts = { ...options };
  const apiKey = opts.apiKey ?? 'sk-test';
  const counters: OpenAIServerCounters = {
    requests: 0,
    inputs: 0,
    tokens: 0,
    inFlight: 0,
    maxInFlight: 0,
    busyMs: 0,
    faults: { '429': 0, '500': 0, '503': 0, reset: 0, hang: 0 },
    byRoute: {},
    filesUploaded: 0,
    batchesCreated: 0,
    batchInputs: 0,
    batchTokens: 0,
  };
  const log: OpenAIServer['log'] = [];
  const state: State = {
    opts,
    models: { ...SERVER_MODELS, ...opts.models },
    limits: new RateLimits(opts.requestsPerMinute ?? 10_000, opts.tokensPerMinute ?? 10_000_000),
    counters,
    files: new Map(),
    batches: new Map(),
    timers: new Timers(),
    batchSeq: 0,
  };
  let faults: Fault[] = [];
  let random = opts.faultRate ? new RandomFaults(opts.faultRate) : undefined;
  const hanging = new Set<http.ServerResponse>();

  /** The first scripted fault for this route, else maybe a random one; counted when taken. */
  function takeFault(route: string): Fault | undefined {
    const i = faults.findIndex((f) => f.route === undefined || f.route === route);
    const fault = i >= 0 ? faults[i] : random?.take(route);
    if (!fault) return undefined;
    if (i >= 0 && --fault.count <= 0) faults.splice(i, 1);
    counters.faults[faultKind(fault)]++;
    return fault;
  }

  async function handle(req: http.IncomingMessage, route: ReturnType<typeof matchRoute>, headers: HeaderMap): Promise<Reply> {
    const raw = await readBody(req);
    if (opts.latencyMs) await sleep(opts.latencyMs);
    const auth = req.headers.authorization;
    if (!auth?.startsWith('Bearer ')) {
      throw new ApiError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization " +
          'header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).',
      );
    }
    const key = auth.slice('Bearer '.length);
    if (key !== apiKey) {
      throw new ApiError(401, `Incorrect API key provided: ${maskKey(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`, {
        code: 'invalid_api_key',
      });
    }
    Object.assign(headers, state.limits.headers());
    const fault = takeFault(route.key);
    if (fault && fault.phase !== 'after') throw faultOutcome(fault);
    const contentType = req.headers['content-type'] ?? '';
    let body: unknown;
    if (!contentType.startsWith('multipart/form-data')) {
      try {
        body = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
      } catch {
        throw new ApiError(400, 'We could not parse the JSON body of your request. The API expects a JSON payload.');
      }
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    log.push({ method: req.method ?? '', path: url.pathname, body });
    if (log.length > 100) log.shift();
    if (!route.handler) throw new ApiError(404, `Invalid URL (${req.method} ${url.pathname})`);
    const reply = await route.handler({ body, raw, contentType, params: route.params, query: url.searchParams, state });
    if (fault) throw faultOutcome(fault);
    Object.assign(headers, state.limits.headers());
    return reply;
  }

  /** Hung requests stay open until the client leaves or `close()`; reset ones end with a TCP RST. */
  function drop(res: http.ServerResponse, kind: Dropped['kind']): void {
    if (kind === 'reset') {
      res.socket?.resetAndDestroy();
      return;
    }
    hanging.add(res);
    res.once('close', () => hanging.delete(res));
  }

  let busySince = 0;
  const server = http.createServer((req, res) => {
    counters.requests++;
    if (counters.inFlight === 0) busySince = performance.now();
    counters.maxInFlight = Math.max(counters.maxInFlight, ++counters.inFlight);
    res.once('close', () => {
      if (--counters.inFlight === 0) counters.busyMs += performance.now() - busySince;
    });
    const route = matchRoute(req.method ?? '', new URL(req.url ?? '/', 'http://localhost').pathname);
    counters.byRoute[route.key] = (counters.byRoute[route.key] ?? 0) + 1;
    const headers: HeaderMap = { 'x-request-id': requestId() };
    void handle(req, route, headers)
      .catch((err: unknown): Reply | Dropped => {
        if (err instanceof Dropped) return err;
        return (err instanceof ApiError ? err : bugError(err)).reply();
      })
      .then((reply) => {
        if (reply instanceof Dropped) return drop(res, reply.kind);
        if (res.destroyed) return; // the client gave up, or close() ran
        const type = reply.raw ? 'application/octet-stream' : 'application/json';
        res.writeHead(reply.status ?? 200, { ...headers, ...reply.headers, 'content-type': type });
        res.end(reply.raw ?? JSON.stringify(reply.body));
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
    setFaultRate: (next) => {
      random = next ? new RandomFaults(next) : undefined; // throws on a bad rate before changing anything
      opts.faultRate = next;
    },
    setPoison: (marker) => {
      opts.poison = marker;
    },
    setHoldBatches: (hold) => {
      opts.holdBatches = hold;
      if (!hold) releaseHeld(state);
    },
    releaseBatches: () => releaseHeld(state),
    setBatchOutcome: (outcome) => {
      opts.batchOutcome = outcome;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        state.timers.close();
        server.close((err) => (err ? reject(err) : resolve()));
        for (const res of hanging) res.socket?.destroy();
        server.closeAllConnections(); // the SDK keeps connections alive
      }),
  };
}

const isConnectionFault = (f: Fault): f is ConnectionFault => f.kind === 'hang' || f.kind === 'reset';
const faultKind = (f: Fault): FaultKind => (isConnectionFault(f) ? f.kind : `${f.status}`);

function faultOutcome(f: Fault): Error {
  return isConnectionFault(f) ? new Dropped(f.kind) : faultError(f);
}

function faultError({ status, code, retryAfterMs }: StatusFault): ApiError {
  const headers: HeaderMap = {};
  if (retryAfterMs !== undefined) {
    headers['retry-after-ms'] = String(retryAfterMs);
    headers['retry-after'] = String(Math.ceil(retryAfterMs / 1000));
  }
  if (status === 429 && code === 'insufficient_quota') {
    return new ApiError(
      429,
      'You exceeded your current quota, please check your plan and billing details. For more ' +
        'information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
      {
        type: 'insufficient_quota',
        code,
        headers,
      },
    );
  }
  if (status === 429) {
    return new ApiError(429, 'Rate limit reached for requests. Please try again later.', {
      type: 'requests',
      code: code ?? 'rate_limit_exceeded',
      headers,
    });
  }
  const message =
    status === 503 ? 'The engine is currently overloaded, please try again later.' : 'The server had an error while processing your request. Sorry about that!';
  return new ApiError(status, message, { type: 'server_error', code: code ?? null, headers });
}

/** Draws faults for `FaultRate`: one draw decides whether a request fails, another which kind. */
class RandomFaults {
  private readonly next: () => number;
  private readonly kinds: FaultKind[];
  private readonly routes: string[];
  constructor(private readonly config: FaultRate) {
    if (!(config.rate >= 0 && config.rate <= 1)) throw new RangeError(`faultRate.rate must be in [0, 1], got ${config.rate}`);
    this.next = mulberry32(config.seed ?? 1);
    this.kinds = config.kinds?.length ? config.kinds : ['429', '500', '503', 'reset'];
    this.routes = config.routes ?? ['POST /v1/embeddings'];
  }
  take(route: string): Fault | undefined {
    if (!this.routes.includes(route) || this.next() >= this.config.rate) return undefined;
    const kind = this.kinds[Math.floor(this.next() * this.kinds.length)]!;
    if (kind === 'hang' || kind === 'reset') return { kind, count: 1 };
    // Like the API's rate limiter: a short retry-after-ms.
    const retryAfterMs = kind === '429' ? 20 + Math.floor(this.next() * 181) : undefined;
    return { status: Number(kind) as StatusFault['status'], count: 1, retryAfterMs };
  }
}

// ---- embeddings ------------------------------------------------------------------------------

/**
 * POST /v1/embeddings, also run for each batch line. Batch lines (`mode: 'batch'`) skip the rate
 * limiter, as the Batch API has its own quota, and count in `batchInputs`/`batchTokens`.
 */
function embeddings(body: unknown, { opts, models, limits, counters }: State, mode: 'sync' | 'batch'): Reply {
  const req = (body ?? {}) as Record<string, unknown>;
  if (typeof req.model !== 'string') throw new ApiError(400, 'you must provide a model parameter');
  const inputs = parseInput(req.input);
  if (!inputs) throw new ApiError(400, `'$.input' is invalid. ${DOCS}`);
  const texts = inputs.map((x) => (typeof x === 'string' ? x : decode(x)));
  const poison = opts.poison;
  if (poison && texts.some((t) => t.includes(poison))) throw new ApiError(400, `'$.input' is invalid. ${DOCS}`);
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
      throw new ApiError(400, `Invalid 'dimensions': integer ${side.replace('_', 'imum ')} value. ` + `Expected a value ${bound}, but got ${d} instead.`, {
        code: `integer_${side}_value`,
        param: 'dimensions',
      });
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
  if (mode === 'sync') limits.take(total, req.model);

  const vectors = embedTexts(texts, dims);
  const data = texts.map((_, index) => {
    const v = vectors.subarray(index * dims, (index + 1) * dims);
    return { object: 'embedding', index, embedding: format === 'base64' ? toBase64(v) : Array.from(v) };
  });
  if (opts.reverseData) data.reverse();
  if (mode === 'sync') {
    counters.inputs += inputs.length;
    counters.tokens += total;
  } else {
    counters.batchInputs += inputs.length;
    counters.batchTokens += total;
  }
  return {
    body: { object: 'list', data, model: req.model, usage: { prompt_tokens: total, total_tokens: total } },
    headers: { 'openai-model': req.model },
  };
}

/** string | string[] | number[] | number[][] → inputs; undefined where the API answers '$.input' is invalid. */
function parseInput(input: unknown): Array<string | number[]> | undefined {
  const isTokens = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every((t) => Number.isInteger(t) && t >= 0);
  const list: unknown[] | undefined = typeof input === 'string' || isTokens(input) ? [input] : Array.isArray(input) ? input : undefined;
  if (!list || list.length === 0 || list.length > LIMITS.inputs) return undefined;
  const ok = list.every((x) => (typeof x === 'string' && x.length > 0) || isTokens(x));
  return ok ? (list as Array<string | number[]>) : undefined;
}

/** Continuously refilling per-minute budgets, reported like OpenAI's x-ratelimit-* headers. */
class RateLimits {
  private left: { requests: number; tokens: number };
  private at = Date.now();
  constructor(
    private readonly rpm: number,
    private readonly tpm: number,
  ) {
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
    const [kind, unit, limit, need] = this.left.requests < 1 ? (['requests', 'RPM', this.rpm, 1] as const) : (['tokens', 'TPM', this.tpm, tokens] as const);
    const have = this.left[kind];
    if (have < need) {
      const waitMs = Math.ceil(((need - have) * 60_000) / limit);
      throw new ApiError(
        429,
        `Rate limit reached for ${model} in organization org-test on ${kind} per min ` +
          `(${unit}): Limit ${limit}, Used ${Math.floor(limit - have)}, Requested ${need}. Please try again in ` +
          `${duration(waitMs)}. Visit https://platform.openai.com/account/rate-limits to learn more.`,
        {
          type: kind,
          code: 'rate_limit_exceeded',
          headers: { 'retry-after-ms': String(waitMs), 'retry-after': String(Math.ceil(waitMs / 1000)) },
        },
      );
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

// ---- files -----------------------------------------------------------------------------------

/** POST /v1/files: multipart `purpose` + `file`, parsed by the web platform's own FormData parser. */
async function uploadFile({ raw, contentType, state }: Context): Promise<Reply> {
  if (!contentType.startsWith('multipart/form-data')) {
    throw new ApiError(400, `Invalid Content-Type header (${contentType || 'none'}), expected multipart/form-data.`);
  }
  let form: FormData;
  try {
    form = await new Request('http://localhost/', { method: 'POST', headers: { 'content-type': contentType }, body: raw }).formData();
  } catch {
    throw new ApiError(400, 'Could not parse the multipart form data of the request.');
  }
  const purpose = form.get('purpose');
  if (typeof purpose !== 'string' || !purpose) throw missing('purpose');
  if (!FILE_PURPOSES.includes(purpose)) {
    throw new ApiError(400, `'${purpose}' is not one of ${JSON.stringify(FILE_PURPOSES).replaceAll('"', "'")} - 'purpose'`, {
      param: 'purpose',
    });
  }
  const upload = form.get('file');
  if (!(upload instanceof Blob)) throw missing('file');
  const filename = 'name' in upload && typeof upload.name === 'string' ? upload.name : 'upload';
  if (purpose === 'batch' && !filename.endsWith('.jsonl')) {
    throw new ApiError(400, 'Invalid file format for Batch API. Must be .jsonl', { param: 'file' });
  }
  if (purpose === 'batch' && upload.size > BATCH_LIMITS.fileBytes) {
    throw new ApiError(400, `File is too large: ${upload.size} bytes; the Batch API accepts up to ` + `${BATCH_LIMITS.fileBytes} bytes.`, { param: 'file' });
  }
  const stored = storeFile(state, filename, purpose, Buffer.from(await upload.arrayBuffer()));
  state.counters.filesUploaded++;
  return { body: stored.file };
}

function storeFile(state: State, filename: string, purpose: string, content: Buffer): StoredFile {
  const file: FileObject = {
    id: `file-${randomBytes(16).toString('base64url').replace(/[-_]/g, '').slice(0, 22)}`,
    object: 'file',
    bytes: content.length,
    created_at: now(),
    filename,
    purpose,
    status: 'processed',
  };
  const stored = { file, content };
  state.files.set(file.id, stored);
  return stored;
}

function findFile(state: State, id: string): StoredFile {
  const stored = state.files.get(id);
  if (!stored) throw new ApiError(404, `No such File object: ${id}`, { param: 'id' });
  return stored;
}

function getFileContent({ params, state }: Context): Reply {
  return { raw: findFile(state, params.id!).content };
}

function deleteFile({ params, state }: Context): Reply {
  const { file } = findFile(state, params.id!);
  state.files.delete(file.id);
  return { body: { id: file.id, object: 'file', deleted: true } };
}

function listFiles({ query, state }: Context): Reply {
  const purpose = query.get('purpose');
  const files = [...state.files.values()].map((s) => s.file).filter((f) => !purpose || f.purpose === purpose);
  const order = query.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw new ApiError(400, `Invalid 'order': expected 'asc' or 'desc'.`, { param: 'order' });
  return { body: listPage(order === 'desc' ? files.reverse() : files, query, { default: 10_000, max: 10_000 }) };
}

/** A cursor page as the API sends them: `after` is the id of the last item of the previous page. */
function listPage<T extends { id: string }>(items: T[], query: URLSearchParams, limits: { default: number; max: number }): unknown {
  const limitParam = query.get('limit');
  const limit = limitParam === null ? limits.default : Number(limitParam);
  if (!Number.isInteger(limit) || limit < 1 || limit > limits.max) {
    throw new ApiError(400, `Invalid 'limit': expected an integer between 1 and ${limits.max}, got ${limitParam}.`, {
      param: 'limit',
    });
  }
  const after = query.get('after');
  let start = 0;
  if (after) {
    start = items.findIndex((x) => x.id === after) + 1;
    if (start === 0) throw new ApiError(400, `Invalid 'after': no object with id '${after}'.`, { param: 'after' });
  }
  const data = items.slice(start, start + limit);
  return {
    object: 'list',
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: start + limit < items.length,
  };
}

// ---- batches ---------------------------------------------------------------------------------

/**
 * POST /v1/batches: the request itself is checked at once; the input file only later, while the
 * batch is `validating`, so a bad file makes a batch that fails (as the real API does), not a 400.
 */
function createBatch({ body, state }: Context): Reply {
  const req = (body ?? {}) as Record<string, unknown>;
  if (typeof req.input_file_id !== 'string' || !req.input_file_id) throw missing('input_file_id');
  if (req.endpoint === undefined) throw missing('endpoint');
  if (req.endpoint !== '/v1/embeddings') {
    throw new ApiError(
      400,
      `Invalid value: '${String(req.endpoint)}'. Supported values are: '/v1/embeddings' (this test server implements only embeddings batches).`,
      { param: 'endpoint', code: 'invalid_value' },
    );
  }
  if (req.completion_window === undefined) throw missing('completion_window');
  if (req.completion_window !== '24h') {
    throw new ApiError(400, `Invalid value: '${String(req.completion_window)}'. Supported values are: '24h'.`, {
      param: 'completion_window',
      code: 'invalid_value',
    });
  }
  const metadata = parseMetadata(req.metadata);
  const { file } = findFile(state, req.input_file_id);
  if (file.purpose !== 'batch') {
    throw new ApiError(400, `File ${file.id} has purpose '${file.purpose}'; batches need a file with purpose 'batch'.`, {
      param: 'input_file_id',
    });
  }
  const created = now();
  const batch: BatchObject = {
    id: `batch_${randomBytes(16).toString('hex')}`,
    object: 'batch',
    endpoint: req.endpoint,
    model: null,
    errors: null,
    input_file_id: file.id,
    completion_window: '24h',
    status: 'validating',
    output_file_id: null,
    error_file_id: null,
    created_at: created,
    in_progress_at: null,
    expires_at: created + 24 * 3600,
    finalizing_at: null,
    completed_at: null,
    failed_at: null,
    expired_at: null,
    cancelling_at: null,
    cancelled_at: null,
    request_counts: { total: 0, completed: 0, failed: 0 },
    usage: null,
    metadata,
  };
  const rec: BatchRecord = {
    batch,
    seq: state.batchSeq++,
    lines: [],
    next: 0,
    outputLines: [],
    errorLines: [],
    outcome: 'complete',
    tokens: 0,
    held: false,
  };
  state.batches.set(batch.id, rec);
  state.counters.batchesCreated++;
  state.timers.after(batchDelay(state), () => validateBatch(rec, state));
  return { body: { ...batch } };
}

/** Up to 16 string pairs, keys ≤ 64 and values ≤ 512 characters. */
function parseMetadata(metadata: unknown): Record<string, string> | null {
  if (metadata === undefined || metadata === null) return null;
  const ok =
    typeof metadata === 'object' &&
    !Array.isArray(metadata) &&
    Object.keys(metadata).length <= 16 &&
    Object.entries(metadata).every(([k, v]) => k.length <= 64 && typeof v === 'string' && v.length <= 512);
  if (!ok) {
    throw new ApiError(400, "Invalid 'metadata': expected up to 16 string values, keys of at most 64 and values of " + 'at most 512 characters.', {
      param: 'metadata',
    });
  }
  return { ...(metadata as Record<string, string>) };
}

function findBatch(state: State, id: string): BatchRecord {
  const rec = state.batches.get(id);
  if (!rec) throw new ApiError(404, `No batch found with id '${id}'.`, { param: 'batch_id' });
  return rec;
}

function listBatches({ query, state }: Context): Reply {
  const newestFirst = [...state.batches.values()].sort((a, b) => b.seq - a.seq).map((r) => r.batch);
  return { body: listPage(newestFirst, query, { default: 20, max: 100 }) };
}

/**
 * Validating and in-progress batches go `cancelling`, then `cancelled` with the lines answered so
 * far in the output and error files; cancelling twice is harmless; finished batches answer 400.
 */
function cancelBatch({ params, state }: Context): Reply {
  const rec = findBatch(state, params.id!);
  const { batch } = rec;
  if (batch.status === 'validating' || batch.status === 'in_progress') {
    batch.status = 'cancelling';
    batch.cancelling_at = now();
    rec.held = false;
    state.timers.after(batchDelay(state), () => {
      writeBatchFiles(rec, state);
      finish(batch, 'cancelled');
    });
  } else if (batch.status !== 'cancelling' && batch.status !== 'cancelled') {
    throw new ApiError(400, `Cannot cancel a batch with status '${batch.status}'.`);
  }
  return { body: { ...batch } };
}

const batchDelay = (state: State) => state.opts.batchDelayMs ?? 50;
const now = () => Math.floor(Date.now() / 1000);

/** `validating` → `failed` with `errors.data`, or → `in_progress` (held there or processed). */
function validateBatch(rec: BatchRecord, state: State): void {
  const { batch } = rec;
  if (batch.status !== 'validating') return; // cancelled meanwhile
  const input = state.files.get(batch.input_file_id);
  if (!input) {
    failBatch(batch, [batchError('file_not_found', `No such File object: ${batch.input_file_id}`)]);
    return;
  }
  const { lines, errors, model } = parseBatchFile(input.content, batch.endpoint);
  if (errors.length) {
    failBatch(batch, errors);
    return;
  }
  rec.lines = lines;
  batch.model = model;
  const outcome = state.opts.batchOutcome;
  rec.outcome = (typeof outcome === 'function' ? outcome({ ...batch }) : outcome) ?? 'complete';
  const limit = state.opts.batchTokenLimit;
  if (limit !== undefined) {
    rec.tokens = lines.reduce((n, l) => n + lineTokens(l.body), 0);
    const enqueued = [...state.batches.values()]
      .filter((r) => r !== rec && r.batch.model === model && ['in_progress', 'finalizing'].includes(r.batch.status))
      .reduce((n, r) => n + r.tokens, rec.tokens);
    if (enqueued > limit) {
      failBatch(batch, [tokenLimitError(model, limit)]);
      return;
    }
  }
  if (rec.outcome === 'fail') {
    failBatch(batch, [tokenLimitError(model, limit)]);
    return;
  }
  batch.status = 'in_progress';
  batch.in_progress_at = now();
  batch.request_counts.total = lines.length;
  batch.usage = {
    input_tokens: 0,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: 0,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 0,
  };
  if (state.opts.holdBatches) rec.held = true;
  else void processBatch(rec, state);
}

function releaseHeld(state: State): void {
  for (const rec of state.batches.values()) {
    if (!rec.held) continue;
    rec.held = false;
    if (rec.batch.status === 'in_progress') void processBatch(rec, state);
  }
}

const batchError = (code: string, message: string, line: number | null = null, param: string | null = null): BatchError => ({ code, message, param, line });

const tokenLimitError = (model: string, limit: number | undefined) =>
  batchError(
    'token_limit_exceeded',
    `Enqueued token limit reached for ${model} in organization org-test.${
      limit === undefined ? '' : ` Limit: ${limit.toLocaleString('en-US')} enqueued tokens.`
    } Please try again once some in_progress batches have been completed.`,
  );

function failBatch(batch: BatchObject, errors: BatchError[]): void {
  batch.errors = { object: 'list', data: errors };
  finish(batch, 'failed');
}

/** Sets the final status and its `<status>_at` timestamp. */
function finish(batch: BatchObject, status: 'failed' | 'completed' | 'expired' | 'cancelled'): void {
  batch.status = status;
  batch[`${status}_at`] = now();
}

/**
 * The real API's checks of a batch input file: every line JSON with a unique `custom_id`, `method`
 * POST, `url` equal to the batch endpoint and a `body`, one model for the whole file, at most
 * 50,000 lines and (for embeddings) 50,000 inputs in all.
 */
function parseBatchFile(content: Buffer, endpoint: string): { lines: BatchLine[]; errors: BatchError[]; model: string } {
  const text = content.toString('utf8');
  const rawLines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (rawLines.at(-1) === '') rawLines.pop();
  if (!text.trim()) return { lines: [], errors: [batchError('empty_file', 'The batch input file is empty.')], model: '' };
  if (rawLines.length > BATCH_LIMITS.lines) {
    const message = `The batch input file has ${rawLines.length} requests; a batch may contain at most ` + `${BATCH_LIMITS.lines} requests.`;
    return { lines: [], errors: [batchError('too_many_tasks', message)], model: '' };
  }
  const lines: BatchLine[] = [];
  const errors: BatchError[] = [];
  const seen = new Set<string>();
  let model: string | undefined;
  let inputs = 0;
  for (const [i, rawLine] of rawLines.entries()) {
    const line = i + 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawLine);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      errors.push(batchError('invalid_json_line', 'This line is not parseable as valid JSON.', line));
      continue;
    }
    const { custom_id: customId, method, url, body } = parsed as Record<string, unknown>;
    if (typeof customId !== 'string' || !customId) {
      errors.push(batchError('missing_required_parameter', "Missing required parameter: 'custom_id'.", line, 'custom_id'));
      continue;
    }
    if (seen.has(customId)) {
      errors.push(
        batchError(
          'duplicate_custom_id',
          'The custom_id for this request is a duplicate of another ' +
            'request. The custom_id parameter must be unique for each individual request in a batch.',
          line,
          'custom_id',
        ),
      );
      continue;
    }
    seen.add(customId);
    if (method !== 'POST') {
      errors.push(batchError('invalid_method', `Invalid method '${String(method)}' for this request: only POST is supported.`, line, 'method'));
      continue;
    }
    if (url !== endpoint) {
      errors.push(batchError('url_mismatch', `The URL '${String(url)}' of this request does not match the batch ` + `endpoint '${endpoint}'.`, line, 'url'));
      continue;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      errors.push(batchError('missing_required_parameter', "Missing required parameter: 'body'.", line, 'body'));
      continue;
    }
    const lineModel = (body as Record<string, unknown>).model;
    if (typeof lineModel === 'string') {
      model ??= lineModel;
      if (lineModel !== model) {
        errors.push(
          batchError(
            'model_mismatch',
            `The model '${lineModel}' of this request does not match the ` + `model '${model}' of the other requests: a batch may use only one model.`,
            line,
            'body.model',
          ),
        );
        continue;
      }
    }
    inputs += lineInputs(body);
    lines.push({ line, customId, body });
  }
  if (!errors.length && inputs > BATCH_LIMITS.inputs) {
    errors.push(
      batchError(
        'too_many_tasks',
        `The batch has ${inputs} embedding inputs; an embeddings batch may ` + `contain at most ${BATCH_LIMITS.inputs} inputs across all its requests.`,
      ),
    );
  }
  return { lines, errors, model: model ?? '' };
}

/** Inputs of an embeddings request body, as the batch limit counts them (invalid ones count as one). */
function lineInputs(body: unknown): number {
  return parseInput((body as Record<string, unknown>).input)?.length ?? 1;
}

function lineTokens(body: unknown): number {
  const inputs = parseInput((body as Record<string, unknown>).input) ?? [];
  return inputs.reduce((n, x) => n + (typeof x === 'string' ? countTokens(x) : x.length), 0);
}

/**
 * Answers the lines through the same handler as the synchronous endpoint, yielding to the event
 * loop every 20 ms so the server keeps answering (polls, cancels) during big batches.
 */
async function processBatch(rec: BatchRecord, state: State): Promise<void> {
  const { batch } = rec;
  const expire = rec.outcome === 'expire' ? { afterLines: 0 } : typeof rec.outcome === 'object' ? rec.outcome : undefined;
  const stop = Math.min(rec.lines.length, expire?.afterLines ?? Infinity);
  let slice = performance.now();
  while (rec.next < stop) {
    if (batch.status !== 'in_progress' || state.timers.closed) return; // cancelled, or the server closed
    answerLine(rec, rec.lines[rec.next]!, state);
    rec.next++;
    if (performance.now() - slice > 20) {
      await new Promise((resolve) => setImmediate(resolve));
      slice = performance.now();
    }
  }
  if (batch.status !== 'in_progress' || state.timers.closed) return;
  if (expire) {
    for (const { customId } of rec.lines.slice(rec.next)) {
      batch.request_counts.failed++;
      rec.errorLines.push(
        JSON.stringify({
          id: batchRequestId(),
          custom_id: customId,
          response: null,
          error: { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' },
        }),
      );
    }
    writeBatchFiles(rec, state);
    return finish(batch, 'expired');
  }
  batch.status = 'finalizing';
  batch.finalizing_at = now();
  state.timers.after(batchDelay(state), () => {
    writeBatchFiles(rec, state);
    finish(batch, 'completed');
  });
}

/** One output or error line, exactly as the Batch API writes them. */
function answerLine(rec: BatchRecord, { customId, body }: BatchLine, state: State): void {
  let reply: Reply;
  try {
    reply = embeddings(body, state, 'batch');
  } catch (err) {
    reply = (err instanceof ApiError ? err : bugError(err)).reply();
  }
  const status = reply.status ?? 200;
  const line = JSON.stringify({
    id: batchRequestId(),
    custom_id: customId,
    response: { status_code: status, request_id: requestId(), body: reply.body },
    error: null,
  });
  const { batch } = rec;
  if (status === 200) {
    rec.outputLines.push(line);
    batch.request_counts.completed++;
    const tokens = (reply.body as { usage: { prompt_tokens: number } }).usage.prompt_tokens;
    batch.usage!.input_tokens += tokens;
    batch.usage!.total_tokens += tokens;
  } else {
    rec.errorLines.push(line);
    batch.request_counts.failed++;
  }
}

/** Output and error files (`null` ids when empty), lines shuffled unless `batchOutputOrder: 'input'`. */
function writeBatchFiles(rec: BatchRecord, state: State): void {
  const write = (lines: string[], kind: 'output' | 'error') => {
    if (!lines.length) return null;
    const ordered = state.opts.batchOutputOrder === 'input' ? lines : shuffled(lines, rec.seq + 1);
    const content = Buffer.from(`${ordered.join('\n')}\n`);
    return storeFile(state, `${rec.batch.id}_${kind}.jsonl`, 'batch_output', content).file.id;
  };
  rec.batch.output_file_id = write(rec.outputLines, 'output');
  rec.batch.error_file_id = write(rec.errorLines, 'error');
}

function shuffled<T>(items: T[], seed: number): T[] {
  const next = mulberry32(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Batch steps' timers: cleared by `close()`, and unref'd so a forgotten server never keeps a process alive. */
class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();
  closed = false;
  after(ms: number, fn: () => void): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      if (!this.closed) fn();
    }, ms);
    timer.unref();
    this.pending.add(timer);
  }
  close(): void {
    this.closed = true;
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
  }
}

// ---- deterministic hashed bag-of-words embeddings ----------------------------------------------
//
// Speed matters here: a 2,048-input request of catalog texts at 3072-d summed ~75 word vectors of
// 3,072 floats per input, ~480 M float adds, and regenerated word vectors (a closure call per float)
// because its 2,000-word cache was smaller than a catalog's vocabulary and was cleared when full;
// with Float32Array.from/map/reduce allocations and base64 via writeFloatLE per float, that took
// ~3 s per request, 19 s of latency with five in flight. Now words are summed in a `CORE_DIMS`
// space (a ~12× smaller sum), the core is spread over the requested dims by a fixed signed
// permutation, word vectors stay in an LRU sized in floats, all texts of a request share one
// buffer, and base64 is a view on that buffer.

/** Dimensions in which word vectors are summed; longer vectors repeat these coordinates, permuted and signed. */
const CORE_DIMS = 256;
/** Word vector cache budget: 4 M floats (16 MB), 16,384 words of `CORE_DIMS`. */
const WORD_CACHE_FLOATS = 4 * 1024 * 1024;

/**
 * Word vectors: coordinates uniform in [-1, 1), drawn by mulberry32 seeded with the word's hash (so a
 * shorter vector is a prefix of a longer one). When the cache is full, the least recently used
 * quarter goes: a hit only stamps its entry, as reordering a Map on every hit costs more than the sum.
 */
class WordVectors {
  private readonly cache = new Map<string, { v: Float32Array; used: number }>();
  private floats = 0;
  private clock = 0;
  get(word: string, dims: number): Float32Array {
    const hit = this.cache.get(word);
    if (hit && hit.v.length >= dims) {
      hit.used = ++this.clock;
      return hit.v;
    }
    if (hit) this.floats -= hit.v.length;
    const v = new Float32Array(dims);
    const next = mulberry32(fnv1a(word));
    for (let i = 0; i < dims; i++) v[i] = next() * 2 - 1;
    this.cache.set(word, { v, used: ++this.clock });
    this.floats += dims;
    if (this.floats > WORD_CACHE_FLOATS) this.evict();
    return v;
  }
  private evict(): void {
    const oldest = [...this.cache].sort((a, b) => a[1].used - b[1].used);
    for (const [word, { v }] of oldest) {
      if (this.floats <= WORD_CACHE_FLOATS * 0.75) break;
      this.cache.delete(word);
      this.floats -= v.length;
    }
  }
}

const wordVectors = new WordVectors();

/**
 * Where output coordinate i takes its value: `core[source[i]] * sign[i]`. The first `CORE_DIMS`
 * coordinates are the core itself; each further block of `CORE_DIMS` is a seeded random permutation
 * of it with random signs, so at any multiple of `CORE_DIMS` the cosine of two texts is exactly
 * that of their cores. Grown on demand from a fixed seed, so a longer spread extends a shorter one.
 */
const spread = { source: new Int32Array(0), sign: new Float32Array(0) };

function spreadFor(dims: number): typeof spread {
  if (spread.source.length >= dims) return spread;
  const blocks = Math.ceil(dims / CORE_DIMS);
  const source = new Int32Array(blocks * CORE_DIMS);
  const sign = new Float32Array(blocks * CORE_DIMS);
  for (let b = 0; b < blocks; b++) {
    const next = mulberry32(0x5eed + b);
    const perm = Array.from({ length: CORE_DIMS }, (_, i) => i);
    for (let i = CORE_DIMS - 1; i > 0 && b > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [perm[i], perm[j]] = [perm[j]!, perm[i]!];
    }
    for (let i = 0; i < CORE_DIMS; i++) {
      source[b * CORE_DIMS + i] = perm[i]!;
      sign[b * CORE_DIMS + i] = b === 0 || next() < 0.5 ? 1 : -1;
    }
  }
  Object.assign(spread, { source, sign });
  return spread;
}

/**
 * Sum of one pseudo-random vector per lowercase word, spread to `dims` and L2-normalised. Texts
 * that share words are close; the vector of `dims` is the full one truncated and renormalised, as
 * the API documents for text-embedding-3's `dimensions`.
 */
export function embedText(text: string, dims: number): Float32Array {
  return embedTexts([text], dims);
}

/** `embedText` for many texts at once, into one buffer: text i is `[i * dims, (i + 1) * dims)`. */
export function embedTexts(texts: string[], dims: number): Float32Array {
  const coreDims = Math.min(dims, CORE_DIMS);
  const { source, sign } = spreadFor(dims);
  const core = new Float32Array(coreDims);
  const out = new Float32Array(texts.length * dims);
  texts.forEach((text, t) => {
    core.fill(0);
    for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [text]) addInto(core, wordVectors.get(word, coreDims));
    const v = out.subarray(t * dims, (t + 1) * dims);
    for (let i = 0; i < dims; i++) v[i] = core[source[i]!]! * sign[i]!;
    normaliseInPlace(v);
  });
  return out;
}

function addInto(sum: Float32Array, v: Float32Array): void {
  for (let i = 0; i < sum.length; i++) sum[i]! += v[i]!;
}

function normaliseInPlace(v: Float32Array): void {
  let squares = 0;
  for (let i = 0; i < v.length; i++) squares += v[i]! * v[i]!;
  const scale = 1 / (Math.sqrt(squares) || 1);
  for (let i = 0; i < v.length; i++) v[i]! *= scale;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

// ---- helpers -----------------------------------------------------------------------------------

/** Special-token text such as `<|endoftext|>` counts as plain text. */
const countTokens = (text: string): number => encode(text, { disallowedSpecial: new Set() }).length;

const LITTLE_ENDIAN = endianness() === 'LE';

/** Little-endian float32s, base64-encoded, as the API sends them: on LE machines, the memory as is. */
function toBase64(v: Float32Array): string {
  if (LITTLE_ENDIAN) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  const buf = Buffer.alloc(v.length * 4);
  for (const [i, x] of v.entries()) buf.writeFloatLE(x, i * 4);
  return buf.toString('base64');
}

const requestId = () => `req_${randomUUID().replace(/-/g, '')}`;
const batchRequestId = () => `batch_req_${randomBytes(16).toString('hex')}`;

/** Like OpenAI, long keys show only their first and last characters; short ones are echoed as sent. */
const maskKey = (key: string): string => (key.length > 12 ? `${key.slice(0, 6)}${'*'.repeat(key.length - 10)}${key.slice(-4)}` : key);

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
