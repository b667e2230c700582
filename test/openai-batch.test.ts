/**
 * `itemvec run --mode batch` against the local server's Files and Batches endpoints over real HTTP:
 * round trip, dead letters from the error file, lost answers, submit-and-exit, and a run killed
 * with SIGKILL after submitting that, started again, finishes without submitting again.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ConfigInput } from '../src/config.js';
import { retryFailures } from '../src/pipeline/retry-failures.js';
import { runEmbeddingJob } from '../src/pipeline/run.js';
import { countItemVectors } from '../src/store/embeddings.js';
import { listFailures } from '../src/store/failures.js';
import { openaiTestConfig, quietLogger, type RawItem, sampleItems, tempDir, testConfig, writeJsonl } from '../testkit/fixtures.js';
import { type OpenAIServer, type OpenAIServerOptions, withOpenAIServer } from '../testkit/openai-server.js';
import { startPgliteServer } from '../testkit/pglite-server.js';
import { CLI_PROCESS_ARGS } from '../testkit/run-cli.js';
import { useTestDb } from '../testkit/test-db.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { db, home } = useTestDb();
const logger = quietLogger();

/** Batches move through their states in 10 ms steps, so tests poll a few times, not for seconds. */
const withServer = (opts: OpenAIServerOptions, fn: (server: OpenAIServer) => Promise<void>) => withOpenAIServer({ batchDelayMs: 10, ...opts }, fn);

const batchConfig = (server: OpenAIServer, namespace: string, extra: ConfigInput = {}) =>
  openaiTestConfig(home, server.url, { namespace, ...extra, run: { mode: 'batch', ...extra.run }, batch: { pollIntervalMs: 20, ...extra.batch } });

async function run(server: OpenAIServer, namespace: string, items: RawItem[], extra: ConfigInput = {}) {
  const file = await writeJsonl(path.join(await tempDir(), 'catalog.jsonl'), items);
  return runEmbeddingJob({ config: batchConfig(server, namespace, extra), source: { kind: 'file', path: file }, db, logger });
}

const key = (namespace: string) => ({ orgId: testConfig(home).orgId, namespace, modality: 'text' as const, version: 'v1' });

describe('--mode batch', () => {
  test('files of at most maxRequestsPerFile requests; results loaded; a poisoned line is one dead letter; half price', async () => {
    await withServer({ poison: 'POISON' }, async (server) => {
      const items = sampleItems(250);
      items[123] = { ...items[123]!, description: `${items[123]!.description} POISON` };
      const summary = await run(server, 'round', items, { batch: { maxRequestsPerFile: 100 } });
      assert.equal(server.counters.filesUploaded, 3);
      assert.equal(server.counters.batchesCreated, 3);
      assert.equal(server.counters.byRoute['POST /v1/embeddings'] ?? 0, 0, 'batch mode never calls the synchronous endpoint');
      assert.deepEqual(summary.batches, { submitted: 3, loaded: 3, pending: 0, items_in_open_batches: 0 });
      assert.equal(summary.embedded, 249);
      assert.equal(summary.failed, 1);
      assert.equal(await countItemVectors(db, key('round')), 249);
      const [failure, ...more] = await listFailures(db, { orgId: key('round').orgId, namespace: 'round' });
      assert.equal(more.length, 0);
      assert.equal(failure?.item_id, items[123]!.item_id);
      assert.equal(failure?.error_class, 'BAD_REQUEST');
      assert.equal(summary.tokens, server.counters.batchTokens);
      assert.equal(summary.cost_usd, Math.round((summary.tokens / 1e6) * 0.02 * 0.5 * 1e6) / 1e6);

      // A synchronous rerun agrees: 249 vectors are current; the poisoned item fails again.
      const again = await run(server, 'round', items, { run: { mode: 'sync' } });
      assert.equal(again.skipped_unchanged, 249);
      assert.equal(again.failed, 1);
      const [vector] = await db.query<{ v: string }>("SELECT vector::text AS v FROM item_embeddings WHERE namespace = 'round' AND item_id = $1", [
        items[0]!.item_id,
      ]);
      await run(server, 'round-sync', items.slice(0, 1), { run: { mode: 'sync' } });
      const [sync] = await db.query<{ v: string }>("SELECT vector::text AS v FROM item_embeddings WHERE namespace = 'round-sync' AND item_id = $1", [
        items[0]!.item_id,
      ]);
      assert.equal(vector?.v, sync?.v, 'a batch result is the vector the synchronous endpoint returns');

      // Fixed upstream: `failures retry` replays the dead letter with the version's settings.
      server.setPoison(undefined);
      const [retried, ...others] = await retryFailures({
        config: batchConfig(server, 'round', { run: { mode: 'sync' } }),
        db,
        logger,
        filter: { namespace: 'round' },
      });
      assert.equal(others.length, 0);
      assert.equal(retried?.replayed, 1);
      assert.equal(retried?.resolved, 1);
      assert.equal(retried?.summary.embedded, 1);
      assert.equal(await countItemVectors(db, key('round')), 250);
      assert.equal((await listFailures(db, { orgId: key('round').orgId, namespace: 'round' })).length, 0);
    });
  });

  test('a lost answer to "create batch" is retried without creating a second batch', async () => {
    await withServer({}, async (server) => {
      server.setFaults([{ status: 500, count: 1, route: 'POST /v1/batches', phase: 'after' }]);
      const summary = await run(server, 'lost', sampleItems(40));
      assert.equal(summary.embedded, 40);
      assert.equal(server.counters.batchesCreated, 1);
    });
  });

  test('--no-wait submits and exits; a run while it is running submits nothing again; a later run loads it', async () => {
    await withServer({ holdBatches: true }, async (server) => {
      const items = sampleItems(60);
      const first = await run(server, 'nowait', items, { batch: { wait: false } });
      assert.deepEqual(first.batches, { submitted: 1, loaded: 0, pending: 1, items_in_open_batches: 0 });
      assert.equal(first.embedded, 0);

      const second = await run(server, 'nowait', items, { batch: { wait: false } });
      assert.equal(second.batches.submitted, 0);
      assert.equal(second.batches.items_in_open_batches, 60);
      assert.equal(server.counters.batchesCreated, 1);

      server.setHoldBatches(false);
      const third = await run(server, 'nowait', items);
      assert.equal(third.batches.loaded, 1);
      assert.equal(third.embedded, 60);
      assert.equal(third.batches.submitted, 0);
      assert.equal(server.counters.batchesCreated, 1);
      assert.equal(await countItemVectors(db, key('nowait')), 60);
    });
  });

  // Bounded: two CLI processes, and a wait for the first one's polling that must never hang CI.
  test('killed with SIGKILL after submitting, then started again: completes without resubmitting', { timeout: 180_000 }, async () => {
    const database = await startPgliteServer();
    try {
      await withServer({ holdBatches: true }, async (server) => {
        const dir = await tempDir();
        const catalog = await writeJsonl(path.join(dir, 'catalog.jsonl'), sampleItems(120));
        const args = [
          ...CLI_PROCESS_ARGS,
          'run',
          '--catalog',
          catalog,
          '--home',
          dir,
          '--mode',
          'batch',
          '--no-index',
          '--json',
          '--provider',
          'openai',
          '--model',
          'text-embedding-3-small',
          '--dims',
          '32',
          '--base-url',
          server.url,
          '--namespace',
          'killed',
        ];
        const env = {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          OPENAI_API_KEY: 'sk-test',
          DATABASE_URL: database.url,
          ITEMVEC_CONFIG: await writeJsonl(path.join(dir, 'config.json'), [{ batch: { pollIntervalMs: 20 } }]),
        };

        const child = spawn(process.execPath, args, { cwd: root, env, stdio: 'ignore' });
        const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
        // Polling has begun: the batch is submitted and its id recorded.
        while ((server.counters.byRoute['GET /v1/batches/:id'] ?? 0) < 2) {
          assert.equal(child.exitCode, null, 'the first run ended before it polled its batch');
          await new Promise((r) => setTimeout(r, 20));
        }
        child.kill('SIGKILL');
        assert.equal(await exited, 'SIGKILL');
        assert.equal(server.counters.batchesCreated, 1);

        server.setHoldBatches(false);
        const restarted = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        restarted.stdout.on('data', (d: Buffer) => (stdout += d));
        restarted.stderr.on('data', (d: Buffer) => (stderr += d));
        const code = await new Promise<number | null>((resolve) => restarted.once('exit', resolve));
        assert.equal(code, 0, stderr);
        const summary = JSON.parse(stdout);
        assert.equal(summary.embedded, 120);
        assert.equal(summary.batches.loaded, 1);
        assert.equal(summary.batches.submitted, 0);
        assert.equal(server.counters.batchesCreated, 1, 'no batch was submitted twice');
        assert.equal(server.counters.filesUploaded, 1);
      });
    } finally {
      await database.close();
    }
  });
});
