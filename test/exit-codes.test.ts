/**
 * The exit codes the README promises, for the cases that used to end in "unexpected error" (exit 1):
 * a database that stops answering mid-run, and an ITEMVEC_HOME that cannot be written (both 4);
 * and 8, a distributed run that fails. The other codes are exercised where their cause lives: 2 and
 * 3 in cli.test.ts, 4 (locked folder) in folder-lock.test.ts, 5 in openai-run.test.ts, 6 in
 * alert.test.ts and cli.test.ts, 7 in object-stores.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { EmbeddingProvider, ProviderName } from '../src/embed/provider.js';
import { DatabaseError } from '../src/errors.js';
import { runEmbeddingJob } from '../src/pipeline/run.js';
import { quietLogger, sampleItems, tempDir, testConfig, writeJsonl } from '../testkit/fixtures.js';
import { startOpenAIServer } from '../testkit/openai-server.js';
import { startPgliteServer } from '../testkit/pglite-server.js';
import { randomVector } from '../testkit/random.js';
import { CLI_PROCESS_ARGS } from '../testkit/run-cli.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('a database that stops answering mid-run: DatabaseError DB_CONNECTION_LOST, exit 4', async () => {
  const server = await startPgliteServer();
  const home = await tempDir();
  const file = await writeJsonl(path.join(home, 'c.jsonl'), sampleItems(40, 'lost'));
  let calls = 0;
  // A model that takes the database down after answering its first request, as a server restart would.
  const provider: EmbeddingProvider = {
    name: 'test' as ProviderName,
    model: 'test-8',
    dims: 8,
    maxInputTokens: 512,
    maxBatchInputs: 10,
    maxBatchTokens: 100_000,
    concurrency: 1,
    tokenizer: { encode: (t) => t.split(' ').map((_, i) => i), decode: () => '' },
    async embed(texts) {
      if (++calls === 2) await server.close();
      return { vectors: texts.map((_, i) => randomVector(calls * 100 + i, 8)), tokens: texts.length };
    },
    close: async () => {},
  };
  const config = testConfig(home, { databaseUrl: server.url, run: { createIndex: false } });
  try {
    await assert.rejects(runEmbeddingJob({ config, source: { kind: 'file', path: file }, provider, logger: quietLogger() }), (err: unknown) => {
      assert.ok(err instanceof DatabaseError, `expected a DatabaseError, got ${String(err)}`);
      assert.equal(err.code, 'DB_CONNECTION_LOST');
      assert.equal(err.exitCode, 4);
      assert.match(err.message, /lost the connection to postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres/);
      return true;
    });
  } finally {
    await server.close();
  }
});

test('itemvec run with an ITEMVEC_HOME that cannot be written exits 4 and says why', async () => {
  const dir = await tempDir();
  await writeFile(path.join(dir, 'a-file'), 'not a folder');
  const catalog = await writeJsonl(path.join(dir, 'c.jsonl'), sampleItems(2, 'home'));
  const r = await promisify(execFile)(process.execPath, [...CLI_PROCESS_ARGS, 'run', '--catalog', catalog], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ITEMVEC_HOME: path.join(dir, 'a-file', 'home') },
  }).then(
    () => ({ code: 0, stderr: '' }),
    (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
  );
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /itemvec: cannot create the embedded database folder .*a-file\/home\/pgdata: .*ITEMVEC_HOME must be writable/);
  assert.doesNotMatch(r.stderr, /unexpected error/);
});

test('itemvec enqueue --wait exits 8 when the distributed run fails (a shard out of retries: the key is refused)', async () => {
  const server = await startOpenAIServer();
  try {
    const home = await tempDir();
    const catalog = await writeJsonl(path.join(home, 'c.jsonl'), sampleItems(8, 'dist'));
    const r = await promisify(execFile)(
      process.execPath,
      [
        ...CLI_PROCESS_ARGS,
        'enqueue',
        '--catalog',
        catalog,
        '--home',
        home,
        '--shards',
        '2',
        '--wait',
        '--json',
        '--provider',
        'openai',
        '--model',
        'text-embedding-3-small',
        '--dims',
        '16',
        '--base-url',
        server.url,
      ],
      // A refused key is fatal: no retries, the shard fails, the close job marks the run failed.
      { cwd: root, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', OPENAI_API_KEY: 'sk-wrong-key-0123456789', ITEMVEC_LOG_LEVEL: 'error' } },
    ).then(
      (ok) => ({ code: 0, stdout: ok.stdout, stderr: ok.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
    assert.equal(r.code, 8, r.stderr);
    assert.equal(JSON.parse(r.stdout).status, 'failed');
  } finally {
    await server.close();
  }
});
