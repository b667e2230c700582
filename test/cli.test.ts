/**
 * The `itemvec` command line: commands run in-process through main() (stdout, stderr, exit codes as
 * a shell sees them); the binary itself runs as a real process only where the process is the point:
 * its exit code and everything it writes to its file descriptors.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sampleItems, tempDir, writeJsonl } from '../testkit/fixtures.js';
import { startOpenAIServer } from '../testkit/openai-server.js';
import { CLI_PROCESS_ARGS, runCli } from '../testkit/run-cli.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function itemvec(args: string[], env: Record<string, string> = {}) {
  const r = await runCli(args, { env });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

/** src/cli/bin.ts in its own process, with a clean environment. */
async function binary(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [...CLI_PROCESS_ARGS, ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      maxBuffer: 32 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let home: string;
let catalog: string;

before(async () => {
  home = await tempDir();
  catalog = await writeJsonl(path.join(home, 'catalog.jsonl'), sampleItems(20, 'cli'));
});

describe('itemvec run / similar / search', () => {
  test('run twice: the second run embeds nothing and calls nothing; similar returns same-category neighbours', async () => {
    const first = await itemvec(['run', '--catalog', catalog, '--home', home, '--json']);
    assert.equal(first.code, 0, first.stderr);
    const s1 = JSON.parse(first.stdout);
    for (const field of [
      'items_seen',
      'embedded',
      'skipped_unchanged',
      'failed',
      'failure_rate',
      'api_calls',
      'tokens',
      'latency_ms_mean',
      'latency_ms_p95',
      'wall_s',
    ]) {
      assert.ok(field in s1, `summary has ${field}`);
    }
    assert.equal(s1.embedded, 20);
    const second = JSON.parse((await itemvec(['run', '--catalog', catalog, '--home', home, '--json'])).stdout);
    assert.equal(second.embedded, 0);
    assert.equal(second.api_calls, 0);

    const near = await itemvec(['similar', 'cli-0001', '--k', '4', '--home', home, '--json']);
    assert.equal(near.code, 0, near.stderr);
    const result = JSON.parse(near.stdout);
    assert.equal(result.candidates.length, 4);
    assert.ok(result.candidates.every((c: { item_id: string }) => c.item_id !== 'cli-0001'));
    // cli-0001 is a hiking boot; items 5, 9, 13, 17 are the other boots.
    assert.ok(
      result.candidates.slice(0, 3).every((c: { category: string }) => c.category === 'Footwear > Hiking Boots'),
      JSON.stringify(result.candidates),
    );
    const scores = result.candidates.map((c: { score: number }) => c.score);
    assert.deepEqual(
      scores,
      [...scores].sort((a: number, b: number) => b - a),
    );

    const text = await itemvec(['similar', 'cli-0001', '--k', '2', '--home', home]);
    assert.match(text.stdout, /Similar to cli-0001 \(TrailForge · Footwear > Hiking Boots\)/);

    const found = JSON.parse((await itemvec(['search', 'espresso machine with steam wand', '--k', '3', '--home', home, '--json'])).stdout);
    assert.ok(
      found.candidates.every((c: { category: string }) => c.category === 'Kitchen > Espresso Machines'),
      JSON.stringify(found.candidates),
    );
  });
});

describe('itemvec versions', () => {
  test('run --version v2 writes a second version; activate and rollback switch what similar serves', async () => {
    // `--version` after the command is the run's option, not the program's version flag.
    const v2 = await itemvec(['run', '--catalog', catalog, '--home', home, '--version', 'v2', '--json'], {
      ITEMVEC_PROMPT_TEMPLATE: '{category}: {description}',
    });
    assert.equal(v2.code, 0, v2.stderr);
    assert.equal(JSON.parse(v2.stdout).version, 'v2');
    const served = async () => JSON.parse((await itemvec(['similar', 'cli-0001', '--k', '2', '--home', home, '--json'])).stdout).version;
    assert.equal(await served(), 'v1');
    assert.equal((await itemvec(['versions', 'activate', 'v2', '--home', home])).code, 0);
    assert.equal(await served(), 'v2');
    const back = JSON.parse((await itemvec(['versions', 'rollback', '--home', home, '--json'])).stdout);
    assert.equal(back.activated.version, 'v1');
    assert.equal(await served(), 'v1');
    const list = JSON.parse((await itemvec(['versions', 'list', '--home', home, '--json'])).stdout);
    assert.deepEqual(
      list.map((v: { version: string; status: string }) => `${v.version}:${v.status}`),
      ['v1:active', 'v2:inactive'],
    );
  });
});

describe('itemvec run --storage halfvec', () => {
  test('a version stored as halfvec is served like any other; asking another storage of it exits 2', async () => {
    const ns = ['--home', home, '--namespace', 'half-cli'];
    const run = await itemvec(['run', '--catalog', catalog, ...ns, '--storage', 'halfvec', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const near = JSON.parse((await itemvec(['similar', 'cli-0001', '--k', '3', ...ns, '--mode', 'dense', '--json'])).stdout);
    assert.equal(near.candidates.length, 3);
    assert.ok(
      near.candidates.every((c: { category: string }) => c.category === 'Footwear > Hiking Boots'),
      JSON.stringify(near.candidates),
    );
    const [listed] = JSON.parse((await itemvec(['versions', 'list', ...ns, '--json'])).stdout);
    assert.equal(listed.storage, 'halfvec');
    assert.match((await itemvec(['versions', 'list', ...ns])).stdout, /halfvec/);

    const other = await itemvec(['run', '--catalog', catalog, ...ns], { ITEMVEC_VECTOR_STORAGE: 'vector' });
    assert.equal(other.code, 2);
    assert.match(other.stderr, /storage "halfvec" \(this run: "vector"\)/);
    const bad = await itemvec(['run', '--catalog', catalog, ...ns, '--storage', 'int8']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--storage.*int8.*vector, halfvec/);
  });
});

describe('exit codes and messages', () => {
  test('usage errors exit 2 and say what is wrong', async () => {
    const none = await itemvec(['run', '--home', home]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /give either --catalog FILE or --source URL --table NAME/);
    const badK = await itemvec(['similar', 'x', '--k', 'zero', '--home', home]);
    assert.equal(badK.code, 2);
    assert.match(badK.stderr, /--k must be a positive integer/);
    const badBlend = await itemvec(['similar', 'cli-0001', '--home', home], { BLEND_EMBEDDING_VERSION: 'default=' });
    assert.equal(badBlend.code, 2);
    assert.match(badBlend.stderr, /BLEND_EMBEDDING_VERSION="default=" is invalid/);
    const unknown = await itemvec(['similar', 'no-such-item', '--home', home]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /item "no-such-item" has no text embedding/);
  });

  test('an unreadable catalog exits 3 naming the file', async () => {
    const missing = await itemvec(['run', '--catalog', path.join(home, 'nope.jsonl'), '--home', home]);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /nope\.jsonl/);
  });

  test('a failure rate above 5% exits 6 after loading the good rows', async () => {
    const dir = await tempDir();
    const rows = [...sampleItems(5, 'alert'), { item_id: 'alert-bad', brand: 'x', category: 'y', image_url: 'z' }];
    const file = await writeJsonl(path.join(dir, 'c.jsonl'), rows);
    const r = await itemvec(['run', '--catalog', file, '--home', dir, '--json']);
    assert.equal(r.code, 6);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.embedded, 5);
    assert.equal(summary.rejected, 1);
    assert.match(r.stderr, /failure rate 16\.7% is above the 5\.0% threshold/);
    const failures = JSON.parse((await itemvec(['failures', 'list', '--home', dir, '--json'])).stdout);
    assert.equal(failures[0].item_id, 'alert-bad');
    assert.equal(failures[0].field, 'description');
  });

  test('no secret reaches stdout or stderr, even when the provider fails', async () => {
    const dir = await tempDir();
    const file = await writeJsonl(path.join(dir, 'c.jsonl'), sampleItems(2, 'sec'));
    const secret = 'sk-super-secret-value-42';
    // A real process: a secret written straight to a file descriptor, past the CLI's writers, must be caught too.
    const r = await binary(
      ['run', '--catalog', file, '--home', dir, '--provider', 'openai', '--base-url', 'http://127.0.0.1:9/v1', '--model', 'text-embedding-3-small'],
      { OPENAI_API_KEY: secret, DATABASE_URL: '', ITEMVEC_LOG_LEVEL: 'debug', ITEMVEC_MAX_RETRIES: '1' },
    );
    assert.notEqual(r.code, 0);
    assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), 'the API key must never be printed');
  });

  test('run --dry-run needs no API key, calls nothing and prints tokens, requests and cost', async () => {
    const server = await startOpenAIServer();
    try {
      const dir = await tempDir();
      const file = await writeJsonl(path.join(dir, 'c.jsonl'), sampleItems(30, 'dry'));
      const args = ['run', '--catalog', file, '--home', dir, '--provider', 'openai', '--base-url', server.url, '--dry-run'];
      const json = await itemvec([...args, '--json']);
      assert.equal(json.code, 0, json.stderr);
      const summary = JSON.parse(json.stdout);
      assert.equal(summary.dry_run, true);
      assert.equal(summary.embedded, 30);
      assert.equal(summary.api_calls, 1);
      assert.equal(summary.cost_usd, Math.round((summary.tokens / 1e6) * 0.13 * 1e6) / 1e6);
      const text = await itemvec(args);
      assert.match(text.stdout, /nothing was embedded or written/);
      assert.match(text.stdout, /estimated cost\s+\$0\.0\d{3}/);
      assert.equal(server.counters.requests, 0);
    } finally {
      await server.close();
    }
  });

  test('every command has help with examples', async () => {
    for (const cmd of [
      ['run'],
      ['similar'],
      ['search'],
      ['versions', 'list'],
      ['versions', 'create'],
      ['versions', 'activate'],
      ['versions', 'rollback'],
      ['versions', 'retire'],
      ['versions', 'delete'],
      ['failures', 'list'],
      ['failures', 'retry'],
      ['eval'],
      ['migrate'],
      ['serve'],
      ['keys', 'add'],
      ['keys', 'list'],
      ['keys', 'revoke'],
      ['enqueue'],
      ['worker'],
      ['schedule'],
      ['runs', 'list'],
      ['runs', 'show'],
      ['status'],
    ]) {
      const r = await itemvec([...cmd, '--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /Examples:/, `${cmd.join(' ')} --help shows examples`);
    }
    const top = await itemvec(['--help']);
    assert.match(top.stdout, /Exit codes:/);
    assert.match(top.stdout, /Environment:\n {2}ITEMVEC_CONFIG/);
  });

  test('--version prints the version of package.json', async () => {
    const { version } = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { version: string };
    const r = await itemvec(['--version']);
    assert.deepEqual([r.code, r.stdout], [0, `${version}\n`]);
  });
});

describe('the binary (src/cli/bin.ts)', () => {
  test('its exit code and output are those of the command: 0 with the version on stdout, 3 with the message on stderr', async () => {
    const version = await binary(['--version']);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^\d+\.\d+\.\d+/);
    const missing = await binary(['run', '--catalog', path.join(home, 'nope.jsonl'), '--home', home]);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /itemvec: .*nope\.jsonl/);
  });
});
