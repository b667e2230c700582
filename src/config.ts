/**
 * The one config loader. Precedence, lowest first: built-in defaults < config file
 * (`--config FILE` or ITEMVEC_CONFIG, JSON) < environment variables < explicit overrides
 * (CLI flags or library callers). The merged object is validated once with zod, so every
 * consumer gets typed, checked values and a bad value fails fast with the path that is wrong.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { configFromEnv } from './config-env.js';
import { RETRIEVE_DEFAULTS } from './defaults.js';
import { ConfigError } from './errors.js';
import { NAME_PATTERN } from './names.js';
import { DEFAULT_RETRY_POLICY } from './retry.js';

/** The org used when neither the row, the flags nor the environment name one. */
export const DEFAULT_ORG_ID = '00000000-0000-0000-0000-000000000001';
export const DEFAULT_PROMPT_TEMPLATE = 'Product: {brand} {category}\nDescription: {description}';

const name = (what: string) => z.string().regex(NAME_PATTERN, `${what} must match ${NAME_PATTERN} (lowercase letters, digits, _ . -)`);

/** Weighted reciprocal rank fusion: each signal adds weight / (rrfK + rank); weight 0 leaves a signal out. */
const FusionSchema = z
  .object({
    dense: z.coerce.number().min(0).max(100),
    lexical: z.coerce.number().min(0).max(100),
    tags: z.coerce.number().min(0).max(100),
    rrfK: z.coerce.number().int().min(1).max(10_000),
  })
  .strict();

export const ConfigSchema = z.object({
  /** Where the embedded database and the default object folder live. */
  home: z.string().min(1),
  /** Embedded database: seconds to wait for another process to release it before failing with DB_LOCKED (exit 4). */
  lockWaitSeconds: z.coerce.number().min(0).max(86_400),
  /** `postgres://…` for a Postgres server with pgvector; unset → embedded PGlite under `home`. */
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'databaseUrl must start with postgres:// or postgresql://')
    .optional(),
  orgId: z.guid({ message: 'orgId must be a UUID' }),
  namespace: name('namespace'),
  version: name('version'),
  modality: z.enum(['text', 'image']),
  /** Reading the catalog. */
  catalog: z.object({
    /** A NUL, an unpaired surrogate or U+FFFD in a row's text: reject the row (default) or remove those characters (counted as cleaned). */
    invalidText: z.enum(['reject', 'clean']),
  }),
  prompt: z.object({
    template: z
      .string()
      .min(1)
      .refine(
        (t) => /\{(title|description|brand|category|tags|item_id)\}/.test(t),
        'prompt.template must use at least one of {title} {description} {brand} {category} {tags} {item_id}',
      ),
    /**
     * The Postgres text search configuration the lexical index analyses text with (`english`,
     * `simple` for no stemming, `german`…; `SELECT cfgname FROM pg_ts_config`). Fixed per version, like the template.
     */
    textSearchConfig: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'prompt.textSearchConfig must be a text search configuration name such as english or simple'),
  }),
  embed: z.object({
    provider: z.enum(['local', 'openai', 'onnx']),
    model: z.string().min(1).optional(),
    dims: z.coerce.number().int().positive().optional(),
    baseURL: z.url({ message: 'embed.baseURL must be a URL' }).optional(),
    apiKey: z.string().min(1).optional(),
    modelDir: z.string().min(1).optional(),
    concurrency: z.coerce.number().int().min(1).max(64).optional(),
    maxBatchInputs: z.coerce.number().int().min(1).optional(),
    maxBatchTokens: z.coerce.number().int().min(1).optional(),
    /** Per-attempt request timeout (a server that never answers costs this, then a retry). */
    timeoutMs: z.coerce.number().int().min(1).optional(),
    /** The retry policy (src/embed/retry.ts): retries after the first attempt, full-jitter backoff bounds. */
    maxRetries: z.coerce.number().int().min(0).max(20),
    retryBaseDelayMs: z.coerce.number().int().min(0),
    retryMaxDelayMs: z.coerce.number().int().min(0),
    /** The most tokens one item may cost: a longer prompt is dead-lettered (TEXT_TOO_LONG) or cut to this many, as `tooLong` says. */
    maxTokensPerItem: z.coerce.number().int().min(1),
    /** A prompt above maxTokensPerItem: `dead-letter` (default: recorded, not embedded) or `truncate` (its first maxTokensPerItem tokens are embedded, counted as truncated). */
    tooLong: z.enum(['dead-letter', 'truncate']),
    /** Caps below the server's advertised limits: requests and tokens per minute, shared by the process. */
    rpm: z.coerce.number().int().positive().optional(),
    tpm: z.coerce.number().int().positive().optional(),
    /**
     * How a new version stores its item vectors, fixed at its creation like dims: `vector` (float32)
     * or `halfvec` (float16: half the bytes per row, for 3072-d; recall in bench/README.md).
     */
    storage: z.enum(['vector', 'halfvec']),
  }),
  /** USD per 1M input tokens by model, over the built-in table (src/embed/prices.ts). */
  prices: z.record(z.string().min(1), z.number().nonnegative()),
  objects: z.object({
    /** `file:///abs/dir`, a plain folder path, or `s3://bucket/prefix`; unset → `<home>/objects`. */
    url: z.string().min(1).optional(),
    endpoint: z.url().optional(),
    region: z.string().min(1).optional(),
    forcePathStyle: z.boolean().optional(),
  }),
  run: z.object({
    /** Items loaded per Postgres upsert and per Parquet part (bounds memory). */
    loadBatchSize: z.coerce.number().int().min(1).max(100_000),
    /** Slices loaded at once on a Postgres server, each in its own transaction and connection (PGlite: always 1). */
    loadConnections: z.coerce.number().int().min(1).max(32),
    /** Failure rate (failed + rejected over items seen) above which a run exits with code 6. */
    alertFailureRate: z.coerce.number().min(0).max(1),
    /** Build the version's HNSW index after a load when it is missing. */
    createIndex: z.boolean(),
    /** `sync`: the embeddings endpoint; `batch`: OpenAI's Batch API (half price, results within 24 h). */
    mode: z.enum(['sync', 'batch']),
    /** Share of items to embed, by a stable hash of (org_id, item_id): 0.05 for a 5 % backfill, then ramp. */
    sample: z.coerce.number().gt(0).max(1),
    /** Copy a vector already computed for the same model and prompt text instead of embedding again. */
    cache: z.boolean(),
    /** Without a terminal, a progress log line every this many seconds. */
    progressIntervalSeconds: z.coerce.number().min(1).max(3600),
  }),
  /**
   * Distributed mode (`itemvec schedule`, `worker`, `enqueue`; src/orchestrate): a pg-boss queue in
   * Postgres. A run is cut into shards (ranges of the stable item hash), one job each, retried with
   * exponential backoff; a close job that depends on all of them records the run and alerts.
   */
  queue: z.object({
    /** The queue's database; unset → `databaseUrl`; neither → the embedded PGlite (then one process runs everything). */
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'queue.url must start with postgres:// or postgresql://')
      .optional(),
    /** Postgres schema holding pg-boss's tables, created on first start. */
    schema: z.string().regex(/^[a-z_][a-z0-9_]{0,49}$/, 'queue.schema must be a lowercase Postgres name (letters, digits, _)'),
    /** Shards per run; more shards spread a run over more workers and make a retried shard cheaper. */
    shards: z.coerce.number().int().min(1).max(10_000),
    /** Shard jobs one worker runs at once (each already keeps `embed.concurrency` requests in flight). */
    concurrency: z.coerce.number().int().min(1).max(64),
    /** Retries of a shard or close job after its first attempt; then the run is marked failed. */
    retryLimit: z.coerce.number().int().min(0).max(20),
    /** Backoff before the first retry, doubling (with jitter) up to `retryDelayMaxSeconds`. */
    retryDelaySeconds: z.coerce.number().int().min(1),
    retryDelayMaxSeconds: z.coerce.number().int().min(1),
    /** A worker refreshes its job's heartbeat every half of this; a shard silent this long (a killed worker) is retried. pg-boss requires ≥ 10. */
    heartbeatSeconds: z.coerce.number().int().min(10).max(3600),
    /** Longest one attempt of a shard may run before pg-boss takes it back (pg-boss caps it at 24 h). */
    expireInSeconds: z.coerce.number().int().min(60).max(86_400),
    /** How often pg-boss looks for expired or silent jobs (its supervise and monitor intervals). */
    monitorIntervalSeconds: z.coerce.number().int().min(1).max(3600),
    /** Idle workers ask for work this often. */
    pollingIntervalSeconds: z.coerce.number().min(0.5).max(3600),
  }),
  /** `itemvec schedule`: cron expressions in `tz`, evaluated by the running workers; `off` removes that schedule. */
  schedule: z.object({
    text: z.string().min(1),
    image: z.string().min(1),
    tz: z.string().min(1),
  }),
  /** Failure-rate alerts (threshold: run.alertFailureRate). The webhook URL is a secret: never logged. */
  alert: z.object({
    /** Slack-compatible incoming webhook (ITEMVEC_ALERT_WEBHOOK): it receives `{"text": …, "blocks": […]}`. */
    webhookUrl: z.url({ message: 'alert.webhookUrl must be a URL' }).optional(),
    /** Per attempt; retried with the one retry policy (src/embed/retry.ts). */
    timeoutMs: z.coerce.number().int().min(1),
    maxRetries: z.coerce.number().int().min(0).max(10),
  }),
  /** Prometheus: `itemvec worker` serves /metrics on host:port; a one-shot `run` pushes to a Pushgateway when set. */
  metrics: z.object({
    pushgatewayUrl: z.url({ message: 'metrics.pushgatewayUrl must be a URL' }).optional(),
    host: z.string().min(1),
    port: z.coerce.number().int().min(0).max(65535),
  }),
  batch: z.object({
    /** Requests per uploaded file (the API allows 50,000 and 200 MB). */
    maxRequestsPerFile: z.coerce.number().int().min(1).max(50_000),
    /** How often a waiting run asks for its batches' status. */
    pollIntervalMs: z.coerce.number().int().min(1),
    /** Wait for submitted batches and load them; false: submit and exit, a later run collects. */
    wait: z.boolean(),
  }),
  /** Reads (similar items, search) in the CLI and the HTTP service; scoring in README "How scores are computed". */
  retrieve: z.object({
    /** Version per namespace for reads: `v3` or `default=v2,electronics=v3` (BLEND_EMBEDDING_VERSION). */
    blendEmbeddingVersion: z.string().optional(),
    /** hnsw.ef_search per query: higher is more accurate and slower. */
    efSearch: z.coerce.number().int().min(1).max(1000),
    /** How the dense, lexical and tag rankings are fused (src/retrieve/fusion.ts); `itemvec eval --tune` measures the best. */
    fusion: FusionSchema,
    /** Fusion settings of particular namespaces, over `fusion`: `{"electronics": {"fusion": {"dense": 2}}}`. */
    namespaces: z.record(name('a namespace'), z.object({ fusion: FusionSchema.partial() }).strict()),
    /** BM25 of the lexical retriever (src/store/lexical.ts). */
    lexical: z.object({
      k1: z.coerce.number().min(0).max(10),
      b: z.coerce.number().min(0).max(1),
      maxPostings: z.coerce.number().int().min(1),
    }),
  }),
  /** `itemvec serve`. */
  serve: z.object({
    host: z.string().min(1),
    port: z.coerce.number().int().min(0).max(65535),
    /**
     * API keys and the org each may read, besides the api_keys table. `sha256` (of the key) keeps the
     * key itself out of the file. Error messages name the entry by index, never by key.
     */
    apiKeys: z.array(
      z
        .object({
          orgId: z.guid({ message: 'orgId must be a UUID' }),
          key: z.string().min(16, 'key must be at least 16 characters').optional(),
          sha256: z
            .string()
            .regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lower-case hex digits')
            .optional(),
        })
        .strict()
        .refine((k) => (k.key === undefined) !== (k.sha256 === undefined), 'give exactly one of key or sha256'),
    ),
  }),
  /** `itemvec run --modality image`: fetching (src/images) and the image model (src/embed/image-*.ts). */
  images: z.object({
    /** `mobilenet`: MobileNetV2 features shipped in nsfwjs (1,280-d); `clip`: a CLIP-style model folder (modelDir). */
    provider: z.enum(['mobilenet', 'clip']),
    modelDir: z.string().min(1).optional(),
    /** Whole fetch of one image, redirects and body included. */
    timeoutMs: z.coerce.number().int().min(1),
    /** Longest silence while connecting, waiting for headers, or between body chunks (a slow drip). */
    idleTimeoutMs: z.coerce.number().int().min(1),
    /** Bodies above this are refused, declared or not. */
    maxBytes: z.coerce.number().int().min(1),
    /** Decoded size limit, against decompression bombs (a small file that expands to gigapixels). */
    maxPixels: z.coerce.number().int().min(1),
    maxRedirects: z.coerce.number().int().min(0).max(10),
    /**
     * Hosts the SSRF guard lets through although they resolve to loopback/private/link-local
     * addresses: `cdn.internal`, `10.0.0.5:8080`, `[::1]:9000` (no port: every port).
     */
    allowHosts: z.array(z.string().min(1)),
    /** Images fetched at once. */
    concurrency: z.coerce.number().int().min(1).max(256),
    /** Images per model call; unset → the model's own default. */
    batchSize: z.coerce.number().int().min(1).max(256).optional(),
    userAgent: z.string().min(1),
  }),
});

export type Config = z.infer<typeof ConfigSchema>;

/** A deep partial of the config, as a file, the environment or flags supply it. */
export type ConfigInput = {
  [K in keyof Config]?: Config[K] extends object ? Partial<Config[K]> : Config[K];
};

export function defaultConfig(cwd = process.cwd()): Config {
  return {
    home: path.resolve(cwd, '.itemvec'),
    lockWaitSeconds: 0,
    orgId: DEFAULT_ORG_ID,
    namespace: 'default',
    version: 'v1',
    modality: 'text',
    catalog: { invalidText: 'reject' },
    prompt: { template: DEFAULT_PROMPT_TEMPLATE, textSearchConfig: 'english' },
    // 32,768 tokens: four full text-embedding-3 inputs; product copy is rarely a tenth of that.
    embed: {
      provider: 'local',
      maxTokensPerItem: 32_768,
      tooLong: 'dead-letter',
      storage: 'vector',
      maxRetries: DEFAULT_RETRY_POLICY.maxRetries,
      retryBaseDelayMs: DEFAULT_RETRY_POLICY.baseDelayMs,
      retryMaxDelayMs: DEFAULT_RETRY_POLICY.maxDelayMs,
    },
    prices: {},
    objects: {},
    run: {
      loadBatchSize: 500,
      loadConnections: 2,
      alertFailureRate: 0.05,
      createIndex: true,
      mode: 'sync',
      sample: 1,
      cache: true,
      progressIntervalSeconds: 10,
    },
    queue: {
      schema: 'itemvec_queue',
      shards: 16,
      concurrency: 1,
      retryLimit: 4,
      retryDelaySeconds: 30,
      retryDelayMaxSeconds: 900,
      heartbeatSeconds: 60,
      expireInSeconds: 6 * 3600,
      monitorIntervalSeconds: 60,
      pollingIntervalSeconds: 2,
    },
    // The plan: text nightly, images weekly (Sunday), at hours when the catalog feed has landed.
    schedule: { text: '0 2 * * *', image: '0 3 * * 0', tz: 'UTC' },
    alert: { timeoutMs: 10_000, maxRetries: 3 },
    metrics: { host: '127.0.0.1', port: 9464 },
    batch: { maxRequestsPerFile: 50_000, pollIntervalMs: 60_000, wait: true },
    retrieve: { efSearch: RETRIEVE_DEFAULTS.efSearch, fusion: { ...RETRIEVE_DEFAULTS.fusion }, namespaces: {}, lexical: { ...RETRIEVE_DEFAULTS.lexical } },
    serve: { host: '127.0.0.1', port: 8080, apiKeys: [] },
    images: {
      provider: 'mobilenet',
      timeoutMs: 30_000,
      idleTimeoutMs: 10_000,
      maxBytes: 15 * 1024 * 1024,
      maxPixels: 40_000_000,
      maxRedirects: 3,
      allowHosts: [],
      concurrency: 8,
      userAgent: 'itemvec-image-fetch/0.1',
    },
  };
}

function readConfigFile(file: string): ConfigInput {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`, { file }, { cause: err });
  }
  try {
    return JSON.parse(text) as ConfigInput;
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`, { file }, { cause: err });
  }
}

function merge(base: Record<string, unknown>, over: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!over) return base;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const prev = out[key];
    out[key] =
      value !== null && typeof value === 'object' && !Array.isArray(value) && prev !== null && typeof prev === 'object'
        ? merge(prev as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

export interface LoadConfigOptions {
  /** Config file; defaults to ITEMVEC_CONFIG when set. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  overrides?: ConfigInput;
  cwd?: string;
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = options.file ?? env.ITEMVEC_CONFIG;
  let merged = defaultConfig(cwd) as unknown as Record<string, unknown>;
  if (file) merged = merge(merged, readConfigFile(file) as Record<string, unknown>);
  merged = merge(merged, configFromEnv(env));
  merged = merge(merged, options.overrides as Record<string, unknown> | undefined);
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`, { problems });
  }
  const config = parsed.data;
  config.home = path.resolve(cwd, config.home);
  return config;
}
