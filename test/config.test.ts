/** The one config loader: precedence, validation messages, and no secret in errors. */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_ORG_ID, loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { redactUrl } from '../src/log.js';
import { tempDir } from './support/fixtures.js';

test('defaults < config file < environment < overrides', async () => {
  const dir = await tempDir();
  const file = path.join(dir, 'itemvec.json');
  await writeFile(file, JSON.stringify({ namespace: 'from-file', version: 'v7', embed: { provider: 'openai', model: 'text-embedding-3-small' } }));
  const base = loadConfig({ env: {}, cwd: dir });
  assert.equal(base.orgId, DEFAULT_ORG_ID);
  assert.equal(base.embed.provider, 'local');
  assert.equal(base.home, path.join(dir, '.itemvec'));

  const fromFile = loadConfig({ env: {}, file, cwd: dir });
  assert.deepEqual([fromFile.namespace, fromFile.version, fromFile.embed.provider, fromFile.embed.model], ['from-file', 'v7', 'openai', 'text-embedding-3-small']);

  const env = { ITEMVEC_NAMESPACE: 'from-env', ITEMVEC_DIMS: '1024', ITEMVEC_CONFIG: file };
  const fromEnv = loadConfig({ env, cwd: dir });
  assert.deepEqual([fromEnv.namespace, fromEnv.version, fromEnv.embed.dims, fromEnv.embed.model], ['from-env', 'v7', 1024, 'text-embedding-3-small']);

  const fromFlags = loadConfig({ env, cwd: dir, overrides: { namespace: 'from-flag', embed: { dims: 256 } } });
  assert.deepEqual([fromFlags.namespace, fromFlags.embed.dims, fromFlags.embed.provider], ['from-flag', 256, 'openai']);
});

test('invalid values fail with the path that is wrong', () => {
  assert.throws(
    () => loadConfig({ env: { ITEMVEC_PROVIDER: 'bogus', ITEMVEC_NAMESPACE: 'Bad Name', ITEMVEC_ORG_ID: 'nope' } }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.exitCode, 2);
      assert.match(err.message, /embed\.provider/);
      assert.match(err.message, /namespace: namespace must match/);
      assert.match(err.message, /orgId: orgId must be a UUID/);
      return true;
    },
  );
});

test('a bad DATABASE_URL is reported without echoing the URL, and URLs are logged with the password masked', () => {
  assert.throws(
    () => loadConfig({ env: { DATABASE_URL: 'mysql://root:hunter2@db/x' } }),
    (err: unknown) => err instanceof ConfigError && /databaseUrl must start with postgres/.test(err.message) && !err.message.includes('hunter2'),
  );
  assert.equal(redactUrl('postgres://etl:hunter2@db:5432/catalog'), 'postgres://etl:***@db:5432/catalog');
});
