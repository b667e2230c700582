/**
 * One process at a time per embedded data folder (issue: two `itemvec run` on one ITEMVEC_HOME
 * left 2,646 duplicate primary keys). Real processes race for the folder; the loser waits
 * (--wait-lock) or exits 4 naming the holder; a holder killed with SIGKILL does not block the next.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DatabaseError } from '../src/errors.js';
import { openDb } from '../src/store/db.js';
import { migrate } from '../src/store/migrations.js';
import { tempDir } from '../testkit/fixtures.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ORG = '00000000-0000-0000-0000-000000000001';

/**
 * A writer as small as possible, so the races stay quick: `cycles` times, open the migrated folder
 * (waiting for the other writer), upsert 300 catalog rows in 3 transactions tagged with the cycle,
 * close. Two of them side by side race for the folder at every cycle.
 */
const WRITER = `
import { openDb } from ${JSON.stringify(path.join(root, 'src/store/db.ts'))};
import { upsertCatalogItems } from ${JSON.stringify(path.join(root, 'src/store/embeddings.ts'))};
const [home, tag, wait, cycles = '1'] = process.argv.slice(2);
try {
  for (let cycle = 0; cycle < Number(cycles); cycle++) {
    const db = await openDb({ home, lockWaitSeconds: Number(wait) });
    try {
      for (let batch = 0; batch < 3; batch++) {
        const rows = Array.from({ length: 100 }, (_, i) => ({ item: { itemId: 'item-' + (batch * 100 + i), title: null, description: tag + '-' + cycle, brand: 'b', category: 'c', imageUrl: '', tags: [], metadataVersion: null, orgId: '${ORG}', namespace: 'default' }, attributesHash: tag }));
        await db.transaction((tx) => upsertCatalogItems(tx, '${ORG}', 'default', rows));
      }
    } finally {
      await db.close();
    }
  }
} catch (err) {
  process.stderr.write(String(err.message) + '\\n');
  process.exitCode = err.exitCode ?? 1;
}
`;

async function writerScript(): Promise<string> {
  const file = path.join(await tempDir(), 'writer.mts');
  await writeFile(file, WRITER);
  return file;
}

const run = (script: string, home: string, tag: string, wait: number, cycles = 1) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', script, home, tag, String(wait), String(cycles)], { cwd: root }).then(
    (r) => ({ code: 0, stderr: r.stderr }),
    (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
  );

test('two writers race for one folder 20 times each: they take turns, one row per key, no cycle torn', async () => {
  const script = await writerScript();
  const home = await tempDir();
  const setup = await openDb({ home });
  await migrate(setup);
  await setup.close();
  const [a, b] = await Promise.all([run(script, home, 'a', 60, 20), run(script, home, 'b', 60, 20)]);
  assert.deepEqual([a.code, b.code], [0, 0], `${a.stderr}\n${b.stderr}`);
  assert.match(a.stderr + b.stderr, /waiting up to 60 s for the embedded database in .*pgdata, held by (process \d+ on .*|another process)/);
  const db = await openDb({ home });
  try {
    const [row] = await db.query<{ rows: number; keys: number; writers: string[] }>(
      'SELECT count(*)::int AS rows, count(DISTINCT item_id)::int AS keys, array_agg(DISTINCT description) AS writers FROM catalog_items',
    );
    assert.equal(row!.rows, 300, 'one row per key');
    assert.equal(row!.keys, 300);
    // The last cycle to run wrote every row: no cycle of the other writer interleaved with it.
    assert.ok(row!.writers.length === 1 && /^[ab]-19$/.test(row!.writers[0]!), row!.writers.join(', '));
  } finally {
    await db.close();
  }
});

test('without --wait-lock the second process exits 4 naming the holder; the folder is free once the holder closes', async () => {
  const home = await tempDir();
  const holder = await openDb({ home });
  await migrate(holder);
  const script = await writerScript();
  const refused = await run(script, home, 'late', 0);
  assert.equal(refused.code, 4);
  assert.match(
    refused.stderr,
    new RegExp(
      `the embedded database in .*pgdata is in use by process ${process.pid} on .* since .*: one process at a time can open it\\. Wait for it \\(--wait-lock SECONDS`,
    ),
  );
  // In this process too: a second handle on the same folder is refused, not opened beside the first.
  await assert.rejects(openDb({ home }), (err: unknown) => err instanceof DatabaseError && err.code === 'DB_LOCKED' && err.exitCode === 4);
  await holder.close();
  assert.equal((await run(script, home, 'now', 0)).code, 0);
});

test('a holder killed with SIGKILL leaves its lock behind, and the next process takes it at once', async () => {
  const home = await tempDir();
  const holdScript = path.join(await tempDir(), 'hold.mts');
  await writeFile(
    holdScript,
    `import { openDb } from ${JSON.stringify(path.join(root, 'src/store/db.ts'))};\nawait openDb({ home: process.argv[2] });\nprocess.stdout.write('held\\n');\nsetInterval(() => {}, 1000);\n`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', holdScript, home], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('held') && resolve()));
  await assert.rejects(
    openDb({ home }),
    (err: unknown) => err instanceof DatabaseError && err.code === 'DB_LOCKED' && new RegExp(`process ${child.pid} `).test(err.message),
  );
  child.kill('SIGKILL');
  await new Promise((resolve) => child.on('exit', resolve));
  const started = Date.now();
  const db = await openDb({ home });
  await db.close();
  assert.ok(Date.now() - started < 5_000, 'no stale timeout to sit out');
});

test('an ITEMVEC_HOME that cannot be written is a database error (exit 4), not a crash', async () => {
  const parent = await tempDir();
  await writeFile(path.join(parent, 'file'), 'not a folder');
  await assert.rejects(openDb({ home: path.join(parent, 'file', 'home') }), (err: unknown) => {
    assert.ok(err instanceof DatabaseError);
    assert.equal(err.exitCode, 4);
    assert.match(err.message, /cannot create the embedded database folder .*: .* \(ITEMVEC_HOME must be writable\)/);
    return true;
  });
});
