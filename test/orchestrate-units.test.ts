/** The pieces of the distributed mode and operations that need no server: shards, specs, aggregation, metrics, progress. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createProgressReporter } from '../src/cli/progress.js';
import { createLogger } from '../src/log.js';
import { embedItems, embedTokens, registry, runMetrics } from '../src/metrics.js';
import { aggregateSummaries } from '../src/orchestrate/aggregate.js';
import { jobConfig, runSpec, shardRanges, withoutPassword } from '../src/orchestrate/spec.js';
import { SAMPLE_BUCKETS, sampleBucket } from '../src/pipeline/sample.js';
import type { RunSummary } from '../src/pipeline/summary.js';
import { testConfig } from '../testkit/fixtures.js';

test('shards cover the 10,000 buckets exactly once, in contiguous ranges; every item falls in one', () => {
  for (const n of [1, 3, 16, 7_919, SAMPLE_BUCKETS]) {
    const ranges = shardRanges(n);
    assert.equal(ranges.length, n);
    assert.equal(ranges[0]!.from, 0);
    assert.equal(ranges.at(-1)!.to, SAMPLE_BUCKETS);
    for (let i = 0; i < n; i++) {
      assert.ok(ranges[i]!.from < ranges[i]!.to, `shard ${i} of ${n} is not empty`);
      if (i > 0) assert.equal(ranges[i]!.from, ranges[i - 1]!.to);
    }
  }
  const ranges = shardRanges(16);
  for (const id of ['sku-1', 'sku-2', 'a', 'zz-999']) {
    const bucket = sampleBucket('00000000-0000-0000-0000-000000000001', id);
    assert.equal(ranges.filter((r) => bucket >= r.from && bucket < r.to).length, 1);
  }
});

test("a queued spec keeps no secret: no staging password, no API key; a worker pins the run's model over its own", () => {
  assert.equal(
    withoutPassword('postgres://etl:s3cret@warehouse:5432/analytics?sslmode=require&password=x'),
    'postgres://etl@warehouse:5432/analytics?sslmode=require',
  );
  const config = testConfig('/tmp/h', {
    embed: { provider: 'openai', model: 'text-embedding-3-small', dims: 256, apiKey: 'sk-live-secret' },
    namespace: 'shoes',
  });
  const spec = runSpec(config, { kind: 'postgres', url: 'postgres://etl:s3cret@wh/db', table: 'analytics.catalog_features_raw' }, 8);
  const stored = JSON.stringify(spec);
  assert.ok(!stored.includes('s3cret') && !stored.includes('sk-live'), stored);
  assert.equal(spec.shards, 8);

  const worker = testConfig('/srv/worker', { embed: { provider: 'local', apiKey: 'sk-worker', dims: 512 }, run: { createIndex: true } });
  const shard = jobConfig(worker, spec, 'shard');
  assert.deepEqual(
    [shard.namespace, shard.embed.provider, shard.embed.model, shard.embed.dims, shard.embed.apiKey, shard.home],
    ['shoes', 'openai', 'text-embedding-3-small', 256, 'sk-worker', '/srv/worker'],
  );
  assert.equal(shard.run.createIndex, false, 'shards never build the index');
  assert.equal(jobConfig(worker, spec, 'close').run.createIndex, true);
  assert.throws(() => runSpec(testConfig('/tmp/h', { run: { mode: 'batch' } }), { kind: 'file', path: 'x.jsonl' }), /embeddings endpoint/);
  assert.throws(() => jobConfig(worker, { ...spec, namespace: 'Bad Name' }, 'shard'), /namespace must match/);

  // The storage of a new version is pinned too, whatever the worker's own; a job queued before it existed meant vector.
  const half = runSpec(testConfig('/tmp/h', { embed: { provider: 'openai', storage: 'halfvec' } }), { kind: 'file', path: 'x.jsonl' }, 2);
  assert.equal(half.embed.storage, 'halfvec');
  assert.equal(jobConfig(worker, half, 'shard').embed.storage, 'halfvec');
  const older = { ...half, embed: { provider: half.embed.provider } };
  assert.equal(jobConfig(testConfig('/srv/worker', { embed: { provider: 'local', storage: 'halfvec' } }), older, 'shard').embed.storage, 'vector');
});

const shardSummary = (over: Partial<RunSummary>): RunSummary => ({
  run_id: 'shard',
  version: 'v1',
  modality: 'text',
  provider: 'openai',
  model: 'm',
  dims: 32,
  items_seen: 0,
  rejected: 0,
  duplicates: 0,
  cleaned: 0,
  truncated: 0,
  dead_letters_unwritten: 0,
  embedded: 0,
  skipped_unchanged: 0,
  cache_hits: 0,
  lexical_indexed: 0,
  sample: 1,
  sampled_out: 0,
  failed: 0,
  failure_rate: 0,
  alert: false,
  dry_run: false,
  chunks: 0,
  api_calls: 0,
  retries: 0,
  retries_by_cause: {},
  tokens: 0,
  cost_usd: 0,
  mode: 'sync',
  batches: { submitted: 0, loaded: 0, pending: 0, items_in_open_batches: 0 },
  latency_ms_mean: 0,
  latency_ms_p95: 0,
  wall_s: 1,
  items_per_s: 0,
  parquet_parts: 0,
  objects_url: 'file:///o',
  database: 'db',
  ...over,
});

test("a distributed run's summary: sums, a failure rate from the sums (not an average of rates), call-weighted latency", () => {
  const s = aggregateSummaries(
    'run-1',
    [
      shardSummary({
        run_id: 'a',
        items_seen: 900,
        embedded: 900,
        api_calls: 9,
        latency_ms_mean: 100,
        latency_ms_p95: 150,
        tokens: 9000,
        cost_usd: 0.0002,
        retries: 1,
        retries_by_cause: { RATE_LIMITED: 1 },
      }),
      shardSummary({
        run_id: 'b',
        items_seen: 100,
        embedded: 50,
        failed: 40,
        rejected: 10,
        failure_rate: 0.5,
        alert: true,
        api_calls: 1,
        latency_ms_mean: 1000,
        latency_ms_p95: 1000,
        tokens: 500,
        cost_usd: 0.00001,
        retries: 2,
        retries_by_cause: { RATE_LIMITED: 1, TIMEOUT: 1 },
      }),
    ],
    { threshold: 0.05, wallS: 10 },
  );
  assert.equal(s.run_id, 'run-1');
  assert.deepEqual([s.items_seen, s.embedded, s.failed, s.rejected, s.tokens, s.api_calls, s.shards], [1000, 950, 40, 10, 9500, 10, 2]);
  assert.equal(s.failure_rate, 0.05, '50 of 1,000, not the mean of 0 and 0.5');
  assert.equal(s.alert, false, 'exactly at the threshold is not above it');
  assert.equal(s.latency_ms_mean, 190);
  assert.equal(s.latency_ms_p95, 1000);
  assert.equal(s.cost_usd, 0.00021);
  assert.deepEqual(s.retries_by_cause, { RATE_LIMITED: 2, TIMEOUT: 1 });
  assert.deepEqual(s.shard_run_ids, ['a', 'b']);
  assert.equal(s.items_per_s, 100);
  assert.equal(aggregateSummaries('r', [shardSummary({ cost_usd: null }), shardSummary({})], { threshold: 0.05, wallS: 1 }).cost_usd, null);
});

test('the Prometheus sink adds what grew since its last call, so repeated progress reports count once', async () => {
  const value = async (metric: typeof embedItems | typeof embedTokens, labels: Record<string, string>) =>
    (await metric.get()).values.find((v) => Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l))?.value ?? 0;
  const before = await value(embedItems, { modality: 'image', outcome: 'embedded' });
  const tokens = await value(embedTokens, { modality: 'image' });
  const sink = runMetrics('image');
  const counts = { embedded: 10, skipped: 0, cacheHits: 0, failed: 1, rejected: 0, sampledOut: 0, tokens: 100, costUsd: null };
  sink.progress(counts);
  sink.progress(counts);
  sink.progress({ ...counts, embedded: 15, tokens: 150 });
  sink.request(250, 64);
  assert.equal((await value(embedItems, { modality: 'image', outcome: 'embedded' })) - before, 15);
  assert.equal((await value(embedTokens, { modality: 'image' })) - tokens, 150);
  assert.match(await registry.metrics(), /itemvec_embed_request_inputs_bucket\{le="64",modality="image"\} [1-9]/);
});

test('progress without a terminal: a log line every interval with items/s, tokens, cost and ETA', () => {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write: (chunk, _e, done) => {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  const reporter = createProgressReporter(createLogger({ level: 'info', destination }), true, { intervalSeconds: 0.001, tty: false });
  const p = {
    itemsSeen: 100,
    done: 50,
    embedded: 50,
    skipped: 0,
    failed: 0,
    tokens: 1234,
    costUsd: 0.0000247,
    position: 500,
    total: 1000,
    unit: 'bytes' as const,
  };
  reporter.update(p);
  const start = Date.now();
  while (Date.now() - start < 5);
  reporter.update({ ...p, costUsd: null });
  reporter.stop();
  assert.equal(lines.length, 2);
  assert.deepEqual([lines[0]!.msg, lines[0]!.tokens, lines[0]!.cost_usd, lines[1]!.cost_usd], ['progress', 1234, 0.0000247, null]);
  assert.equal(typeof lines[0]!.rate, 'number');
  assert.equal(typeof lines[0]!.eta_s, 'number');

  const quiet: unknown[] = [];
  const quietDestination = new Writable({
    write: (c, _e, done) => {
      quiet.push(c);
      done();
    },
  });
  const slow = createProgressReporter(createLogger({ level: 'info', destination: quietDestination }), true, {
    intervalSeconds: 3600,
    tty: false,
  });
  slow.update(p);
  slow.update(p);
  assert.ok(quiet.length <= 1, 'at most one line per interval');
});
