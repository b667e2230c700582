/**
 * Every environment variable itemvec reads, in one table: the config loader (src/config.ts) reads
 * the environment from it and `itemvec --help` lists it, so neither can miss a variable the other has.
 * Variables that code elsewhere reads directly (the log level, the AWS SDK's own) are listed too,
 * without a config path, so that the help names them all.
 */
import { ConfigError } from './errors.js';

export interface EnvVariable {
  name: string;
  /** Where its value goes in the config, e.g. `embed.model`; none when it is read where it is used. */
  path?: string;
  /** One line for `--help`. */
  help: string;
  /** Text to config value when the text is not the value itself (numbers need nothing: the schema coerces them). */
  parse?: (text: string) => unknown;
  /** Set only when the variable is set; any variable setting the same path explicitly wins. */
  implies?: Record<string, unknown>;
}

export const ENV_VARIABLES: readonly EnvVariable[] = [
  { name: 'ITEMVEC_CONFIG', help: 'JSON config file (--config); the environment wins over it' },
  { name: 'ITEMVEC_HOME', path: 'home', help: 'data folder for the embedded database and objects (default ./.itemvec)' },
  { name: 'ITEMVEC_WAIT_LOCK', path: 'lockWaitSeconds', help: 'seconds to wait for another process holding the embedded database (default 0)' },
  { name: 'DATABASE_URL', path: 'databaseUrl', help: 'postgres://… server with pgvector ≥ 0.8 (default: embedded PGlite)' },
  { name: 'ITEMVEC_ORG_ID', path: 'orgId', help: 'organisation id, also of rows without org_id (default 00000000-0000-0000-0000-000000000001)' },
  { name: 'ITEMVEC_NAMESPACE', path: 'namespace', help: 'namespace, also of rows without one (default "default")' },
  { name: 'ITEMVEC_VERSION', path: 'version', help: 'embedding version to write (default v1)' },
  { name: 'ITEMVEC_PROVIDER', path: 'embed.provider', help: 'embedding provider: local | openai | onnx (default local)' },
  { name: 'ITEMVEC_MODEL', path: 'embed.model', help: 'embedding model, e.g. text-embedding-3-large' },
  { name: 'ITEMVEC_DIMS', path: 'embed.dims', help: 'vector size, e.g. 1024 to shorten text-embedding-3-large' },
  {
    name: 'ITEMVEC_VECTOR_STORAGE',
    path: 'embed.storage',
    help: 'how a new version stores vectors: vector (float32, default) | halfvec (float16, half the bytes)',
  },
  { name: 'OPENAI_API_KEY', path: 'embed.apiKey', help: 'key for --provider openai (a secret: never logged)' },
  { name: 'OPENAI_BASE_URL', path: 'embed.baseURL', help: 'any OpenAI-compatible server (default api.openai.com)' },
  { name: 'ITEMVEC_LOCAL_MODEL_DIR', path: 'embed.modelDir', help: 'model folder for --provider onnx (or a vendored USE model for local)' },
  { name: 'ITEMVEC_CONCURRENCY', path: 'embed.concurrency', help: 'embedding requests in flight (default 10 for openai)' },
  { name: 'ITEMVEC_TPM', path: 'embed.tpm', help: "cap on tokens per minute, below the API's own limit" },
  { name: 'ITEMVEC_RPM', path: 'embed.rpm', help: 'cap on requests per minute' },
  { name: 'ITEMVEC_MAX_RETRIES', path: 'embed.maxRetries', help: 'retries of a failed embedding request (default 6)' },
  { name: 'ITEMVEC_TIMEOUT_MS', path: 'embed.timeoutMs', help: 'timeout of one embedding request attempt' },
  { name: 'ITEMVEC_MAX_TOKENS_PER_ITEM', path: 'embed.maxTokensPerItem', help: 'the most tokens one item may cost (default 32768)' },
  { name: 'ITEMVEC_TOO_LONG', path: 'embed.tooLong', help: 'a longer prompt: dead-letter (default) or truncate' },
  { name: 'ITEMVEC_INVALID_TEXT', path: 'catalog.invalidText', help: "NUL or broken Unicode in a row's text: reject (default) or clean" },
  { name: 'ITEMVEC_PROMPT_TEMPLATE', path: 'prompt.template', help: 'prompt; placeholders {title} {brand} {category} {description} {tags} {item_id}' },
  { name: 'ITEMVEC_TEXT_SEARCH_CONFIG', path: 'prompt.textSearchConfig', help: 'lexical analyser of new versions (default english; simple: no stemming)' },
  { name: 'ITEMVEC_OBJECTS_URL', path: 'objects.url', help: 'file:///dir, a folder, or s3://bucket/prefix (default $ITEMVEC_HOME/objects)' },
  { name: 'ITEMVEC_S3_ENDPOINT', path: 'objects.endpoint', help: 'MinIO / R2 / other S3-compatible endpoint' },
  { name: 'AWS_REGION', path: 'objects.region', help: 'S3 region (us-east-1 with ITEMVEC_S3_ENDPOINT); credentials: the AWS default chain' },
  { name: 'ITEMVEC_S3_FORCE_PATH_STYLE', path: 'objects.forcePathStyle', help: 'true: bucket in the path, as MinIO wants', parse: (text) => text === 'true' },
  { name: 'AWS_REQUEST_CHECKSUM_CALCULATION', help: "the AWS SDK's own; unset: checksums only when required, as S3-compatible servers want" },
  { name: 'AWS_RESPONSE_CHECKSUM_VALIDATION', help: "the AWS SDK's own; unset: validated only when required" },
  { name: 'BLEND_EMBEDDING_VERSION', path: 'retrieve.blendEmbeddingVersion', help: 'version per namespace for reads: "v3" or "default=v2,electronics=v3"' },
  {
    name: 'ITEMVEC_FUSION',
    path: 'retrieve.fusion',
    help: 'fusion of dense, lexical and tag evidence, any subset: "dense=1,lexical=3,tags=0.5,rrfK=60"',
    parse: (text) => parseFusion(text),
  },
  { name: 'ITEMVEC_EF_SEARCH', path: 'retrieve.efSearch', help: 'HNSW candidate list per query (default 100)' },
  { name: 'ITEMVEC_HOST', path: 'serve.host', help: 'where itemvec serve listens (default 127.0.0.1)' },
  { name: 'ITEMVEC_PORT', path: 'serve.port', help: 'port of itemvec serve (default 8080)' },
  {
    name: 'ITEMVEC_API_KEYS',
    path: 'serve.apiKeys',
    help: 'API keys of itemvec serve besides the api_keys table: "<org-uuid>=<key>,…"',
    parse: (text) => parseApiKeys(text),
  },
  { name: 'ITEMVEC_IMAGE_PROVIDER', path: 'images.provider', help: 'image model for --modality image: mobilenet | clip (default mobilenet)' },
  // A model folder means CLIP, as with --image-model-dir: the default model ships inside nsfwjs and takes none.
  {
    name: 'ITEMVEC_IMAGE_MODEL_DIR',
    path: 'images.modelDir',
    help: 'CLIP model folder (implies ITEMVEC_IMAGE_PROVIDER=clip)',
    implies: { 'images.provider': 'clip' },
  },
  { name: 'ITEMVEC_IMAGE_TIMEOUT_MS', path: 'images.timeoutMs', help: 'whole fetch of one image (default 30000)' },
  { name: 'ITEMVEC_IMAGE_MAX_BYTES', path: 'images.maxBytes', help: 'largest image fetched (default 15728640)' },
  {
    name: 'ITEMVEC_IMAGE_ALLOW_HOSTS',
    path: 'images.allowHosts',
    help: 'internal hosts image fetches may reach: "cdn.internal,10.0.0.5:8080"',
    parse: (text) => parseList(text),
  },
  { name: 'ITEMVEC_QUEUE_URL', path: 'queue.url', help: 'pg-boss queue of the distributed mode (default: DATABASE_URL, else embedded)' },
  { name: 'ITEMVEC_QUEUE_SCHEMA', path: 'queue.schema', help: 'Postgres schema of the queue (default itemvec_queue)' },
  { name: 'ITEMVEC_SHARDS', path: 'queue.shards', help: 'shards per distributed run (default 16)' },
  { name: 'ITEMVEC_WORKER_CONCURRENCY', path: 'queue.concurrency', help: 'shards one worker runs at once (default 1)' },
  { name: 'ITEMVEC_TEXT_CRON', path: 'schedule.text', help: 'itemvec schedule: text job (default "0 2 * * *"; off removes it)' },
  { name: 'ITEMVEC_IMAGE_CRON', path: 'schedule.image', help: 'itemvec schedule: image job (default "0 3 * * 0"; off removes it)' },
  { name: 'ITEMVEC_SCHEDULE_TZ', path: 'schedule.tz', help: 'time zone of the cron expressions (default UTC)' },
  { name: 'ITEMVEC_ALERT_WEBHOOK', path: 'alert.webhookUrl', help: 'Slack-compatible webhook for failure-rate alerts (a secret: never logged)' },
  { name: 'ITEMVEC_PUSHGATEWAY_URL', path: 'metrics.pushgatewayUrl', help: 'Prometheus Pushgateway a one-shot run pushes its metrics to' },
  { name: 'ITEMVEC_METRICS_HOST', path: 'metrics.host', help: 'where itemvec worker serves /metrics (default 127.0.0.1)' },
  { name: 'ITEMVEC_METRICS_PORT', path: 'metrics.port', help: "port of the worker's /metrics (default 9464)" },
  { name: 'ITEMVEC_LOAD_CONNECTIONS', path: 'run.loadConnections', help: 'slices loaded at once on a Postgres server, one connection each (default 2)' },
  {
    name: 'ITEMVEC_PROGRESS_INTERVAL',
    path: 'run.progressIntervalSeconds',
    help: 'seconds between progress log lines when stderr is not a terminal (default 10)',
  },
  { name: 'ITEMVEC_LOG_LEVEL', help: 'debug | info | warn | error | silent (default info; warn on a terminal)' },
];

/** The config the environment supplies: a deep partial for the loader to merge and validate. */
export function configFromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const given = ENV_VARIABLES.flatMap((v) => {
    const text = env[v.name];
    return v.path !== undefined && text !== undefined && text !== '' ? [{ variable: v, path: v.path, text }] : [];
  });
  // Implied values first, so that a variable naming the same setting overrides them.
  for (const { variable } of given) for (const [path, value] of Object.entries(variable.implies ?? {})) setPath(out, path, value);
  for (const { variable, path, text } of given) setPath(out, path, variable.parse ? variable.parse(text) : text);
  return out;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const dot = path.indexOf('.');
  if (dot < 0) {
    target[path] = value;
    return;
  }
  const head = path.slice(0, dot);
  const child = (target[head] ?? {}) as Record<string, unknown>;
  target[head] = child;
  setPath(child, path.slice(dot + 1), value);
}

/** `dense=1,lexical=3,tags=0.5,rrfK=60`, any subset; the schema checks the values. */
function parseFusion(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [key, v] = part.split('=').map((x) => x.trim());
    if (!key || v === undefined || !['dense', 'lexical', 'tags', 'rrfK'].includes(key)) {
      throw new ConfigError(`ITEMVEC_FUSION="${value}" is invalid at "${part}": expected e.g. dense=1,lexical=3,tags=0.5,rrfK=60`);
    }
    out[key] = v;
  }
  return out;
}

/** `<org-uuid>=<key>,<org-uuid>=<key>`: split on the first "=", so a key may contain one. */
function parseApiKeys(value: string): Array<{ orgId: string; key: string }> {
  return value.split(',').map((entry) => {
    const eq = entry.indexOf('=');
    return { orgId: entry.slice(0, Math.max(eq, 0)).trim(), key: entry.slice(eq + 1).trim() };
  });
}

const parseList = (value: string) =>
  value
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
