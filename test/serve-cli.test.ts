/**
 * `itemvec keys add` and `itemvec serve` as an operator runs them: stdout, exit codes, and the
 * service as a real process with its signals. The switch of BLEND_EMBEDDING_VERSION through the
 * config file and SIGHUP is tested here, on the real process, without restarting it; the commands
 * around it run in-process.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openDb } from '../src/store/db.js';
import { migrate } from '../src/store/migrations.js';
import { tempDir } from '../testkit/fixtures.js';
import { nearVector, randomVector } from '../testkit/random.js';
import { CLI_PROCESS_ARGS, runCli } from '../testkit/run-cli.js';
import { seed, spec } from '../testkit/seed.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ITEMVEC_LOG_LEVEL: 'info', ...extra });

const orgId = randomUUID();
let home: string;
let configFile: string;
let server: ChildProcess | undefined;

before(async () => {
  home = await tempDir();
  configFile = path.join(home, 'itemvec.json');
  await writeFile(configFile, JSON.stringify({}));
  const db = await openDb({ home });
  try {
    await migrate(db);
    const q = randomVector(1, 16);
    for (const version of ['v1', 'v2']) {
      await seed(db, spec(orgId, { version, dims: 16, model: 'test-16' }), { q, [`only-${version}`]: nearVector(q, version.length + Number(version[1]), 0.3) });
    }
  } finally {
    await db.close();
  }
});
after(() => {
  server?.kill('SIGKILL');
});

async function itemvec(args: string[], extra: Record<string, string> = {}) {
  const r = await runCli(args, { env: env(extra) });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

/** Resolves with the first stdout line (the listening URL) or rejects with stderr when the process exits first. */
function start(
  args: string[],
  extra: Record<string, string> = {},
): Promise<{ child: ChildProcess; url: string; stderr: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [...CLI_PROCESS_ARGS, ...args], { cwd: root, env: env(extra), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve({ child, url: (JSON.parse(out.split('\n')[0]!) as { url: string }).url, stderr: () => err, exited });
    });
    void exited.then((code) => reject(new Error(`itemvec serve exited with ${code} before listening:\n${err}`)));
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('keys add prints a key once; serve reads with it and switches BLEND_EMBEDDING_VERSION on SIGHUP', async () => {
  const added = await itemvec(['keys', 'add', '--org', orgId, '--label', 'cli test', '--home', home, '--json']);
  assert.equal(added.code, 0, added.stderr);
  const { key, id } = JSON.parse(added.stdout) as { key: string; id: string };
  assert.match(key, /^ivk_[A-Za-z0-9_-]{43}$/);
  assert.ok(!added.stderr.includes(key), 'the key is not logged');
  const listed = await itemvec(['keys', 'list', '--home', home, '--json']);
  assert.deepEqual(
    (JSON.parse(listed.stdout) as Array<{ id: string; org_id: string }>).map((k) => [k.id, k.org_id]),
    [[id, orgId]],
  );
  assert.ok(!listed.stdout.includes(key));
  assert.equal((await itemvec(['keys', 'add', '--org', 'not-a-uuid', '--home', home])).code, 2);

  const started = await start(['serve', '--port', '0', '--home', home, '--config', configFile, '--json']);
  server = started.child;
  const version = async () => {
    const res = await fetch(`${started.url}/v1/namespaces/default/items/q/similar?k=5`, { headers: { authorization: `Bearer ${key}` } });
    const body = (await res.json()) as { version: string; candidates: Array<{ item_id: string }> };
    assert.equal(res.status, 200, JSON.stringify(body));
    return body;
  };
  assert.deepEqual(
    (await version()).candidates.map((c) => c.item_id),
    ['only-v1'],
  );

  await writeFile(configFile, JSON.stringify({ retrieve: { blendEmbeddingVersion: 'default=v2' } }));
  server.kill('SIGHUP');
  const switched = await until('the v2 answer', async () => ((await version()).version === 'v2' ? await version() : undefined));
  assert.deepEqual(
    switched.candidates.map((c) => c.item_id),
    ['only-v2'],
  );
  assert.match(started.stderr(), /"blendEmbeddingVersion":"default=v2".*"msg":"settings reloaded"/);

  // A broken config on reload is reported and changes nothing.
  await writeFile(configFile, JSON.stringify({ retrieve: { blendEmbeddingVersion: 'default=' } }));
  server.kill('SIGHUP');
  await until('the reload error', async () => (/reload failed; the previous settings stay/.test(started.stderr()) ? true : undefined));
  assert.equal((await version()).version, 'v2');

  server.kill('SIGTERM');
  assert.equal(await started.exited, 0, started.stderr());
  assert.ok(!started.stderr().includes(key), 'the key is never logged');
  server = undefined;
});

test('serve refuses a malformed BLEND_EMBEDDING_VERSION at start with exit code 2', async () => {
  const r = await itemvec(['serve', '--port', '0', '--home', home], { BLEND_EMBEDDING_VERSION: 'default=v1,default=v2' });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /BLEND_EMBEDDING_VERSION="default=v1,default=v2" is invalid: namespace "default" is given twice/);
});

test('serve --help documents routes, keys, the version switch and exit codes', async () => {
  const r = await itemvec(['serve', '--help']);
  assert.equal(r.code, 0);
  for (const text of ['GET  /v1/namespaces/:ns/items/:id/similar', 'itemvec keys add --org', 'SIGHUP', 'Examples:', 'Exit codes:']) {
    assert.ok(r.stdout.includes(text), `serve --help mentions ${text}`);
  }
});
