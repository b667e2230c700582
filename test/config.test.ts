/** The one config loader: precedence, validation messages, and no secret in errors. */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_ORG_ID, loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { redactUrl } from '../src/log.js';
import { fusionFor, retrieveOptions } from '../src/retrieve/options.js';
import { tempDir } from '../testkit/fixtures.js';

test('defaults < config file < environment < overrides', async () => {
  const dir = await tempDir();
  const file = path.join(dir, 'itemvec.json');
  await writeFile(file, JSON.stringify({ namespace: 'from-file', version: 'v7', embed: { provider: 'openai', model: 'text-embedding-3-small' } }));
  const base = loadConfig({ env: {}, cwd: dir });
  assert.equal(base.orgId, DEFAULT_ORG_ID);
  assert.equal(base.embed.provider, 'local');
  assert.equal(base.home, path.join(dir, '.itemvec'));

  const fromFile = loadConfig({ env: {}, file, cwd: dir });
  assert.deepEqual(
    [fromFile.namespace, fromFile.version, fromFile.embed.provider, fromFile.embed.model],
    ['from-file', 'v7', 'openai', 'text-embedding-3-small'],
  );

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

test('fusion: ITEMVEC_FUSION sets any of its parts, a namespace has its own, bad values name what is wrong', async () => {
  const dir = await tempDir();
  const file = path.join(dir, 'fusion.json');
  await writeFile(file, JSON.stringify({ retrieve: { fusion: { tags: 0 }, namespaces: { electronics: { fusion: { lexical: 3 } } } } }));
  const c = loadConfig({ env: { ITEMVEC_FUSION: 'dense=0.5, rrfK=20' }, file });
  assert.deepEqual(c.retrieve.fusion, { dense: 0.5, lexical: 3, tags: 0, rrfK: 20 });
  const options = retrieveOptions(c.retrieve);
  assert.deepEqual(fusionFor(options, 'electronics'), { dense: 0.5, lexical: 3, tags: 0, rrfK: 20 });
  assert.deepEqual(fusionFor(options, 'default'), c.retrieve.fusion);
  assert.throws(() => loadConfig({ env: { ITEMVEC_FUSION: 'lexcal=2' } }), /ITEMVEC_FUSION="lexcal=2" is invalid at "lexcal=2"/);
  assert.throws(() => loadConfig({ env: { ITEMVEC_FUSION: 'tags=-1' } }), /retrieve\.fusion\.tags/);
  assert.throws(() => loadConfig({ overrides: { retrieve: { namespaces: { 'Bad Name': { fusion: {} } } } } as never }), /retrieve\.namespaces/);
  assert.throws(
    () => loadConfig({ env: { ITEMVEC_TEXT_SEARCH_CONFIG: 'no such; drop' } }),
    /prompt\.textSearchConfig must be a text search configuration name/,
  );
});
