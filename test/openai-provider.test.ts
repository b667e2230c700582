import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { createOpenAIProvider, decodeEmbeddings, OPENAI_EMBEDDING_MODELS } from '../src/embed/openai.js';
import type { EmbeddingProvider, ProviderOptions } from '../src/embed/provider.js';
import { ConfigError, ProviderError } from '../src/errors.js';
import { type OpenAIServer, startOpenAIServer, withOpenAIServer } from '../testkit/openai-server.js';

function provider(server: OpenAIServer, opts: ProviderOptions = {}): Promise<EmbeddingProvider> {
  return createOpenAIProvider({ apiKey: 'sk-test', baseURL: server.url, ...opts });
}

async function providerError(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ProviderError, `expected ProviderError, got ${inspect(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const norm = (a: Float32Array) => Math.sqrt(dot(a, a));

describe('openai provider over HTTP', () => {
  it('returns unit vectors of the model dims, in input order, that rank similar texts higher', async () => {
    await withOpenAIServer({ reverseData: true }, async (server) => {
      const p = await provider(server);
      assert.equal(p.name, 'openai');
      assert.equal(p.model, 'text-embedding-3-large');
      assert.equal(p.dims, 3072);
      const texts = ['waterproof hiking boots', 'waterproof leather hiking boots', 'stainless steel chef knife'];
      const { vectors } = await p.embed(texts);
      assert.equal(vectors.length, 3);
      for (const v of vectors) {
        assert.ok(v instanceof Float32Array);
        assert.equal(v.length, 3072);
        assert.ok(Math.abs(norm(v) - 1) < 1e-4);
      }
      const [boots, leatherBoots, knife] = vectors as [Float32Array, Float32Array, Float32Array];
      assert.ok(dot(boots, leatherBoots) > dot(boots, knife) + 0.3, 'similar texts must score higher');
      // The server answered in reverse order; the provider sorts by `index`.
      const single = await p.embed([texts[2]!]);
      assert.deepEqual(single.vectors[0], knife);

      const sent = server.log[0]?.body as Record<string, unknown>;
      assert.equal(sent.encoding_format, 'base64');
      assert.equal(sent.model, 'text-embedding-3-large');
      assert.deepEqual(sent.input, texts);
      assert.equal('dimensions' in sent, false);
    });
  });

  it('shortens with dims: sends `dimensions` and gets vectors of that length', async () => {
    await withOpenAIServer({}, async (server) => {
      const p = await provider(server, { model: 'text-embedding-3-small', dims: 256 });
      assert.equal(p.dims, 256);
      const { vectors } = await p.embed(['red cotton t-shirt']);
      assert.equal(vectors[0]?.length, 256);
      assert.ok(Math.abs(norm(vectors[0]!) - 1) < 1e-4);
      assert.equal((server.log[0]!.body as { dimensions?: number }).dimensions, 256);
    });
  });

  it('reports the tokens from usage', async () => {
    await withOpenAIServer({}, async (server) => {
      const p = await provider(server);
      const texts = ['hello world', 'waterproof hiking boots, size 42'];
      const { tokens } = await p.embed(texts);
      const expected = texts.reduce((n, t) => n + p.tokenizer.encode(t).length, 0);
      assert.equal(tokens, expected);
      assert.equal(server.counters.tokens, expected);
      assert.equal(server.counters.inputs, 2);
    });
  });

  it('wrong key → fatal AUTH that never contains the key', async () => {
    const key = 'sk-wrong1'; // short keys are echoed verbatim in the server's 401 message
    await withOpenAIServer({}, async (server) => {
      const p = await provider(server, { apiKey: key });
      const err = await providerError(p.embed(['hello']));
      assert.equal(err.code, 'AUTH');
      assert.equal(err.fatal, true);
      assert.equal(err.context.status, 401);
      assert.match(String(err.context.requestId), /^req_/);
      assert.match(err.message, /OPENAI_API_KEY/);
      assert.match(err.message, /Incorrect API key provided/);
      assert.ok(!inspect(err, { depth: 10 }).includes(key), 'the key leaked into the error');
      assert.equal(server.counters.requests, 1, '401 is not retried');
    });
  });

  it('empty string → non-fatal BAD_REQUEST carrying the server message', async () => {
    await withOpenAIServer({}, async (server) => {
      const p = await provider(server);
      const err = await providerError(p.embed(['ok', '']));
      assert.equal(err.code, 'BAD_REQUEST');
      assert.equal(err.fatal, false);
      assert.equal(err.context.status, 400);
      assert.ok(err.message.includes("'$.input' is invalid"), err.message);
      assert.equal(server.counters.requests, 1, '400 is not retried');
    });
  });

  it('makes one attempt per call: a 500 → non-fatal UNAVAILABLE (retries belong to the scheduler)', async () => {
    await withOpenAIServer({}, async (server) => {
      server.setFaults([{ status: 503, count: 1, retryAfterMs: 1 }]);
      const p = await provider(server);
      const err = await providerError(p.embed(['hello']));
      assert.equal(err.code, 'UNAVAILABLE');
      assert.equal(err.fatal, false);
      assert.equal(err.context.status, 503);
      assert.equal(server.counters.requests, 1);
      assert.equal((await p.embed(['hello'])).vectors.length, 1);
    });
  });

  it('429 insufficient_quota → fatal QUOTA', async () => {
    await withOpenAIServer({}, async (server) => {
      server.setFaults([{ status: 429, count: 3, code: 'insufficient_quota' }]);
      const p = await provider(server);
      const err = await providerError(p.embed(['hello']));
      assert.equal(err.code, 'QUOTA');
      assert.equal(err.fatal, true);
      assert.equal(err.context.status, 429);
      assert.equal(server.counters.requests, 1);
    });
  });

  it('429 rate limit → non-fatal RATE_LIMITED carrying retry-after-ms, and the next call waits it out', async () => {
    await withOpenAIServer({}, async (server) => {
      server.setFaults([{ status: 429, count: 1, retryAfterMs: 300 }]);
      const p = await provider(server);
      const err = await providerError(p.embed(['hello']));
      assert.equal(err.code, 'RATE_LIMITED');
      assert.equal(err.fatal, false);
      assert.equal(err.context.retryAfterMs, 300);
      const started = performance.now();
      await p.embed(['hello']);
      // The pause is shared: the next request of the process does not go out before the wait is over.
      assert.ok(performance.now() - started >= 250, 'the next call must wait for retry-after');
      assert.equal(server.counters.requests, 2);
    });
  });

  it('unknown model → fatal MODEL_NOT_FOUND', async () => {
    await withOpenAIServer({}, async (server) => {
      const p = await provider(server, { model: 'text-embedding-4', dims: 8 });
      const err = await providerError(p.embed(['hello']));
      assert.equal(err.code, 'MODEL_NOT_FOUND');
      assert.equal(err.fatal, true);
      assert.equal(err.context.status, 404);
    });
  });

  it('vectors of the wrong length → fatal DIMS_MISMATCH; a custom model with the right dims works', async () => {
    await withOpenAIServer({ models: { 'custom-embed': { dims: 64, dimensions: false } } }, async (server) => {
      const right = await provider(server, { model: 'custom-embed', dims: 64 });
      assert.equal((await right.embed(['hello'])).vectors[0]?.length, 64);
      assert.equal('dimensions' in (server.log[0]!.body as object), false, 'dims of an unknown model is not sent');

      const wrong = await provider(server, { model: 'custom-embed', dims: 32 });
      const err = await providerError(wrong.embed(['hello']));
      assert.equal(err.code, 'DIMS_MISMATCH');
      assert.equal(err.fatal, true);
    });
  });

  it('unreachable server → non-fatal UNAVAILABLE; no answer in time → non-fatal TIMEOUT', async () => {
    const closed = await startOpenAIServer();
    await closed.close();
    const p = await createOpenAIProvider({ apiKey: 'sk-test', baseURL: closed.url });
    const refused = await providerError(p.embed(['hello']));
    assert.equal(refused.code, 'UNAVAILABLE');
    assert.equal(refused.fatal, false);

    await withOpenAIServer({ latencyMs: 500 }, async (server) => {
      const slow = await provider(server, { timeoutMs: 50 });
      const err = await providerError(slow.embed(['hello']));
      assert.equal(err.code, 'TIMEOUT');
      assert.equal(err.fatal, false);
      assert.match(err.message, /no answer within 50 ms/);
    });
  });

  it('an aborted signal rejects with non-fatal ABORTED', async () => {
    await withOpenAIServer({ latencyMs: 500 }, async (server) => {
      const p = await provider(server);
      const err = await providerError(p.embed(['hello'], { signal: AbortSignal.timeout(20) }));
      assert.equal(err.code, 'ABORTED');
      assert.equal(err.fatal, false);
    });
  });
});

describe('openai provider configuration', () => {
  it('exposes the API limits and per-model defaults', async () => {
    const p = await createOpenAIProvider({ apiKey: 'sk-test', model: 'text-embedding-ada-002' });
    assert.equal(p.dims, 1536);
    assert.equal(p.maxInputTokens, 8191);
    // Inputs per request keep one response near 256 × 3072 floats, within the API's 2,048.
    assert.equal(p.maxBatchInputs, 512);
    assert.equal((await createOpenAIProvider({ apiKey: 'sk-test', model: 'text-embedding-3-large' })).maxBatchInputs, 256);
    assert.equal((await createOpenAIProvider({ apiKey: 'sk-test', model: 'text-embedding-3-small', dims: 256 })).maxBatchInputs, 2048);
    assert.equal(p.maxBatchTokens, 300_000);
    assert.equal(p.concurrency, 10);
    assert.equal(OPENAI_EMBEDDING_MODELS['text-embedding-3-small']?.dims, 1536);
    const custom = await createOpenAIProvider({
      apiKey: 'sk-test',
      maxBatchInputs: 100,
      maxBatchTokens: 5000,
      concurrency: 2,
    });
    assert.deepEqual([custom.maxBatchInputs, custom.maxBatchTokens, custom.concurrency], [100, 5000, 2]);
  });

  it('rejects bad configuration with ConfigError', async () => {
    await assert.rejects(createOpenAIProvider({}), (err: unknown) => err instanceof ConfigError && /OPENAI_API_KEY/.test(err.message));
    const bad: ProviderOptions[] = [
      { model: 'text-embedding-ada-002', dims: 512 }, // ada cannot shorten
      { model: 'text-embedding-3-small', dims: 3072 }, // above native
      { model: 'text-embedding-3-large', dims: 0 },
      { model: 'some-local-model' }, // unknown model needs dims
    ];
    for (const opts of bad) {
      await assert.rejects(createOpenAIProvider({ apiKey: 'sk-secret-key', ...opts }), (err: unknown) => {
        assert.ok(err instanceof ConfigError, inspect(opts));
        assert.ok(!err.message.includes('sk-secret-key'));
        return true;
      });
    }
  });

  it('tokenizes with cl100k_base', async () => {
    const { tokenizer } = await createOpenAIProvider({ apiKey: 'sk-test' });
    assert.equal(tokenizer.encode('hello world').length, 2);
    for (const text of ['hello world', 'Größe 42 – wasserdicht 🥾', 'text with <|endoftext|> inside', '']) {
      assert.equal(tokenizer.decode(tokenizer.encode(text)), text);
    }
  });
});

describe('test OpenAI server behaves like the API', () => {
  /** The JSON of an error answer, and of an embeddings list (`E`: number[] for float, string for base64). */
  type ErrorAnswer = { error: { message: string; code: string | null; param: string | null; type: string } };
  type ListAnswer<E> = { object: string; data: Array<{ embedding: E }>; usage: { prompt_tokens: number; total_tokens: number } };
  /** POST /embeddings; `T` is the answer the test expects (an error unless told). */
  async function post<T = ErrorAnswer>(server: OpenAIServer, body: unknown): Promise<{ status: number; headers: Headers; json: T }> {
    const res = await fetch(`${server.url}/embeddings`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, json: (await res.json()) as T };
  }

  it('validates like the real API', async () => {
    await withOpenAIServer({}, async (server) => {
      const model = 'text-embedding-3-small';
      const eightThousand = 'hello '.repeat(8000).trim(); // 8,000 tokens
      const cases: Array<[unknown, number, RegExp]> = [
        [{ model, input: Array(2049).fill('x') }, 400, /'\$\.input' is invalid/],
        [{ model, input: [] }, 400, /'\$\.input' is invalid/],
        [{ model, input: 'hello '.repeat(8200) }, 400, /maximum context length is 8192 tokens/],
        [{ model, input: Array(40).fill(eightThousand) }, 400, /^Requested 320000 tokens, max 300000 tokens per request/],
        [{ model: 'text-embedding-ada-002', input: 'x', dimensions: 8 }, 400, /does not support specifying dimensions/],
        [{ model, input: 'x', dimensions: 4096 }, 400, /Expected a value <= 1536/],
        [{ model: 'nope', input: 'x' }, 404, /The model `nope` does not exist/],
      ];
      for (const [body, status, message] of cases) {
        const res = await post(server, body);
        assert.equal(res.status, status, inspect(res.json));
        assert.match(res.json.error.message, message);
        assert.deepEqual(Object.keys(res.json.error).sort(), ['code', 'message', 'param', 'type']);
      }
      assert.equal((await post(server, { model: 'nope', input: 'x' })).json.error.code, 'model_not_found');
    });
  });

  it('answers float and base64 alike, accepts token arrays, and sends rate-limit headers', async () => {
    await withOpenAIServer({ requestsPerMinute: 100, tokensPerMinute: 1000 }, async (server) => {
      const model = 'text-embedding-3-small';
      const float = await post<ListAnswer<number[]>>(server, { model, input: 'hello world', encoding_format: 'float' });
      const b64 = await post<ListAnswer<string>>(server, { model, input: 'hello world', encoding_format: 'base64' });
      const tokens = await post<ListAnswer<number[]>>(server, { model, input: [[15339, 1917]] }); // "hello world"
      const fromB64 = Array.from(new Float32Array(Buffer.from(b64.json.data[0]!.embedding, 'base64').buffer.slice(0)));
      assert.equal(float.json.data[0]!.embedding.length, 1536);
      assert.deepEqual(fromB64, float.json.data[0]!.embedding);
      assert.deepEqual(tokens.json.data[0]!.embedding, float.json.data[0]!.embedding);
      assert.deepEqual(float.json.usage, { prompt_tokens: 2, total_tokens: 2 });
      assert.equal(float.json.object, 'list');
      assert.equal(float.headers.get('x-ratelimit-limit-requests'), '100');
      assert.equal(float.headers.get('x-ratelimit-limit-tokens'), '1000');
      assert.ok(Number(tokens.headers.get('x-ratelimit-remaining-tokens')) <= 994);
      assert.match(tokens.headers.get('x-ratelimit-reset-tokens') ?? '', /^\d+(\.\d+)?(ms|s)$/);
      assert.match(float.headers.get('x-request-id') ?? '', /^req_/);
      const over = await post(server, { model, input: 'hello '.repeat(1200) });
      assert.equal(over.status, 429);
      assert.equal(over.json.error.code, 'rate_limit_exceeded');
      assert.ok(Number(over.headers.get('retry-after-ms')) > 0);
    });
  });

  it('counts concurrent requests', async () => {
    await withOpenAIServer({ latencyMs: 50 }, async (server) => {
      const p = await provider(server);
      await Promise.all(Array.from({ length: 4 }, (_, i) => p.embed([`item ${i}`])));
      assert.equal(server.counters.maxInFlight, 4);
      assert.equal(server.counters.inFlight, 0);
      assert.equal(server.counters.requests, 4);
    });
  });
});

describe('decoding a response', () => {
  const ctx = { model: 'm', endpoint: 'https://api.example/v1/embeddings', apiKey: 'sk-x', timeoutMs: 1_000, dims: 3 };
  const b64 = (v: number[]) => Buffer.from(Float32Array.from(v).buffer).toString('base64');

  it('base64 vectors come back in input order with their exact float32 values, small and large', () => {
    const small = [
      [1.5, -2, 3],
      [0.25, 4, -8],
      [1e-30, -3.4e38, 0.1],
    ];
    const out = decodeEmbeddings(small.map((v, index) => ({ index, embedding: b64(v) })).reverse(), 3, ctx, {});
    assert.deepEqual(
      out.map((v) => Array.from(v)),
      small.map((v) => Array.from(Float32Array.from(v))),
    );
    // 3072-d: viewed in its own decoded buffer, not copied; the values are the same.
    const large = Array.from({ length: 3072 }, (_, d) => Math.sin(d));
    const [v] = decodeEmbeddings([{ index: 0, embedding: b64(large) }], 1, { ...ctx, dims: 3072 }, {});
    assert.deepEqual(Array.from(v!), Array.from(Float32Array.from(large)));
    assert.equal(v!.byteLength, v!.buffer.byteLength, 'the vector owns its buffer: nothing else is kept alive by it');
  });

  it('a vector of another size is reported with its real size, not truncated into the block', () => {
    const data = [
      { index: 0, embedding: b64([1, 2, 3]) },
      { index: 1, embedding: b64([1, 2, 3, 4]) },
    ];
    assert.throws(() => decodeEmbeddings(data, 2, ctx, {}), /returned 4-dimensional vectors but 3 were expected/);
    assert.throws(() => decodeEmbeddings([{ index: 0, embedding: 'AAAA$$$$AAAA' }], 1, ctx, {}), ProviderError);
  });
});
