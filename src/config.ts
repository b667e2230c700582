/**
 * The one config loader. Precedence, lowest first: built-in defaults < config file
 * (`--config FILE` or ITEMVEC_CONFIG, JSON) < environment variables < explicit overrides
 * (CLI flags or library callers). The merged object is validated once with zod, so every
 * consumer gets typed, checked values and a bad value fails fast with the path that is wrong.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.js';

/** The org used when neither the row, the flags nor the environment name one. */
export const DEFAULT_ORG_ID = '00000000-0000-0000-0000-000000000001';
export const DEFAULT_PROMPT_TEMPLATE = 'Product: {brand} {category}\nDescription: {description}';

/** Names that end up in SQL literals, index names and object keys: kept deliberately narrow. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
const name = (what: string) =>
  z.string().regex(NAME_PATTERN, `${what} must match ${NAME_PATTERN} (lowercase letters, digits, _ . -)`);

export const ConfigSchema = z.object({
  /** Where the embedded database and the default object folder live. */
  home: z.string().min(1),
  /** `postgres://…` for a Postgres server with pgvector; unset → embedded PGlite under `home`. */
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'databaseUrl must start with postgres:// or postgresql://').optional(),
  orgId: z.guid({ message: 'orgId must be a UUID' }),
  namespace: name('namespace'),
  version: name('version'),
  modality: z.enum(['text', 'image']),
  prompt: z.object({
    template: z
      .string()
      .min(1)
      .refine((t) => /\{(description|brand|category|tags|item_id)\}/.test(t), 'prompt.template must use at least one of {description} {brand} {category} {tags} {item_id}'),
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
    timeoutMs: z.coerce.number().int().min(1).optional(),
    maxRetries: z.coerce.number().int().min(0).max(20).optional(),
  }),
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
    /** Failure rate (failed + rejected over items seen) above which a run exits with code 6. */
    alertFailureRate: z.coerce.number().min(0).max(1),
    /** Build the version's HNSW index after a load when it is missing. */
    createIndex: z.boolean(),
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
    orgId: DEFAULT_ORG_ID,
    namespace: 'default',
    version: 'v1',
    modality: 'text',
    prompt: { template: DEFAULT_PROMPT_TEMPLATE },
    embed: { provider: 'local' },
    objects: {},
    run: { loadBatchSize: 500, alertFailureRate: 0.05, createIndex: true },
  };
}

/** Environment variables itemvec reads; listed here so the README and `--help` can point at one place. */
export function configFromEnv(env: NodeJS.ProcessEnv): ConfigInput {
  const embed: Record<string, unknown> = {};
  const set = (target: Record<string, unknown>, key: string, value: string | undefined) => {
    if (value !== undefined && value !== '') target[key] = value;
  };
  set(embed, 'provider', env.ITEMVEC_PROVIDER);
  set(embed, 'model', env.ITEMVEC_MODEL);
  set(embed, 'dims', env.ITEMVEC_DIMS);
  set(embed, 'apiKey', env.OPENAI_API_KEY);
  set(embed, 'baseURL', env.OPENAI_BASE_URL);
  set(embed, 'modelDir', env.ITEMVEC_LOCAL_MODEL_DIR);
  set(embed, 'concurrency', env.ITEMVEC_CONCURRENCY);
  const objects: Record<string, unknown> = {};
  set(objects, 'url', env.ITEMVEC_OBJECTS_URL);
  set(objects, 'endpoint', env.ITEMVEC_S3_ENDPOINT);
  set(objects, 'region', env.AWS_REGION);
  if (env.ITEMVEC_S3_FORCE_PATH_STYLE) objects.forcePathStyle = env.ITEMVEC_S3_FORCE_PATH_STYLE === 'true';
  const top: Record<string, unknown> = { embed, objects };
  set(top, 'home', env.ITEMVEC_HOME);
  set(top, 'databaseUrl', env.DATABASE_URL);
  set(top, 'orgId', env.ITEMVEC_ORG_ID);
  set(top, 'namespace', env.ITEMVEC_NAMESPACE);
  set(top, 'version', env.ITEMVEC_VERSION);
  const prompt: Record<string, unknown> = {};
  set(prompt, 'template', env.ITEMVEC_PROMPT_TEMPLATE);
  top.prompt = prompt;
  return top as ConfigInput;
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
  merged = merge(merged, configFromEnv(env) as Record<string, unknown>);
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
