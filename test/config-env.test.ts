/**
 * The environment table (src/config-env.ts): `itemvec --help` names every variable itemvec reads, and
 * every variable the table maps into the config changes the loaded config, so neither the help nor
 * the loader can forget a variable the other has.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.js';
import { ENV_VARIABLES } from '../src/config-env.js';
import { runCli } from '../testkit/run-cli.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ORG = '2f1c6b1e-8a4d-4c1b-9f3e-7d5a2b8c9e01';

/** A valid value, other than the default, for every variable the table maps into the config. */
const EXAMPLES: Record<string, string> = {
  ITEMVEC_HOME: '/tmp/itemvec-elsewhere',
  ITEMVEC_WAIT_LOCK: '5',
  DATABASE_URL: 'postgres://app@db/catalog',
  ITEMVEC_ORG_ID: ORG,
  ITEMVEC_NAMESPACE: 'electronics',
  ITEMVEC_VERSION: 'v9',
  ITEMVEC_PROVIDER: 'openai',
  ITEMVEC_MODEL: 'text-embedding-3-large',
  ITEMVEC_DIMS: '1024',
  ITEMVEC_VECTOR_STORAGE: 'halfvec',
  OPENAI_API_KEY: 'sk-test',
  OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
  ITEMVEC_LOCAL_MODEL_DIR: '/models/bge',
  ITEMVEC_CONCURRENCY: '3',
  ITEMVEC_TPM: '1000000',
  ITEMVEC_RPM: '500',
  ITEMVEC_MAX_RETRIES: '2',
  ITEMVEC_TIMEOUT_MS: '1234',
  ITEMVEC_MAX_TOKENS_PER_ITEM: '100',
  ITEMVEC_TOO_LONG: 'truncate',
  ITEMVEC_INVALID_TEXT: 'clean',
  ITEMVEC_PROMPT_TEMPLATE: '{title}: {description}',
  ITEMVEC_TEXT_SEARCH_CONFIG: 'simple',
  ITEMVEC_OBJECTS_URL: 's3://bucket/prefix',
  ITEMVEC_S3_ENDPOINT: 'http://127.0.0.1:9000',
  AWS_REGION: 'eu-west-1',
  ITEMVEC_S3_FORCE_PATH_STYLE: 'true',
  BLEND_EMBEDDING_VERSION: 'default=v2,electronics=v3',
  ITEMVEC_FUSION: 'tags=0,rrfK=20',
  ITEMVEC_EF_SEARCH: '200',
  ITEMVEC_HOST: '0.0.0.0',
  ITEMVEC_PORT: '9999',
  ITEMVEC_API_KEYS: `${ORG}=key-with-at-least-16-chars`,
  ITEMVEC_IMAGE_PROVIDER: 'clip',
  ITEMVEC_IMAGE_MODEL_DIR: '/models/clip',
  ITEMVEC_IMAGE_TIMEOUT_MS: '1000',
  ITEMVEC_IMAGE_MAX_BYTES: '1000',
  ITEMVEC_IMAGE_ALLOW_HOSTS: 'cdn.internal,10.0.0.5:8080',
  ITEMVEC_QUEUE_URL: 'postgres://queue@pg/ops',
  ITEMVEC_QUEUE_SCHEMA: 'ops_queue',
  ITEMVEC_SHARDS: '4',
  ITEMVEC_WORKER_CONCURRENCY: '2',
  ITEMVEC_TEXT_CRON: '30 1 * * *',
  ITEMVEC_IMAGE_CRON: 'off',
  ITEMVEC_SCHEDULE_TZ: 'Europe/Berlin',
  ITEMVEC_ALERT_WEBHOOK: 'https://hooks.example.com/services/x',
  ITEMVEC_PUSHGATEWAY_URL: 'http://127.0.0.1:9091',
  ITEMVEC_METRICS_HOST: '0.0.0.0',
  ITEMVEC_METRICS_PORT: '9465',
  ITEMVEC_LOAD_CONNECTIONS: '4',
  ITEMVEC_PROGRESS_INTERVAL: '30',
};

const at = (value: unknown, dotted: string): unknown =>
  dotted.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], value);

/** Every upper-case name read as `process.env.NAME` or `env.NAME` in src/. */
async function namesReadInSource(): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const files = (await readdir(path.join(root, 'src'), { recursive: true })).filter((f) => f.endsWith('.ts'));
  for (const file of files) {
    const text = await readFile(path.join(root, 'src', file), 'utf8');
    for (const m of text.matchAll(/\benv(?:\.|\[['"])([A-Z][A-Z0-9_]+)/g)) found.set(m[1]!, `src/${file}`);
  }
  return found;
}

test('itemvec --help names every variable the config loader and the rest of src/ read', async () => {
  const help = (await runCli(['--help'])).stdout;
  const environment = help.slice(help.indexOf('\nEnvironment:\n'));
  const listed = (name: string) => new RegExp(`^ {2}${name} `, 'm').test(environment);

  const readByLoader = new Set<string>();
  const recording = new Proxy({} as NodeJS.ProcessEnv, {
    get: (_target, name) => {
      if (typeof name === 'string') readByLoader.add(name);
      return undefined;
    },
  });
  loadConfig({ env: recording });
  assert.ok(readByLoader.size >= ENV_VARIABLES.filter((v) => v.path).length, 'the loader reads the table');
  for (const name of readByLoader) assert.ok(listed(name), `${name} (read by loadConfig) is in --help`);

  for (const [name, file] of await namesReadInSource()) assert.ok(listed(name), `${name} (read in ${file}) is in --help`);
  for (const v of ENV_VARIABLES) assert.ok(listed(v.name), `${v.name} is in --help`);
});

test('each variable the table maps into the config changes the loaded config there', () => {
  const defaults = loadConfig({ env: {} });
  for (const v of ENV_VARIABLES.filter((x) => x.path)) {
    const example = EXAMPLES[v.name];
    assert.ok(example !== undefined, `${v.name}: add an example value to EXAMPLES`);
    const loaded = loadConfig({ env: { [v.name]: example } });
    assert.notDeepEqual(at(loaded, v.path!), at(defaults, v.path!), `${v.name} changes ${v.path}`);
  }
  const all = loadConfig({ env: EXAMPLES });
  assert.deepEqual([all.embed.dims, all.serve.port, all.objects.forcePathStyle], [1024, 9999, true], 'numbers and booleans arrive typed');
  assert.deepEqual(all.retrieve.fusion, { dense: 1, lexical: 3, tags: 0, rrfK: 20 });
});

test('the variables with their own syntax: API keys, allowed hosts, path-style S3, the CLIP folder; an empty value is unset', () => {
  const other = '7d5a2b8c-9e01-4c1b-9f3e-2f1c6b1e8a4d';
  const keys = loadConfig({ env: { ITEMVEC_API_KEYS: `${ORG}=a=key-holding-an-equals, ${other}=second-key-0123456789` } }).serve.apiKeys;
  assert.deepEqual(keys, [
    { orgId: ORG, key: 'a=key-holding-an-equals' },
    { orgId: other, key: 'second-key-0123456789' },
  ]);
  assert.deepEqual(loadConfig({ env: { ITEMVEC_IMAGE_ALLOW_HOSTS: ' cdn.internal, ,[::1]:9000 ' } }).images.allowHosts, ['cdn.internal', '[::1]:9000']);
  assert.equal(loadConfig({ env: { ITEMVEC_S3_FORCE_PATH_STYLE: 'false' } }).objects.forcePathStyle, false);
  assert.equal(loadConfig({ env: { ITEMVEC_S3_FORCE_PATH_STYLE: 'yes' } }).objects.forcePathStyle, false);
  assert.equal(loadConfig({ env: { ITEMVEC_S3_FORCE_PATH_STYLE: '' } }).objects.forcePathStyle, undefined);

  const images = (env: NodeJS.ProcessEnv) => loadConfig({ env }).images;
  assert.deepEqual([images({ ITEMVEC_IMAGE_MODEL_DIR: '/m' }).provider, images({ ITEMVEC_IMAGE_MODEL_DIR: '/m' }).modelDir], ['clip', '/m']);
  assert.equal(images({ ITEMVEC_IMAGE_MODEL_DIR: '/m', ITEMVEC_IMAGE_PROVIDER: 'mobilenet' }).provider, 'mobilenet');
  assert.equal(images({ ITEMVEC_IMAGE_MODEL_DIR: '/m', ITEMVEC_IMAGE_PROVIDER: '' }).provider, 'clip');
  assert.equal(images({ ITEMVEC_IMAGE_MODEL_DIR: '' }).provider, 'mobilenet');

  assert.equal(loadConfig({ env: { ITEMVEC_NAMESPACE: '', ITEMVEC_DIMS: '' } }).namespace, 'default');
  assert.throws(() => loadConfig({ env: { ITEMVEC_FUSION: 'dense' } }), /ITEMVEC_FUSION="dense" is invalid at "dense"/);
});
