/**
 * OpenAI's Batch API for embeddings (https://platform.openai.com/docs/guides/batch): upload a JSONL
 * file of requests, create a batch, poll it, stream its output and error files. Half the price of
 * the synchronous endpoint, results within 24 h: the backfill path. Every call goes through the
 * one retry policy; the pipeline side (what to submit, what to load) is src/pipeline/batch.ts.
 */

import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { toFile } from 'openai';
import type { Batch } from 'openai/resources/batches';
import { type ErrorContext, ProviderError } from '../errors.js';
import { type RetryPolicy, withRetries } from '../retry.js';
import { decodeEmbeddings, type OpenAIContext, openAIClient, toProviderError } from './openai.js';
import type { ProviderOptions } from './provider.js';

export type { Batch };

/** One line of a batch's output or error file, decoded. */
export type BatchResultLine =
  | { customId: string; ok: true; vectors: Float32Array[]; tokens: number }
  | { customId: string; ok: false; code: string; message: string };

export interface OpenAIBatchClient {
  readonly ctx: OpenAIContext;
  /** The request line for one item: its chunks as one embeddings request. */
  requestLine(customId: string, texts: string[]): string;
  upload(filename: string, body: Uint8Array): Promise<string>;
  /**
   * The batch tagged `tag`, created if none exists yet. The tag makes creation idempotent: a run
   * killed before it saved the id, or a create whose answer was lost and is being retried, finds
   * the batch it already made instead of paying for a second one.
   */
  findOrCreate(inputFileId: string, tag: string): Promise<Batch>;
  retrieve(batchId: string): Promise<Batch>;
  /** Stream a result file, one decoded line at a time (output files can be gigabytes). */
  results(fileId: string, inputsOf: (customId: string) => number | undefined): AsyncGenerator<BatchResultLine>;
}

const TAG_KEY = 'itemvec_batch_key';

export function createOpenAIBatchClient(opts: ProviderOptions, policy: RetryPolicy): OpenAIBatchClient {
  const { client, ctx, dimensions } = openAIClient(opts);
  const call = <T>(what: string, fn: () => Promise<T>) =>
    withRetries(policy, async () => {
      try {
        return await fn();
      } catch (err) {
        const error = toProviderError(err, ctx);
        error.context.call = what;
        throw error;
      }
    });

  return {
    ctx,
    requestLine(customId, texts) {
      const body = { model: ctx.model, input: texts, encoding_format: 'base64', ...(dimensions !== undefined ? { dimensions } : {}) };
      return JSON.stringify({ custom_id: customId, method: 'POST', url: '/v1/embeddings', body });
    },
    async upload(filename, body) {
      const file = await call('files.create', async () => client.files.create({ file: await toFile(body, filename), purpose: 'batch' }));
      return file.id;
    },
    findOrCreate(inputFileId, tag) {
      // Both steps in one attempt, so that a retry looks again before creating.
      return call('batches.create', async () => {
        let seen = 0;
        // The SDK's page iterator follows `after` cursors; the list is newest first, and our
        // batch, if it exists, is among the most recent ones.
        for await (const batch of client.batches.list({ limit: 100 })) {
          if (batch.metadata?.[TAG_KEY] === tag) return batch;
          if (++seen >= 1000) break;
        }
        return client.batches.create({ input_file_id: inputFileId, endpoint: '/v1/embeddings', completion_window: '24h', metadata: { [TAG_KEY]: tag } });
      });
    },
    retrieve(batchId) {
      return call('batches.retrieve', () => client.batches.retrieve(batchId));
    },
    async *results(fileId, inputsOf) {
      const response = await call('files.content', () => client.files.content(fileId));
      if (!response.body) return;
      const lines = createInterface({ input: Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), crlfDelay: Infinity });
      for await (const line of lines) {
        if (line.trim()) yield decodeResultLine(line, ctx, inputsOf);
      }
    },
  };
}

/** `{custom_id, response: {status_code, body}, error}` → vectors, or the reason this request failed. */
export function decodeResultLine(line: string, ctx: OpenAIContext, inputsOf: (customId: string) => number | undefined): BatchResultLine {
  let parsed: {
    custom_id?: unknown;
    response?: {
      status_code?: number;
      request_id?: string;
      // An embeddings response on 200, an error object otherwise; checked before use.
      body?: { data?: unknown; usage?: { total_tokens?: number; prompt_tokens?: number }; error?: { message?: unknown } | null } | null;
    } | null;
    error?: { code?: string; message?: string } | null;
  };
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new ProviderError('BAD_RESPONSE', `batch result line is not JSON: ${line.slice(0, 120)}`, { fatal: false });
  }
  const customId = String(parsed.custom_id ?? '');
  if (parsed.error) {
    return {
      customId,
      ok: false,
      code: `BATCH_${String(parsed.error.code ?? 'ERROR').toUpperCase()}`,
      message: parsed.error.message ?? 'batch request failed',
    };
  }
  const status = parsed.response?.status_code ?? 0;
  const body = parsed.response?.body;
  if (status !== 200) {
    const message = typeof body?.error?.message === 'string' ? body.error.message : `HTTP ${status}`;
    return {
      customId,
      ok: false,
      code: status === 400 ? 'BAD_REQUEST' : `HTTP_${status}`,
      message: `OpenAI rejected the request (HTTP ${status}): ${message}`,
    };
  }
  const expected = inputsOf(customId);
  if (expected === undefined) {
    return { customId, ok: false, code: 'BAD_RESPONSE', message: `batch result for unknown custom_id ${customId}` };
  }
  const context: ErrorContext = { model: ctx.model, endpoint: ctx.endpoint, customId };
  if (parsed.response?.request_id) context.requestId = parsed.response.request_id;
  try {
    const vectors = decodeEmbeddings(body?.data, expected, ctx, context);
    const tokens = Number(body?.usage?.total_tokens ?? body?.usage?.prompt_tokens ?? 0);
    return { customId, ok: true, vectors, tokens };
  } catch (err) {
    if (err instanceof ProviderError && err.fatal) throw err;
    return { customId, ok: false, code: 'BAD_RESPONSE', message: (err as Error).message };
  }
}
