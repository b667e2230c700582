/**
 * The job against an OpenAI-compatible server over real HTTP: packing across the run, bounded
 * concurrency, retries, fatal errors, pacing by rate-limit headers, dry runs and cost.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { ConfigInput } from '../src/config.js';
import { RateLimiter } from '../src/embed/rate-limit.js';
import { ProviderError } from '../src/errors.js';
import { runEmbeddingJob } from '../src/pipeline/run.js';
import { retryDelayMs } from '../src/retry.js';
import { countItemVectors } from '../src/store/embeddings.js';
import { listFailures } from '../src/store/failures.js';
import { openaiTestConfig, quietLogger, type RawItem, sampleItems, tempDir, testConfig, writeJsonl } from '../testkit/fixtures.js';
import { type OpenAIServer, withOpenAIServer } from '../testkit/openai-server.js';
import { useTestDb } from '../testkit/test-db.js';

const { db, home } = useTestDb();
const logger = quietLogger();

const openaiConfig = (server: OpenAIServer, namespace: string, extra: ConfigInput = {}) => openaiTestConfig(home, server.url, { namespace, ...extra });

async function run(server: OpenAIServer, namespace: string, items: RawItem[], extra: ConfigInput = {}, dryRun = false) {
  const file = await writeJsonl(path.join(await tempDir(), 'catalog.jsonl'), items);
  return runEmbeddingJob({ config: openaiConfig(server, namespace, extra), source: { kind: 'file', path: file }, db, logger, dryRun });
}

const key = (namespace: string) => ({ orgId: testConfig(home).orgId, namespace, modality: 'text' as const, version: 'v1' });

describe('openai runs over HTTP', () => {
  test('packs the whole run: 1,000 cold items in one request; 1 % changed anywhere → one request of 10 inputs', async () => {
    await withOpenAIServer({}, async (server) => {
      const items = sampleItems(1000);
      const cold = await run(server, 'pack', items);
      assert.equal(cold.embedded, 1000);
      assert.equal(server.counters.requests, 1);
      assert.equal(cold.api_calls, 1);

      // Ten items changed, spread over the catalog (each read batch holds at most one of them).
      const changed = items.map((item, i) => (i % 100 === 7 ? { ...item, description: `${item.description} Now in red.` } : item));
      const before = server.counters.requests;
      const rerun = await run(server, 'pack', changed);
      assert.equal(rerun.embedded, 10);
      assert.equal(rerun.skipped_unchanged, 990);
      assert.equal(server.counters.requests - before, 1, '10 changed items must travel in one request');
      assert.equal((server.log.at(-1)!.body as { input: string[] }).input.length, 10);
    });
  });

  test('never more than `concurrency` requests in flight, and it uses them', async () => {
    await withOpenAIServer({ latencyMs: 40 }, async (server) => {
      const summary = await run(server, 'conc', sampleItems(400), { embed: { maxBatchInputs: 10, concurrency: 4 } });
      assert.equal(summary.embedded, 400);
      assert.equal(server.counters.requests, 40);
      assert.ok(server.counters.maxInFlight <= 4, `max in flight ${server.counters.maxInFlight} > 4`);
      assert.equal(server.counters.maxInFlight, 4, 'with 40 requests to send, all 4 slots fill up');
    });
  });

  test('429s, 500s and 503s are retried with backoff: every item lands and the summary counts the retries', async () => {
    await withOpenAIServer({}, async (server) => {
      server.setFaults([
        { status: 429, count: 2, retryAfterMs: 20 },
        { status: 500, count: 2 },
        { status: 503, count: 1 },
      ]);
      const summary = await run(server, 'retry', sampleItems(200), { embed: { maxBatchInputs: 20, concurrency: 2 } });
      assert.equal(summary.embedded, 200);
      assert.equal(summary.failed, 0);
      assert.equal(summary.retries, 5);
      assert.deepEqual(summary.retries_by_cause, { RATE_LIMITED: 2, UNAVAILABLE: 3 });
      assert.equal(server.counters.requests, 10 + 5);
      assert.equal(await countItemVectors(db, key('retry')), 200);
    });
  });

  test('retries are bounded: a request that keeps failing dead-letters its items, and the run goes on', async () => {
    await withOpenAIServer({}, async (server) => {
      server.setFaults([{ status: 500, count: 3 }]);
      const summary = await run(server, 'bounded', sampleItems(30), { embed: { maxBatchInputs: 10, concurrency: 1, maxRetries: 2 } });
      assert.equal(summary.failed, 10, 'the first request failed 3 times (1 + 2 retries)');
      assert.equal(summary.embedded, 20);
      const failures = await listFailures(db, { orgId: key('bounded').orgId, namespace: 'bounded' });
      assert.equal(failures.length, 10);
      assert.ok(failures.every((f) => f.stage === 'embed' && f.error_class === 'UNAVAILABLE' && /after 3 attempts/.test(f.message)));
    });
  });

  test('10 % of responses failing (429, 500, 503, reset, hang): every item lands; the summary reports the retries', async () => {
    await withOpenAIServer({ faultRate: { rate: 0.1, seed: 7, kinds: ['429', '500', '503', 'reset', 'hang'] } }, async (server) => {
      const summary = await run(server, 'flaky', sampleItems(2000), { embed: { maxBatchInputs: 20, concurrency: 8, timeoutMs: 1000 } });
      assert.equal(summary.embedded, 2000);
      assert.equal(summary.failed, 0);
      assert.equal(await countItemVectors(db, key('flaky')), 2000);
      const injected = Object.values(server.counters.faults).reduce((a, b) => a + b, 0);
      assert.ok(injected >= 5, `the server must have injected faults (got ${injected})`);
      assert.equal(summary.retries, injected, 'one retry per injected fault');
      assert.equal(summary.api_calls, 100 + injected);
      for (const cause of Object.keys(summary.retries_by_cause)) assert.ok(['RATE_LIMITED', 'UNAVAILABLE', 'TIMEOUT'].includes(cause), cause);
      if (server.counters.faults.hang) assert.ok(summary.retries_by_cause.TIMEOUT, 'a hung request is retried after its timeout');
    });
  });

  test('one poisoned input among 2,048 in one request costs one dead-letter row, not 2,048', async () => {
    await withOpenAIServer({ poison: 'POISON' }, async (server) => {
      const items = sampleItems(2048);
      items[1500] = { ...items[1500]!, description: `${items[1500]!.description} POISON` };
      const summary = await run(server, 'poison', items);
      assert.equal(summary.embedded, 2047);
      assert.equal(summary.failed, 1);
      const failures = await listFailures(db, { orgId: key('poison').orgId, namespace: 'poison' });
      assert.equal(failures.length, 1);
      assert.equal(failures[0]?.item_id, items[1500]!.item_id);
      assert.equal(failures[0]?.error_class, 'BAD_REQUEST');
      assert.match(failures[0]!.message, /'\$\.input' is invalid/);
      // Bisecting 2,048 inputs down to one: two requests per level, 11 levels, plus the first.
      assert.ok(server.counters.requests <= 1 + 2 * 11, `bisect used ${server.counters.requests} requests`);
    });
  });

  test('401 and 429 insufficient_quota stop the run at once, without retrying', async () => {
    await withOpenAIServer({}, async (server) => {
      server.setFaults([{ status: 429, count: 100, code: 'insufficient_quota' }]);
      const err = await run(server, 'quota', sampleItems(50), { embed: { maxBatchInputs: 10, concurrency: 1 } }).then(
        () => assert.fail('the run must stop'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ProviderError);
      assert.equal(err.code, 'QUOTA');
      assert.equal(err.exitCode, 5);
      assert.equal(server.counters.requests, 1, 'no retry and no further request after a quota error');

      server.setFaults([]);
      const before = server.counters.requests;
      const auth = await run(server, 'auth', sampleItems(50), { embed: { apiKey: 'sk-wrong-key-0123456789', concurrency: 1, maxBatchInputs: 10 } }).then(
        () => assert.fail('the run must stop'),
        (e: unknown) => e,
      );
      assert.ok(auth instanceof ProviderError);
      assert.equal(auth.code, 'AUTH');
      assert.equal(server.counters.requests - before, 1);
      assert.doesNotMatch(auth.message, /sk-wrong-key-0123456789/);
    });
  });

  test("paces by the server's rate-limit headers: a run larger than the token budget finishes with few 429s", async () => {
    // 12,000 tokens per minute = 200 per second; the catalog is sized (by a dry run) to ~1.2k tokens
    // over one minute's budget, so about 6 s of the run must be paced.
    await withOpenAIServer({ tokensPerMinute: 12_000 }, async (server) => {
      const plan = await run(server, 'paced', sampleItems(100), {}, true);
      const items = sampleItems(Math.ceil((13_200 / plan.tokens) * 100));
      const summary = await run(server, 'paced', items, { embed: { maxBatchInputs: 16, concurrency: 4 } });
      assert.equal(summary.embedded, items.length);
      assert.equal(summary.failed, 0);
      assert.ok(summary.tokens > 12_000, `the catalog must exceed one minute's budget (tokens ${summary.tokens})`);
      const throttled = summary.retries_by_cause.RATE_LIMITED ?? 0;
      // Unpaced, this run draws ~6 429s (measured); paced by the headers, 0.
      assert.ok(throttled <= 2, `pacing should prevent 429s, got ${throttled}`);
    });
  });

  test('a request larger than the whole per-minute token budget is split, not retried forever', async () => {
    // 6,000 tokens per minute; the catalog is ~6.6k tokens, which packing alone would send at once.
    await withOpenAIServer({ tokensPerMinute: 6_000 }, async (server) => {
      const plan = await run(server, 'split', sampleItems(100), {}, true);
      const items = sampleItems(Math.ceil((6_600 / plan.tokens) * 100));
      const summary = await run(server, 'split', items, { embed: { concurrency: 1 } });
      assert.equal(summary.embedded, items.length);
      assert.equal(summary.failed, 0);
      const sizes = server.log.filter((r) => r.path === '/v1/embeddings').map((r) => (r.body as { input: string[] }).input.length);
      assert.equal(sizes[0], items.length, 'the first request carried everything');
      assert.ok(sizes.length >= 3 && sizes.slice(1).every((n) => n < items.length), `then halves: ${sizes.join(', ')}`);
    });
  });

  test('--dry-run counts items, tokens, requests and cost without calling the API or writing', async () => {
    await withOpenAIServer({}, async (server) => {
      const summary = await run(server, 'dry', sampleItems(300), { embed: { maxBatchInputs: 100 } }, true);
      assert.equal(summary.dry_run, true);
      assert.equal(server.counters.requests, 0);
      assert.equal(summary.embedded, 300);
      assert.equal(summary.api_calls, 3);
      assert.ok(summary.tokens > 300 * 10);
      assert.equal(summary.cost_usd, Math.round((summary.tokens / 1e6) * 0.02 * 1e6) / 1e6);
      assert.equal(await countItemVectors(db, key('dry')), 0);
      const versions = await db.query('SELECT 1 FROM embedding_versions WHERE namespace = $1', ['dry']);
      assert.equal(versions.length, 0, 'a dry run registers no version');

      const real = await run(server, 'dry', sampleItems(300), { embed: { maxBatchInputs: 100 } });
      assert.equal(real.tokens, summary.tokens, 'the dry run predicts the billed tokens');
      assert.equal(real.api_calls, summary.api_calls);
      assert.equal(real.cost_usd, summary.cost_usd);
    });
  });

  test('cost follows the config price table; an unknown model has an unknown cost', async () => {
    await withOpenAIServer({ models: { 'house-embed': { dims: 16, dimensions: false } } }, async (server) => {
      const unknown = await run(server, 'price-a', sampleItems(20), { embed: { model: 'house-embed', dims: 16 } });
      assert.equal(unknown.cost_usd, null);
      const priced = await run(server, 'price-b', sampleItems(20), { embed: { model: 'house-embed', dims: 16 }, prices: { 'house-embed': 1 } });
      assert.equal(priced.cost_usd, Math.round(priced.tokens) / 1e6);
    });
  });
});

describe('retry policy and rate limiter', () => {
  test('full jitter: delays are uniform under a doubling, capped ceiling; a server wait wins', () => {
    const policy = { maxRetries: 6, baseDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(
      retryDelayMs(policy, 1, undefined, () => 0.999),
      100,
    );
    assert.equal(
      retryDelayMs(policy, 3, undefined, () => 0.5),
      200,
    );
    assert.equal(
      retryDelayMs(policy, 10, undefined, () => 0.999),
      999,
    );
    assert.equal(
      retryDelayMs(policy, 4, undefined, () => 0),
      0,
    );
    assert.equal(
      retryDelayMs(policy, 1, 2000, () => 0),
      2000,
    );
  });

  test('a token budget makes later requests wait for refill, in arrival order', async () => {
    const limiter = new RateLimiter({ tpm: 6000 }); // 100 tokens per second
    const order: number[] = [];
    const started = performance.now();
    await limiter.acquire(6000);
    assert.ok(performance.now() - started < 100, 'a full bucket serves at once');
    await Promise.all([limiter.acquire(30).then(() => order.push(1)), limiter.acquire(10).then(() => order.push(2))]);
    assert.deepEqual(order, [1, 2]);
    assert.ok(performance.now() - started >= 350, 'the 40 tokens after an empty bucket take ~0.4 s to refill');
  });

  test('server headers lower the budget; a pause holds every caller', async () => {
    const limiter = new RateLimiter();
    limiter.observe({ limitTokens: 60_000, remainingTokens: 0 });
    const started = performance.now();
    await limiter.acquire(100); // 1,000 tokens/s → ~100 ms
    assert.ok(performance.now() - started >= 80);
    limiter.pause(150);
    const paused = performance.now();
    await limiter.acquire(1);
    assert.ok(performance.now() - paused >= 140);
  });
});
