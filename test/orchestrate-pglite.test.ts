/**
 * The distributed mode on the embedded default: pg-boss through its PGlite adapter, in the same
 * PGlite instance as the data, one process. Schedules are stored and their job runs as a sharded
 * run; a shard left active by a worker that died is retried after its heartbeat lapses; 10 %
 * failures make the close job alert (a real HTTP receiver); an error no retry can fix fails the run.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Config } from '../src/config.js';
import { planRun } from '../src/orchestrate/plan.js';
import { openQueue, QUEUES } from '../src/orchestrate/queue.js';
import { listSchedules, registerSchedules } from '../src/orchestrate/schedule.js';
import { runSpec, type ShardData } from '../src/orchestrate/spec.js';
import { startWorker, type Worker } from '../src/orchestrate/worker.js';
import { getRun, markInterrupted, type RunDetail } from '../src/store/runs.js';
import { quietLogger, sampleItems, testConfig, writeJsonl } from '../testkit/fixtures.js';
import { type OpenAIServer, startOpenAIServer } from '../testkit/openai-server.js';
import { type Receiver, startReceiver } from '../testkit/receiver.js';
import { useTestDb } from '../testkit/test-db.js';

let openai: OpenAIServer;
let hook: Receiver;
let worker: Worker | undefined;
let config: Config;

// Registered before useTestDb(): after() hooks run in registration order, and the worker uses the database until it stops.
after(() => worker?.stop(1_000));
const { db, home } = useTestDb();

before(async () => {
  openai = await startOpenAIServer({ poison: 'POISON', latencyMs: 10 });
  hook = await startReceiver();
  config = testConfig(home, {
    namespace: 'emb',
    embed: { provider: 'openai', model: 'text-embedding-3-small', dims: 32, baseURL: openai.url, apiKey: 'sk-test', maxBatchInputs: 50 },
    // The shortest heartbeat pg-boss allows, and a monitor pass every second, so a dead worker's shard comes back in ~10 s.
    queue: { shards: 4, heartbeatSeconds: 10, monitorIntervalSeconds: 1, retryDelaySeconds: 1, pollingIntervalSeconds: 0.5, retryLimit: 2 },
    alert: { webhookUrl: `${hook.url}/hooks/secret`, timeoutMs: 2_000, maxRetries: 1 },
  });
});
after(async () => {
  await hook?.close();
  await openai?.close();
});

async function waitForEnd(runId: string, timeoutMs = 60_000): Promise<RunDetail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await getRun(db, runId);
    if (run && run.status !== 'running') return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${run?.status ?? 'unknown'} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const count = async (sql: string, params: unknown[] = []) => (await db.query<{ n: number }>(sql, params))[0]!.n;

test('a scheduled run on the embedded queue: 4 shards, 10 % failures, the close job records it and alerts', async () => {
  const items = sampleItems(400, 'emb').map((item, i) => (i % 10 === 7 ? { ...item, description: `${item.description} POISON` } : item));
  const catalog = await writeJsonl(path.join(home, 'catalog.jsonl'), items);
  const queue = await openQueue(config, db, quietLogger());
  let runId: string;
  try {
    const set = await registerSchedules(queue, config, { kind: 'file', path: catalog });
    assert.deepEqual(
      set.map((s) => [s.key, s.cron, s.tz]),
      [
        ['text.emb.v1', '0 2 * * *', 'UTC'],
        ['image.emb.v1', '0 3 * * 0', 'UTC'],
      ],
    );
    const stored = await listSchedules(queue);
    assert.deepEqual(stored.map((s) => s.key).sort(), ['image.emb.v1', 'text.emb.v1']);
    // What pg-boss's timekeeper sends to the plan queue when the text cron comes due.
    const [text] = await queue.boss.getSchedules(QUEUES.plan, 'text.emb.v1');
    runId = (await queue.boss.send(QUEUES.plan, text!.data as object))!;
  } finally {
    await queue.stop();
  }

  worker = await startWorker({ config, logger: quietLogger(), db, serveMetrics: false });
  const run = await waitForEnd(runId);
  assert.equal(run.status, 'succeeded');
  assert.equal(run.trigger, 'schedule');
  assert.equal(run.shards, 4);
  assert.deepEqual([run.items_seen, run.embedded, run.failed, run.failure_rate], [400, 360, 40, 0.1]);
  assert.equal(await count(`SELECT count(DISTINCT item_id)::int AS n FROM item_embeddings WHERE namespace = 'emb'`), 360);
  // The close job built the version's HNSW index once, after every shard had loaded.
  assert.equal(
    await count(`SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = 'item_embeddings' AND indexdef LIKE '%hnsw%' AND indexdef LIKE '%''emb''%'`),
    1,
  );

  const [alert] = await hook.waitFor(1);
  assert.equal(alert!.path, '/hooks/secret');
  assert.match(
    (JSON.parse(alert!.body) as { text: string }).text,
    new RegExp(`failure rate 10\\.0% is above the 5\\.0% threshold: 40 of 400 items failed in run ${runId}`),
  );
  assert.equal((run.summary as { shard_run_ids: string[] }).shard_run_ids.length, 4);
});

test('a shard left active by a dead worker is retried after its heartbeat lapses; an error retries cannot fix fails the run at once', async () => {
  await worker?.stop(1_000);
  worker = undefined;
  const catalog = await writeJsonl(path.join(home, 'resume.jsonl'), sampleItems(400, 'resume'));
  const queue = await openQueue(config, db, quietLogger());
  let resumed: string;
  let abandoned: string;
  try {
    resumed = (
      await planRun(queue, db, runSpec({ ...config, namespace: 'resume' }, { kind: 'file', path: catalog }), { trigger: 'test', logger: quietLogger() })
    ).runId;
    // A worker takes a shard and dies: the job stays active with no heartbeat, as after a SIGKILL.
    const [taken] = await queue.boss.fetch<ShardData>(QUEUES.shard);
    abandoned = taken!.id;
    // Its planner process is long gone too, yet a one-shot run of the version leaves the row alone: the queue owns it.
    assert.deepEqual(await markInterrupted(db, { version: 'v1', modality: 'text' }, 0), []);
  } finally {
    await queue.stop();
  }
  const hookStart = hook.requests.length;
  const started = Date.now();
  worker = await startWorker({ config, logger: quietLogger(), db, serveMetrics: false });
  const run = await waitForEnd(resumed);
  assert.equal(run.status, 'succeeded');
  assert.deepEqual([run.items_seen, run.embedded, run.failed], [400, 400, 0]);
  assert.ok(Date.now() - started >= 10_000, 'the abandoned shard waited for its heartbeat to lapse');
  const [job] = await worker.queue.boss.findJobs(QUEUES.shard, { id: abandoned });
  assert.equal(job?.state, 'completed');
  assert.equal(job?.retryCount, 1, 'the abandoned shard ran again');
  assert.equal(await count(`SELECT count(*)::int AS n FROM item_embeddings WHERE namespace = 'resume'`), 400);
  assert.equal(hook.requests.length, hookStart, 'no alert for a clean run');

  // Same version, other dims: the version record refuses it (ConfigError), so no retry is spent.
  const fatal = await planRun(worker.queue, db, runSpec({ ...config, embed: { ...config.embed, dims: 16 } }, { kind: 'file', path: catalog }, 2), {
    trigger: 'test',
    logger: quietLogger(),
  });
  const failed = await waitForEnd(fatal.runId, 30_000);
  assert.equal(failed.status, 'failed');
  assert.match(
    failed.error ?? '',
    /^shard \d of 2 failed after 1 attempt\(s\): version "v1" of namespace "emb" \(text\) was created with different settings: dims 32 \(this run: 16\)/,
  );
  const [message] = (await hook.waitFor(hookStart + 1)).slice(hookStart);
  assert.match((JSON.parse(message!.body) as { text: string }).text, new RegExp(`run ${fatal.runId} failed`));
  // Its close job was cancelled: it can never run.
  const [close] = await worker.queue.boss.findJobs(QUEUES.close, { data: { runId: fatal.runId } });
  assert.equal(close?.state, 'cancelled');
});
