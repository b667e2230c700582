/**
 * The distributed mode as deployed: the pg-boss queue on this machine's PostgreSQL server (its own
 * random schema), the data on a pgvector database over the wire (PGlite; the PG 15 server has no
 * pgvector), two `itemvec worker` processes running the real CLI, a run queued with
 * `itemvec enqueue`, and one worker killed with SIGKILL in the middle of a shard.
 */
import assert from 'node:assert/strict';
import { type ChildProcessByStdio, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type pg from 'pg';
import { openQueue, QUEUES } from '../src/orchestrate/queue.js';
import { type Db, openDb } from '../src/store/db.js';
import { quietLogger, sampleItems, tempDir, testConfig, writeJsonl } from '../testkit/fixtures.js';
import { connectTestPostgres, needServer, TEST_PG_URL } from '../testkit/local-postgres.js';
import { type OpenAIServer, startOpenAIServer } from '../testkit/openai-server.js';
import { type PgliteServer, startPgliteServer } from '../testkit/pglite-server.js';
import { CLI_PROCESS_ARGS } from '../testkit/run-cli.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const exec = promisify(execFile);
const ITEMS = 20_000;
const SHARDS = 4;
const schema = `itemvec_queue_${randomBytes(4).toString('hex')}`;

let admin: pg.Client | null = null;
let unreachable: string | null = null;
let data: PgliteServer;
let openai: OpenAIServer;
let db: Db | undefined;
const workers: Array<ChildProcessByStdio<null, Readable, Readable>> = [];

before(async () => {
  ({ client: admin, unreachable } = await connectTestPostgres());
  // Two workers, the enqueuer, the CLI and this test each hold a few connections to the data, and
  // their queries overlap: whole exchanges, or pglite-socket interleaves their protocol messages.
  data = await startPgliteServer({ maxConnections: 32, wholeExchanges: true });
  openai = await startOpenAIServer({ latencyMs: 100 });
});
after(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  await db?.close();
  await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
  await admin?.end();
  await openai?.close();
  await data?.close();
});

interface LogLine {
  msg: string;
  shard?: number;
  distributed_run_id?: string;
}

/** A worker process, its stderr log lines as they come, and its metrics URL (from its --json line). */
async function startWorkerProcess(env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [...CLI_PROCESS_ARGS, 'worker', '--json'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  workers.push(child);
  const lines: LogLine[] = [];
  let partial = '';
  child.stderr.on('data', (d: Buffer) => {
    partial += d;
    const complete = partial.split('\n');
    partial = complete.pop()!;
    for (const l of complete) if (l.startsWith('{')) lines.push(JSON.parse(l) as LogLine);
  });
  const ready = await new Promise<{ metrics_url: string }>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!) as { metrics_url: string });
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${lines.map((l) => l.msg).join('; ')}`)));
  });
  return { child, lines, metricsUrl: ready.metrics_url };
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('two workers finish a sharded 20,000-item run; one killed with SIGKILL mid-shard, every item is loaded exactly once', { timeout: 180_000 }, async (t) => {
  if (!needServer(t, unreachable)) return;
  const home = await tempDir();
  const catalog = await writeJsonl(path.join(home, 'catalog.jsonl'), sampleItems(ITEMS, 'dist'));
  // Small requests, two in flight, 100 ms each: a 5,000-item shard takes ~3 s, long enough to be killed inside.
  const configFile = await writeJsonl(path.join(home, 'config.json'), [
    {
      embed: { maxBatchInputs: 100, concurrency: 2 },
      queue: { schema, heartbeatSeconds: 10, monitorIntervalSeconds: 1, retryDelaySeconds: 1, pollingIntervalSeconds: 0.5 },
    },
  ]);
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    ITEMVEC_HOME: home,
    ITEMVEC_CONFIG: configFile,
    ITEMVEC_LOG_LEVEL: 'info',
    DATABASE_URL: data.url,
    ITEMVEC_QUEUE_URL: TEST_PG_URL,
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: openai.url,
    ITEMVEC_METRICS_PORT: '0',
  };
  const started = performance.now();
  const [a, b] = await Promise.all([startWorkerProcess(env), startWorkerProcess(env)]);

  const queued = await exec(
    process.execPath,
    [
      ...CLI_PROCESS_ARGS,
      'enqueue',
      '--catalog',
      catalog,
      '--namespace',
      'dist',
      '--shards',
      String(SHARDS),
      '--no-index',
      '--json',
      '--provider',
      'openai',
      '--model',
      'text-embedding-3-small',
      '--dims',
      '32',
      '--trigger',
      'test',
    ],
    { cwd: root, env },
  );
  const { run_id: runId } = JSON.parse(queued.stdout) as { run_id: string };

  // Kill worker A in the middle of its first shard.
  const victim = await until('worker A to start a shard', () => a.lines.find((l) => l.msg === 'shard started'));
  assert.equal(victim.distributed_run_id, runId);
  await new Promise((r) => setTimeout(r, 800));
  const killed = new Promise((resolve) => a.child.once('exit', (_code, signal) => resolve(signal)));
  a.child.kill('SIGKILL');
  assert.equal(await killed, 'SIGKILL');
  assert.ok(!a.lines.some((l) => l.msg.startsWith('run finished') || l.msg.startsWith('failure rate')), 'worker A died before finishing its shard');

  db = await openDb({ databaseUrl: data.url, home });
  const run = await until(
    'the run to end',
    async () => {
      const [row] = await db!.query<{ status: string }>('SELECT status FROM embedding_runs WHERE run_id = $1', [runId]);
      return row && row.status !== 'running' ? row : undefined;
    },
    90_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; worker B said: ${b.lines.map((l) => JSON.stringify(l)).join('\n')}`);
  });
  const seconds = (performance.now() - started) / 1000;
  assert.equal(run.status, 'succeeded');

  const [counts] = await db.query<{ rows: number; items: number; catalog: number; failures: number }>(
    `SELECT (SELECT count(*)::int FROM item_embeddings WHERE namespace = 'dist') AS rows,
            (SELECT count(DISTINCT item_id)::int FROM item_embeddings WHERE namespace = 'dist') AS items,
            (SELECT count(*)::int FROM catalog_items WHERE namespace = 'dist') AS catalog,
            (SELECT count(*)::int FROM embedding_failures WHERE namespace = 'dist') AS failures`,
  );
  assert.deepEqual(counts, { rows: ITEMS, items: ITEMS, catalog: ITEMS, failures: 0 });

  // The record, through the CLI an operator uses.
  const shown = JSON.parse((await exec(process.execPath, [...CLI_PROCESS_ARGS, 'runs', 'show', runId, '--json'], { cwd: root, env })).stdout) as Record<
    string,
    unknown
  >;
  assert.equal(shown.status, 'succeeded');
  assert.equal(shown.trigger, 'test');
  assert.equal(shown.shards, SHARDS);
  assert.equal(shown.items_seen, ITEMS);
  assert.equal(shown.failed, 0);
  assert.equal(shown.failure_rate, 0);
  const summary = shown.summary as { embedded: number; skipped_unchanged: number; shard_run_ids: string[] };
  // Items the killed attempt had loaded count as unchanged in the attempt that finished its shard.
  assert.equal(summary.embedded + summary.skipped_unchanged, ITEMS);
  assert.equal(summary.shard_run_ids.length, SHARDS);
  const status = JSON.parse((await exec(process.execPath, [...CLI_PROCESS_ARGS, 'status', '--namespace', 'dist', '--json'], { cwd: root, env })).stdout) as {
    versions: Array<{ version: string; catalog_items: number; embedded: number; pending: number }>;
    running: unknown[];
  };
  assert.deepEqual(
    status.versions.map((v) => [v.version, v.catalog_items, v.embedded, v.pending]),
    [['v1', ITEMS, ITEMS, 0]],
  );
  assert.deepEqual(status.running, []);

  // In the queue: every shard completed, and the one worker A held ran a second time (on worker B).
  const queue = await openQueue(testConfig(home, { queue: { url: TEST_PG_URL, schema } }), null, quietLogger());
  try {
    const shards = await queue.boss.findJobs<{ index: number }>(QUEUES.shard, { data: { runId } });
    assert.deepEqual(
      shards.map((s) => s.state),
      Array(SHARDS).fill('completed'),
    );
    assert.equal(shards.find((s) => s.data.index === victim.shard)?.retryCount, 1, 'the killed shard was taken up again');
  } finally {
    await queue.stop();
  }
  assert.ok(
    b.lines.some((l) => l.msg === 'shard started' && l.shard === victim.shard),
    'worker B took over the shard',
  );

  // Worker B's /metrics: its shards' items, requests and jobs.
  const metrics = await (await fetch(b.metricsUrl)).text();
  const embedded = Number(/^itemvec_embed_items_total\{modality="text",outcome="embedded"\} (\d+)$/m.exec(metrics)?.[1]);
  assert.ok(embedded >= ITEMS / SHARDS, `worker B embedded ${embedded}`);
  assert.match(metrics, /^itemvec_embed_request_duration_seconds_count\{modality="text"\} \d+$/m);
  assert.match(metrics, /^itemvec_queue_jobs_total\{queue="close",outcome="completed"\} 1$/m);

  const stopped = new Promise((resolve) => b.child.once('exit', (code) => resolve(code)));
  b.child.kill('SIGTERM');
  assert.equal(await stopped, 0);
  t.diagnostic(
    `${ITEMS} items in ${SHARDS} shards on 2 workers, one killed: ${seconds.toFixed(1)} s to the run's end; ${openai.counters.inputs} inputs sent (${openai.counters.inputs - ITEMS} again after the kill)`,
  );
});
