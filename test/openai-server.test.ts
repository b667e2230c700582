/**
 * The local OpenAI-compatible server (testkit/openai-server.ts) behaves like the real API where
 * clients depend on it: injected faults, poisoned inputs, the Files and Batch APIs, and a clean close.
 * The official SDK is the client wherever it can be.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, BadRequestError, type ClientOptions, NotFoundError, toFile } from 'openai';
import type { Batch } from 'openai/resources/batches';
import { BATCH_LIMITS, embedText, type OpenAIServer, type OpenAIServerOptions, startOpenAIServer, withOpenAIServer } from '../testkit/openai-server.js';
import { cosine } from '../testkit/random.js';

const MODEL = 'text-embedding-3-small';

/** The SDK without its own retries unless asked: each test says how many attempts it expects. */
const sdk = (server: OpenAIServer, opts: ClientOptions = {}) => new OpenAI({ apiKey: 'sk-test', baseURL: server.url, maxRetries: 0, ...opts });

/** An error answer of the API. */
type ErrorJson = { error: OpenAI.ErrorObject };

/** POST JSON; `T` is the answer the test expects (an error unless told). */
async function post<T = ErrorJson>(server: OpenAIServer, path: string, body: unknown): Promise<{ status: number; headers: Headers; json: T }> {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as T };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One batch input line for the embeddings endpoint. */
const line = (customId: string, input: unknown, extra: Record<string, unknown> = {}) => ({
  custom_id: customId,
  method: 'POST',
  url: '/v1/embeddings',
  body: { model: MODEL, input, ...extra },
});

const jsonl = (lines: unknown[]) => `${lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}\n`;

async function uploadBatchFile(openai: OpenAI, lines: unknown[], name = 'input.jsonl') {
  return openai.files.create({ file: await toFile(Buffer.from(jsonl(lines)), name), purpose: 'batch' });
}

async function createBatch(openai: OpenAI, lines: unknown[], metadata?: Record<string, string>): Promise<Batch> {
  const file = await uploadBatchFile(openai, lines);
  return openai.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h', metadata });
}

async function waitForStatus(openai: OpenAI, id: string, statuses: Array<Batch['status']>): Promise<Batch> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const batch = await openai.batches.retrieve(id);
    if (statuses.includes(batch.status)) return batch;
    if (Date.now() > deadline) assert.fail(`batch ${id} is still ${batch.status}, expected ${statuses.join('/')}`);
    await sleep(10);
  }
}

/** A line of a batch output or error file: the answer to one input line, or why it has none. */
interface BatchOutputLine {
  id: string;
  custom_id: string;
  response: { status_code: number; request_id: string; body: unknown } | null;
  error: { code: string; message: string } | null;
}

async function fileLines(openai: OpenAI, id: string | null | undefined): Promise<BatchOutputLine[]> {
  assert.ok(id, 'expected a file id');
  const text = await (await openai.files.content(id)).text();
  return text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as BatchOutputLine);
}

describe('busy time', () => {
  it('counts overlapping requests once: busy time covers each request but not more than the wall time around them', async () => {
    await withOpenAIServer({ latencyMs: 150 }, async (server) => {
      const openai = sdk(server);
      const started = performance.now();
      await Promise.all([1, 2, 3].map((i) => openai.embeddings.create({ model: MODEL, input: `item ${i}` })));
      const wall = performance.now() - started;
      // Summed per request it would be ≥ 450 ms; the union of three overlapping ones is ≥ 150 and ≤ the wall.
      assert.ok(server.counters.busyMs >= 150, `busy ${server.counters.busyMs} ms`);
      assert.ok(server.counters.busyMs <= wall, `busy ${server.counters.busyMs} ms > wall ${wall} ms`);
      await sleep(300);
      assert.ok(server.counters.busyMs <= wall, 'idle time is not busy time');
    });
  });
});

describe('injected faults', () => {
  it('hang: the request is never answered; a client with a timeout gives up and the next request is served', { timeout: 20_000 }, async () => {
    await withOpenAIServer({}, async (server) => {
      server.setFaults([{ kind: 'hang', count: 1 }]);
      const openai = sdk(server, { timeout: 200 });
      const started = Date.now();
      await assert.rejects(openai.embeddings.create({ model: MODEL, input: 'hello' }), APIConnectionTimeoutError);
      assert.ok(Date.now() - started < 2000);
      assert.equal(server.counters.faults.hang, 1);
      const ok = await openai.embeddings.create({ model: MODEL, input: 'hello' });
      assert.equal(ok.data.length, 1);
      // The client closed its socket on timeout, so the hung request no longer counts as in flight.
      for (let i = 0; i < 50 && server.counters.inFlight > 0; i++) await sleep(10);
      assert.equal(server.counters.inFlight, 0);
    });
  });

  it('reset: the connection is reset without an answer; the SDK sees a connection error and a retry succeeds', async () => {
    await withOpenAIServer({}, async (server) => {
      server.setFaults([{ kind: 'reset', count: 1 }]);
      const err = await sdk(server)
        .embeddings.create({ model: MODEL, input: 'hello' })
        .catch((e: unknown) => e);
      assert.ok(err instanceof APIConnectionError, String(err));
      assert.ok(!(err instanceof APIConnectionTimeoutError));
      assert.equal(server.counters.faults.reset, 1);

      server.setFaults([{ kind: 'reset', count: 1 }]);
      const retried = await sdk(server, { maxRetries: 1 }).embeddings.create({ model: MODEL, input: 'hello' });
      assert.equal(retried.data.length, 1);
      assert.equal(server.counters.requests, 3);
      assert.equal(server.counters.faults.reset, 2);
    });
  });

  it('status faults keep working with or without `kind`, and are counted', async () => {
    await withOpenAIServer({}, async (server) => {
      server.setFaults([
        { status: 500, count: 1 },
        { kind: 'status', status: 503, count: 1, retryAfterMs: 30 },
      ]);
      const first = await post(server, '/embeddings', { model: MODEL, input: 'x' });
      const second = await post(server, '/embeddings', { model: MODEL, input: 'x' });
      const third = await post(server, '/embeddings', { model: MODEL, input: 'x' });
      assert.deepEqual([first.status, second.status, third.status], [500, 503, 200]);
      assert.equal(second.headers.get('retry-after-ms'), '30');
      assert.deepEqual(server.counters.faults, { '429': 0, '500': 1, '503': 1, reset: 0, hang: 0 });
    });
  });

  it('a fault can target one route and strike after the work is done: the answer is lost, the batch exists', async () => {
    await withOpenAIServer({}, async (server) => {
      server.setFaults([{ kind: 'reset', count: 1, route: 'POST /v1/batches', phase: 'after' }]);
      const openai = sdk(server);
      await openai.embeddings.create({ model: MODEL, input: 'not the targeted route' });
      const file = await uploadBatchFile(openai, [line('a', 'hello')]);
      const create = openai.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' });
      await assert.rejects(create, APIConnectionError);
      const listed = await openai.batches.list();
      assert.equal(listed.data.length, 1, 'the batch was created although its answer was lost');
      assert.equal(server.counters.batchesCreated, 1);
      assert.equal(server.counters.byRoute['POST /v1/batches'], 1);
      assert.equal(server.counters.byRoute['POST /v1/embeddings'], 1);
      assert.equal(server.counters.byRoute['POST /v1/files'], 1);
      assert.equal(server.counters.faults.reset, 1);
    });
  });

  it('faultRate: about that share of embedding requests fails, the same seed gives the same sequence', async () => {
    const statuses = async (faultRate: OpenAIServerOptions['faultRate']) => {
      const seen: number[] = [];
      await withOpenAIServer({ faultRate }, async (server) => {
        for (let i = 0; i < 200; i++) {
          const res = await post(server, '/embeddings', { model: MODEL, input: `item ${i}` });
          seen.push(res.status);
          if (res.status === 429) {
            const wait = Number(res.headers.get('retry-after-ms'));
            assert.ok(wait >= 20 && wait <= 200, `retry-after-ms ${wait}`);
            assert.equal(res.json.error.code, 'rate_limit_exceeded');
          }
        }
        const failed = seen.filter((s) => s !== 200).length;
        const { faults } = server.counters;
        assert.equal(faults['429'] + faults['500'] + faults['503'], failed);
        assert.equal(faults.reset + faults.hang, 0);
        // Other routes are left alone unless listed.
        assert.equal((await fetch(`${server.url}/files`, { headers: { authorization: 'Bearer sk-test' } })).status, 200);
      });
      return seen;
    };
    const rate = { rate: 0.25, seed: 42, kinds: ['429', '500', '503'] as const };
    const first = await statuses({ ...rate, kinds: [...rate.kinds] });
    const failed = first.filter((s) => s !== 200).length;
    assert.ok(failed >= 30 && failed <= 70, `${failed} of 200 failed at rate 0.25`);
    assert.deepEqual(new Set(first.filter((s) => s !== 200)), new Set([429, 500, 503]));
    assert.deepEqual(await statuses({ ...rate, kinds: [...rate.kinds] }), first, 'same seed, same faults');
    assert.notDeepEqual(await statuses({ ...rate, kinds: [...rate.kinds], seed: 43 }), first);
  });

  it('faultRate can reset connections, and setFaultRate turns it on and off', async () => {
    await withOpenAIServer({}, async (server) => {
      const embed = () =>
        fetch(`${server.url}/embeddings`, {
          method: 'POST',
          headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json' },
          body: JSON.stringify({ model: MODEL, input: 'x' }),
        });
      server.setFaultRate({ rate: 1, kinds: ['reset'] });
      await assert.rejects(embed(), TypeError); // fetch failed: the socket was reset
      assert.equal(server.counters.faults.reset, 1);
      server.setFaultRate(undefined);
      assert.equal((await embed()).status, 200);
      assert.throws(() => server.setFaultRate({ rate: 2 }), RangeError);
    });
  });

  it('poison: a request with a marked input fails as a whole with the API 400; the others pass', async () => {
    await withOpenAIServer({ poison: '<<POISON>>' }, async (server) => {
      const bad = await post(server, '/embeddings', { model: MODEL, input: ['fine', 'also <<POISON>> here', 'fine too'] });
      assert.equal(bad.status, 400);
      assert.equal(bad.json.error.message, "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.");
      assert.deepEqual(Object.keys(bad.json.error).sort(), ['code', 'message', 'param', 'type']);
      assert.equal(server.counters.inputs, 0);
      await assert.rejects(sdk(server).embeddings.create({ model: MODEL, input: ['<<POISON>>'] }), BadRequestError);
      assert.equal((await post(server, '/embeddings', { model: MODEL, input: ['fine', 'fine too'] })).status, 200);
      server.setPoison(undefined);
      assert.equal((await post(server, '/embeddings', { model: MODEL, input: ['also <<POISON>> here'] })).status, 200);
    });
  });
});

describe('Files API', () => {
  it('stores multipart uploads and serves them back', async () => {
    await withOpenAIServer({}, async (server) => {
      const openai = sdk(server);
      const content = jsonl([line('a', 'hello')]);
      const file = await openai.files.create({ file: await toFile(Buffer.from(content), 'items.jsonl'), purpose: 'batch' });
      assert.match(file.id, /^file-\w+$/);
      assert.equal(file.object, 'file');
      assert.equal(file.bytes, Buffer.byteLength(content));
      assert.equal(file.filename, 'items.jsonl');
      assert.equal(file.purpose, 'batch');
      assert.equal(file.status, 'processed');
      assert.ok(Math.abs(file.created_at - Date.now() / 1000) < 5);
      assert.deepEqual(await openai.files.retrieve(file.id), file);
      assert.equal(await (await openai.files.content(file.id)).text(), content);
      assert.deepEqual(
        (await openai.files.list()).data.map((f) => f.id),
        [file.id],
      );
      assert.equal(server.counters.filesUploaded, 1);
      assert.deepEqual(await openai.files.delete(file.id), { id: file.id, object: 'file', deleted: true });
      await assert.rejects(
        openai.files.retrieve(file.id),
        (err: unknown) => err instanceof NotFoundError && err.message.includes(`No such File object: ${file.id}`),
      );
    });
  });

  it('rejects uploads like the API', async () => {
    await withOpenAIServer({}, async (server) => {
      const upload = async (fields: Record<string, string | [string, string]>) => {
        const form = new FormData();
        for (const [k, v] of Object.entries(fields)) {
          if (typeof v === 'string') form.append(k, v);
          else form.append(k, new Blob([v[1]]), v[0]);
        }
        const res = await fetch(`${server.url}/files`, { method: 'POST', headers: { authorization: 'Bearer sk-test' }, body: form });
        return { status: res.status, message: ((await res.json()) as Partial<ErrorJson>).error?.message as string };
      };
      assert.deepEqual(await upload({ file: ['a.jsonl', '{}'] }), { status: 400, message: "Missing required parameter: 'purpose'." });
      assert.deepEqual(await upload({ purpose: 'batch' }), { status: 400, message: "Missing required parameter: 'file'." });
      const badPurpose = await upload({ purpose: 'nonsense', file: ['a.jsonl', '{}'] });
      assert.equal(badPurpose.status, 400);
      assert.match(badPurpose.message, /'nonsense' is not one of/);
      assert.deepEqual(await upload({ purpose: 'batch', file: ['a.txt', '{}'] }), {
        status: 400,
        message: 'Invalid file format for Batch API. Must be .jsonl',
      });
      const json = await post(server, '/files', { purpose: 'batch' });
      assert.equal(json.status, 400);
      assert.match(json.json.error.message, /multipart\/form-data/);
      assert.equal(server.counters.filesUploaded, 0);
    });
  });
});

describe('Batch API', () => {
  it('checks the request at once and the input file while validating: bad files make failed batches', async () => {
    await withOpenAIServer({ batchDelayMs: 5 }, async (server) => {
      const openai = sdk(server);
      const file = await uploadBatchFile(openai, [line('a', 'x')]);
      const create = (body: Record<string, unknown>) =>
        openai.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h', ...body });
      await assert.rejects(create({ completion_window: '48h' }), /Invalid value: '48h'. Supported values are: '24h'./);
      await assert.rejects(create({ endpoint: '/v1/chat/completions' }), BadRequestError);
      await assert.rejects(create({ input_file_id: 'file-nope' }), NotFoundError);
      const notBatch = await openai.files.create({ file: await toFile(Buffer.from('x'), 'x.jsonl'), purpose: 'user_data' });
      await assert.rejects(create({ input_file_id: notBatch.id }), /purpose 'batch'/);
      assert.equal(server.counters.batchesCreated, 0);

      const failed = async (lines: unknown[]) => {
        const batch = await createBatch(openai, lines);
        assert.equal(batch.status, 'validating');
        const done = await waitForStatus(openai, batch.id, ['failed', 'in_progress', 'completed']);
        assert.equal(done.status, 'failed');
        assert.ok(done.failed_at);
        assert.equal(done.output_file_id, null);
        return done.errors?.data?.map((e) => [e.code, e.line]);
      };
      assert.deepEqual(
        await failed([
          line('a', 'ok'),
          '{not json',
          line('a', 'duplicate id'),
          { ...line('c', 'x'), url: '/v1/chat/completions' },
          { ...line('d', 'x'), method: 'GET' },
          line('e', 'x', { model: 'text-embedding-3-large' }),
          { method: 'POST', url: '/v1/embeddings', body: { model: MODEL, input: 'no id' } },
          { custom_id: 'g', method: 'POST', url: '/v1/embeddings' },
        ]),
        [
          ['invalid_json_line', 2],
          ['duplicate_custom_id', 3],
          ['url_mismatch', 4],
          ['invalid_method', 5],
          ['model_mismatch', 6],
          ['missing_required_parameter', 7],
          ['missing_required_parameter', 8],
        ],
      );
      assert.deepEqual(await failed(['']), [['empty_file', null]]);
      const tooMany = Array.from({ length: BATCH_LIMITS.lines + 1 }, (_, i) => line(`r${i}`, 'x'));
      assert.deepEqual(await failed(tooMany), [['too_many_tasks', null]]);
      const tooManyInputs = Array.from({ length: 25 }, (_, i) => line(`r${i}`, Array(2048).fill('x'))); // 51,200 inputs
      assert.deepEqual(await failed(tooManyInputs), [['too_many_tasks', null]]);
    });
  });

  it('round trip: lines are answered by the sync handler; a poisoned one lands in the error file', async () => {
    await withOpenAIServer({ poison: '<<POISON>>', batchDelayMs: 5 }, async (server) => {
      const openai = sdk(server);
      const lines = [
        line('plain', 'waterproof hiking boots'),
        line('short-b64', ['red cotton t-shirt', 'blue denim jacket'], { dimensions: 256, encoding_format: 'base64' }),
        line('poisoned', ['fine', 'bad <<POISON>> input']),
        line('float', 'stainless steel chef knife', { encoding_format: 'float' }),
      ];
      const expected = new Map<string, unknown>();
      for (const l of lines) expected.set(l.custom_id, (await post(server, '/embeddings', l.body)).json);
      const syncInputs = server.counters.inputs;

      const created = await createBatch(openai, lines, { run: 'round-trip' });
      assert.match(created.id, /^batch_[0-9a-f]{32}$/);
      assert.equal(created.object, 'batch');
      assert.equal(created.endpoint, '/v1/embeddings');
      assert.equal(created.completion_window, '24h');
      assert.deepEqual(created.metadata, { run: 'round-trip' });
      assert.deepEqual(created.request_counts, { total: 0, completed: 0, failed: 0 });
      assert.equal(created.expires_at, created.created_at + 24 * 3600);

      const batch = await waitForStatus(openai, created.id, ['completed', 'failed']);
      assert.equal(batch.status, 'completed');
      assert.deepEqual(batch.request_counts, { total: 4, completed: 3, failed: 1 });
      assert.equal(batch.model, MODEL);
      for (const at of [batch.in_progress_at, batch.finalizing_at, batch.completed_at]) assert.ok(at && at >= batch.created_at);
      assert.equal(batch.errors, null);
      const tokens = ['plain', 'short-b64', 'float'].reduce((n, id) => n + (expected.get(id) as OpenAI.CreateEmbeddingResponse).usage.prompt_tokens, 0);
      assert.equal(batch.usage?.input_tokens, tokens);

      const output = await fileLines(openai, batch.output_file_id);
      assert.deepEqual(output.map((o) => o.custom_id).sort(), ['float', 'plain', 'short-b64']);
      for (const o of output) {
        assert.deepEqual(Object.keys(o), ['id', 'custom_id', 'response', 'error']);
        assert.match(o.id, /^batch_req_/);
        assert.equal(o.error, null);
        assert.equal(o.response!.status_code, 200);
        assert.match(o.response!.request_id, /^req_/);
        assert.deepEqual(o.response!.body, expected.get(o.custom_id), `${o.custom_id}: same answer as the sync endpoint`);
      }
      const errors = await fileLines(openai, batch.error_file_id);
      assert.equal(errors.length, 1);
      assert.equal(errors[0]!.custom_id, 'poisoned');
      assert.equal(errors[0]!.error, null);
      assert.equal(errors[0]!.response!.status_code, 400);
      assert.deepEqual(errors[0]!.response!.body, expected.get('poisoned'));
      assert.match((errors[0]!.response!.body as ErrorJson).error.message, /'\$\.input' is invalid/);

      const outputFile = await openai.files.retrieve(batch.output_file_id!);
      assert.equal(outputFile.purpose, 'batch_output');
      assert.equal(server.counters.inputs, syncInputs, 'batch lines do not count as synchronous inputs');
      assert.equal(server.counters.batchInputs, 4);
      assert.equal(server.counters.batchTokens, tokens);
      assert.equal(server.counters.filesUploaded, 1, 'output files are not uploads');
    });
  });

  it('batch lines bypass injected faults and the rate limiter; output file ids are null when empty', async () => {
    await withOpenAIServer({ tokensPerMinute: 10, batchDelayMs: 5, faultRate: { rate: 1, kinds: ['500'] } }, async (server) => {
      const openai = sdk(server);
      const input = 'one two three four five six seven eight nine ten eleven twelve';
      assert.equal((await post(server, '/embeddings', { model: MODEL, input })).status, 500);
      server.setFaultRate(undefined);
      assert.equal((await post(server, '/embeddings', { model: MODEL, input })).status, 429);
      server.setFaultRate({ rate: 1, kinds: ['500'] });
      const batch = await createBatch(openai, [line('a', input), line('b', input)]);
      const done = await waitForStatus(openai, batch.id, ['completed', 'failed']);
      assert.deepEqual(done.request_counts, { total: 2, completed: 2, failed: 0 });
      assert.equal(done.error_file_id, null);
      assert.equal((await fileLines(openai, done.output_file_id)).length, 2);
    });
  });

  it('held batches stay in_progress until released, so a client can be stopped and restarted meanwhile', async () => {
    await withOpenAIServer({ holdBatches: true, batchDelayMs: 5 }, async (server) => {
      const first = sdk(server);
      const batch = await createBatch(first, [line('a', 'hello'), line('b', 'world')], { run: 'r1' });
      await waitForStatus(first, batch.id, ['in_progress']);
      await sleep(100);
      const still = await first.batches.retrieve(batch.id);
      assert.equal(still.status, 'in_progress');
      assert.deepEqual(still.request_counts, { total: 2, completed: 0, failed: 0 });

      // A restarted client finds its batch by metadata instead of creating another.
      const restarted = sdk(server);
      const found = (await restarted.batches.list()).data.filter((b) => b.metadata?.run === 'r1');
      assert.deepEqual(
        found.map((b) => b.id),
        [batch.id],
      );
      server.releaseBatches();
      const done = await waitForStatus(restarted, batch.id, ['completed']);
      assert.deepEqual(done.request_counts, { total: 2, completed: 2, failed: 0 });
      assert.equal(server.counters.batchesCreated, 1);
      assert.equal(server.counters.byRoute['POST /v1/batches'], 1);

      // Holding stays on for new batches until turned off, which releases them.
      const later = await createBatch(first, [line('c', 'again')]);
      await waitForStatus(first, later.id, ['in_progress']);
      await sleep(50);
      assert.equal((await first.batches.retrieve(later.id)).status, 'in_progress');
      server.setHoldBatches(false);
      await waitForStatus(first, later.id, ['completed']);
    });
  });

  it('cancel: cancelling then cancelled, twice is harmless; finished batches cannot be cancelled', async () => {
    await withOpenAIServer({ holdBatches: true, batchDelayMs: 5 }, async (server) => {
      const openai = sdk(server);
      const batch = await createBatch(openai, [line('a', 'hello')]);
      await waitForStatus(openai, batch.id, ['in_progress']);
      const cancelling = await openai.batches.cancel(batch.id);
      assert.equal(cancelling.status, 'cancelling');
      assert.ok(cancelling.cancelling_at);
      const cancelled = await waitForStatus(openai, batch.id, ['cancelled']);
      assert.ok(cancelled.cancelled_at);
      assert.equal(cancelled.output_file_id, null, 'nothing was answered before the cancel');
      assert.equal((await openai.batches.cancel(batch.id)).status, 'cancelled');
      server.releaseBatches();
      await sleep(30);
      assert.equal((await openai.batches.retrieve(batch.id)).status, 'cancelled', 'released batches stay cancelled');

      server.setHoldBatches(false);
      const finished = await createBatch(openai, [line('b', 'hello')]);
      await waitForStatus(openai, finished.id, ['completed']);
      await assert.rejects(openai.batches.cancel(finished.id), /Cannot cancel a batch with status 'completed'/);
      await assert.rejects(openai.batches.retrieve('batch_nope'), NotFoundError);
    });
  });

  it('list: newest first, limit and after cursors; the SDK pages through them all', async () => {
    await withOpenAIServer({ holdBatches: true }, async (server) => {
      const openai = sdk(server);
      const file = await uploadBatchFile(openai, [line('a', 'x')]);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const b = await openai.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' });
        ids.push(b.id);
      }
      const newestFirst = [...ids].reverse();
      const page = async (query: string) =>
        (await fetch(`${server.url}/batches?${query}`, { headers: { authorization: 'Bearer sk-test' } })).json() as Promise<{
          object: string;
          data: Batch[];
          first_id: string;
          last_id: string;
          has_more: boolean;
        }>;
      const first = await page('limit=2');
      assert.equal(first.object, 'list');
      assert.deepEqual(
        first.data.map((b: Batch) => b.id),
        newestFirst.slice(0, 2),
      );
      assert.equal(first.first_id, newestFirst[0]);
      assert.equal(first.last_id, newestFirst[1]);
      assert.equal(first.has_more, true);
      const last = await page(`limit=2&after=${newestFirst[3]}`);
      assert.deepEqual(
        last.data.map((b: Batch) => b.id),
        [newestFirst[4]],
      );
      assert.equal(last.has_more, false);

      const all: string[] = [];
      for await (const b of openai.batches.list({ limit: 2 })) all.push(b.id);
      assert.deepEqual(all, newestFirst);
      assert.equal(server.counters.byRoute['GET /v1/batches'], 5); // 2 fetches + 3 SDK pages
      await assert.rejects(openai.batches.list({ limit: 101 }), BadRequestError);
    });
  });

  it('scripted outcomes: expire after some lines, fail with token_limit_exceeded, or decide per batch', async () => {
    await withOpenAIServer({ batchDelayMs: 5, batchOutcome: { kind: 'expire', afterLines: 1 }, batchOutputOrder: 'input' }, async (server) => {
      const openai = sdk(server);
      const lines = [line('a', 'one'), line('b', 'two'), line('c', 'three')];
      const expired = await waitForStatus(openai, (await createBatch(openai, lines)).id, ['expired', 'completed']);
      assert.equal(expired.status, 'expired');
      assert.ok(expired.expired_at);
      assert.deepEqual(expired.request_counts, { total: 3, completed: 1, failed: 2 });
      assert.deepEqual(
        (await fileLines(openai, expired.output_file_id)).map((o) => o.custom_id),
        ['a'],
      );
      const lost = await fileLines(openai, expired.error_file_id);
      assert.deepEqual(
        lost.map((o) => [o.custom_id, o.response, o.error!.code]),
        [
          ['b', null, 'batch_expired'],
          ['c', null, 'batch_expired'],
        ],
      );

      server.setBatchOutcome('fail');
      const failed = await waitForStatus(openai, (await createBatch(openai, lines)).id, ['failed', 'completed']);
      assert.equal(failed.status, 'failed');
      assert.equal(failed.errors?.data?.[0]?.code, 'token_limit_exceeded');
      assert.match(failed.errors?.data?.[0]?.message ?? '', /Enqueued token limit reached for text-embedding-3-small/);

      server.setBatchOutcome((b) => (b.metadata?.outcome === 'expire' ? 'expire' : 'complete'));
      const byMetadata = await createBatch(openai, lines, { outcome: 'expire' });
      assert.equal((await waitForStatus(openai, byMetadata.id, ['expired', 'completed'])).status, 'expired');
      const plain = await createBatch(openai, lines);
      assert.equal((await waitForStatus(openai, plain.id, ['expired', 'completed'])).status, 'completed');
    });
  });

  it('batchTokenLimit fails batches that would exceed the enqueued tokens of their model', async () => {
    await withOpenAIServer({ batchDelayMs: 5, batchTokenLimit: 5, holdBatches: true }, async (server) => {
      const openai = sdk(server);
      const small = await createBatch(openai, [line('a', 'one two three')]);
      assert.equal((await waitForStatus(openai, small.id, ['in_progress', 'failed'])).status, 'in_progress');
      const over = await createBatch(openai, [line('a', 'four five six')]);
      const failed = await waitForStatus(openai, over.id, ['in_progress', 'failed']);
      assert.equal(failed.status, 'failed');
      assert.match(failed.errors?.data?.[0]?.message ?? '', /Limit: 5 enqueued tokens/);
    });
  });
});

describe('test server lifecycle and embeddings', () => {
  it('close() ends at once with hung requests in flight and batches pending', { timeout: 20_000 }, async () => {
    const server = await startOpenAIServer({ holdBatches: true, batchDelayMs: 60_000 });
    const openai = sdk(server);
    await createBatch(openai, [line('a', 'x')]); // its validation timer is 60 s away
    server.setFaults([{ kind: 'hang', count: 2 }]);
    const hung = [1, 2].map(() =>
      post(server, '/embeddings', { model: MODEL, input: 'x' }).then(
        () => 'answered',
        () => 'dropped',
      ),
    );
    while (server.counters.inFlight < 2) await sleep(5);
    const started = Date.now();
    await server.close();
    assert.ok(Date.now() - started < 500, `close took ${Date.now() - started} ms`);
    assert.deepEqual(await Promise.all(hung), ['dropped', 'dropped']);
  });

  it('leaves nothing behind: a process that closes its server with hung requests and held batches exits', { timeout: 20_000 }, async () => {
    const serverModule = fileURLToPath(new URL('../testkit/openai-server.ts', import.meta.url));
    const script = `
      const { startOpenAIServer } = await import(${JSON.stringify(serverModule)});
      const server = await startOpenAIServer({ holdBatches: true, batchDelayMs: 5 });
      const auth = { authorization: 'Bearer sk-test' };
      const form = new FormData();
      form.append('purpose', 'batch');
      form.append('file', new Blob([${JSON.stringify(jsonl([line('a', 'x')]))}]), 'in.jsonl');
      const file = await (await fetch(server.url + '/files', { method: 'POST', headers: auth, body: form })).json();
      await fetch(server.url + '/batches', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' }) });
      server.setFaults([{ kind: 'hang', count: 1 }]);
      const hung = fetch(server.url + '/embeddings', { method: 'POST', headers: auth, body: '{}' }).then(() => 'answered', () => 'dropped');
      await new Promise((r) => setTimeout(r, 100));
      await server.close();
      console.log(await hung, server.counters.batchesCreated);
    `;
    const started = Date.now();
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      timeout: 10_000, // killed, and the test fails, if the server leaves handles behind
    });
    assert.equal(stdout.trim(), 'dropped 1');
    assert.ok(Date.now() - started < 10_000);
  });

  it('embeddings: same text → same vector; similar texts closer; dimensions = prefix renormalised', async () => {
    await withOpenAIServer({}, async (server) => {
      const embed = async (input: string, dimensions?: number) => {
        const res = await post<OpenAI.CreateEmbeddingResponse>(server, '/embeddings', { model: 'text-embedding-3-large', input, dimensions });
        return Float32Array.from(res.json.data[0]!.embedding);
      };
      const boots = await embed('waterproof hiking boots');
      assert.deepEqual(await embed('waterproof hiking boots'), boots);
      assert.deepEqual(embedText('waterproof hiking boots', 3072), boots);
      assert.ok(cosine(boots, await embed('waterproof leather hiking boots')) > 0.8);
      assert.ok(Math.abs(cosine(boots, await embed('stainless steel chef knife'))) < 0.2);
      for (const dims of [8, 256, 1000, 1536]) {
        const short = await embed('waterproof hiking boots', dims);
        const prefix = boots.slice(0, dims);
        const norm = Math.hypot(...prefix);
        assert.equal(short.length, dims);
        for (const [i, x] of short.entries()) assert.ok(Math.abs(x - prefix[i]! / norm) < 1e-6, `dims ${dims}, coordinate ${i}`);
      }
    });
  });
});
