/** Flags several commands share, their parsers, and the config they add up to. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { CatalogSource } from '../catalog/open.js';
import { type Config, type ConfigInput, loadConfig } from '../config.js';
import { ConfigError, errorMessage } from '../errors.js';
import { parseSample } from '../pipeline/sample.js';

export const EXIT_CODES = `
Exit codes:
  0  success                       4  database (connection, migration, pgvector missing)
  1  unexpected error              5  embedding provider (auth, quota, model)
  2  usage, configuration, or not found
  3  catalog source unreadable     6  run finished with failure rate above the alert threshold
                                   7  object storage
                                   8  distributed run failed (a shard or its close job out of retries)`;

export interface CommonOptions {
  config?: string;
  home?: string;
  waitLock?: number;
  org?: string;
  namespace?: string;
  version?: string;
  json?: boolean;
}

export interface ProviderFlags {
  provider?: 'local' | 'openai' | 'onnx';
  model?: string;
  dims?: number;
  baseUrl?: string;
  concurrency?: number;
  tpm?: number;
  rpm?: number;
}

export interface ImageFlags {
  modality?: 'text' | 'image';
  imageModelDir?: string;
}

/** The flags of withFiles. */
export interface FileOptions {
  config?: string;
  home?: string;
  json?: boolean;
}

export interface SourceFlags {
  catalog?: string;
  source?: string;
  table?: string;
}

/** Every flag configFrom reads. */
export type ConfigFlags = CommonOptions &
  ProviderFlags &
  ImageFlags & { index?: boolean; mode?: 'sync' | 'batch'; wait?: boolean; sample?: number; cache?: boolean; storage?: 'vector' | 'halfvec' };

/** --storage: fixed when a version is created, so it belongs to the commands that create one. */
export const storageOption = () =>
  new Option(
    '--storage <type>',
    'how a new version stores its vectors: vector (float32) or halfvec (float16, half the bytes; for 3072-d) (also ITEMVEC_VECTOR_STORAGE; default vector)',
  ).choices(['vector', 'halfvec']);

export const sampleOption = (value: string): number => {
  try {
    return parseSample(value);
  } catch (err) {
    throw new InvalidArgumentError(errorMessage(err));
  }
};

const nonNegative = (name: string) => (value: string) => {
  const n = Number(value);
  if (!(n >= 0)) throw new InvalidArgumentError(`${name} must be a number of seconds ≥ 0`);
  return n;
};

export const positiveInt = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
  return n;
};

export const portNumber = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`${name} must be an integer from 0 to 65535`);
  return n;
};

/** --config, --home, --org, --namespace, --wait-lock and --json. */
export function withCommon(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'JSON config file (also ITEMVEC_CONFIG)')
    .option('--home <dir>', 'data folder (also ITEMVEC_HOME)')
    .option('--org <uuid>', 'organisation id (also ITEMVEC_ORG_ID)')
    .option('--namespace <name>', 'namespace (also ITEMVEC_NAMESPACE; default "default")')
    .option(
      '--wait-lock <seconds>',
      'embedded database: wait this long for another itemvec process to finish (also ITEMVEC_WAIT_LOCK; default 0: exit 4)',
      nonNegative('--wait-lock'),
    )
    .option('--json', 'print one JSON object instead of text');
}

/** --config, --home and --json, for commands that need no org, namespace or provider. */
export const withFiles = (cmd: Command): Command =>
  cmd
    .option('--config <file>', 'JSON config file (also ITEMVEC_CONFIG)')
    .option('--home <dir>', 'data folder (also ITEMVEC_HOME)')
    .option('--json', 'print JSON instead of text');

export function withProvider(cmd: Command): Command {
  return cmd
    .addOption(new Option('--provider <name>', 'embedding provider (also ITEMVEC_PROVIDER)').choices(['local', 'openai', 'onnx']))
    .option('--model <name>', 'model name (also ITEMVEC_MODEL)')
    .option('--dims <n>', 'vector size, e.g. 1024 to shorten text-embedding-3-large (also ITEMVEC_DIMS)', positiveInt('--dims'))
    .option('--base-url <url>', 'OpenAI-compatible server URL (also OPENAI_BASE_URL)')
    .option('--concurrency <n>', 'requests in flight (default 10 for openai)', positiveInt('--concurrency'))
    .option('--tpm <n>', "cap on tokens per minute, below the API's own limit (also ITEMVEC_TPM)", positiveInt('--tpm'))
    .option('--rpm <n>', 'cap on requests per minute (also ITEMVEC_RPM)', positiveInt('--rpm'));
}

/** The flags of a distributed run, shared by `enqueue` (now) and `schedule` (by cron). */
export const withDistributedRunFlags = (cmd: Command): Command =>
  withProvider(withCommon(cmd))
    .option('--catalog <file>', 'catalog file every worker can read (a shared volume): .jsonl, .csv or .parquet')
    .option('--source <url>', 'postgres:// staging database; its password is not stored in the queue: workers use PGPASSWORD or ~/.pgpass')
    .option('--table <name>', 'staging table, e.g. analytics.catalog_features_raw')
    .option('--version <name>', 'embedding version to write (also ITEMVEC_VERSION; default v1)')
    .option('--shards <n>', 'shards of each run: ranges of the stable item hash, one job each (config queue.shards, default 16)', positiveInt('--shards'))
    .option('--sample <percent>', 'staged rollout: only this stable share of items, e.g. 5%', sampleOption)
    .option('--no-index', 'do not build the HNSW index when the run closes')
    .option('--no-cache', 'embed changed items even when the same model already embedded the same prompt elsewhere in the org')
    .option('--image-model-dir <dir>', 'image runs: a CLIP-style model folder on every worker (default MobileNetV2)')
    .addOption(storageOption());

/** The config of a command: its flags over the environment over the config file. */
export function configFrom(opts: ConfigFlags, env: NodeJS.ProcessEnv): Config {
  const overrides: ConfigInput = {
    home: opts.home,
    lockWaitSeconds: opts.waitLock,
    modality: opts.modality,
    // A model folder means the CLIP provider: the default (mobilenet) ships inside nsfwjs and takes none.
    images: opts.imageModelDir ? { provider: 'clip', modelDir: opts.imageModelDir } : {},
    orgId: opts.org,
    namespace: opts.namespace,
    version: opts.version,
    embed: {
      provider: opts.provider,
      model: opts.model,
      dims: opts.dims,
      baseURL: opts.baseUrl,
      concurrency: opts.concurrency,
      tpm: opts.tpm,
      rpm: opts.rpm,
      storage: opts.storage,
    },
    run: {
      ...(opts.index === false ? { createIndex: false } : {}),
      ...(opts.mode ? { mode: opts.mode } : {}),
      ...(opts.sample !== undefined ? { sample: opts.sample } : {}),
      ...(opts.cache === false ? { cache: false } : {}),
    },
    batch: opts.wait === false ? { wait: false } : {},
  };
  return loadConfig({ file: opts.config, env, overrides });
}

/** --catalog FILE, or --source URL with --table NAME: exactly one. */
export function sourceFromFlags(opts: SourceFlags): CatalogSource {
  if (Boolean(opts.catalog) === Boolean(opts.source)) throw new ConfigError('give either --catalog FILE or --source URL --table NAME');
  if (opts.source && !opts.table) throw new ConfigError('--source needs --table (e.g. analytics.catalog_features_raw)');
  return opts.catalog ? { kind: 'file', path: opts.catalog } : { kind: 'postgres', url: opts.source!, table: opts.table! };
}
