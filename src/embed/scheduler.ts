/**
 * Packs chunks from the whole run into requests (up to the provider's inputs-per-request and
 * tokens-per-request limits), keeps at most `concurrency` requests in flight, and hands each item
 * back once all of its chunks have vectors. Adding blocks while the in-flight limit is reached,
 * which is what bounds memory when the catalog streams in faster than the model embeds it.
 *
 * A request that fails because of its input (HTTP 400, an input the model cannot take) is split in
 * halves until the culprit is alone, so one bad item never sinks the items packed with it.
 * A transient failure (429, 5xx, timeout, reset connection) is retried by the one retry policy
 * (retry.ts) while the request keeps its in-flight slot, so retries never exceed `concurrency`.
 */
import { errorMessage, ProviderError } from '../errors.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, retryDelayMs, sleep, TRANSIENT_CODES } from '../retry.js';
import type { EmbeddingProvider } from './provider.js';

export interface ChunkInput {
  text: string;
  tokens: number;
}

/** An item's chunks on their way through the provider; `vectors` fill in as requests return. */
export interface PendingEmbedding<T> {
  item: T;
  chunks: ChunkInput[];
  vectors: Array<Float32Array | undefined>;
  remaining: number;
  failed: boolean;
}

interface Job<T> {
  pending: PendingEmbedding<T>;
  index: number;
}

export interface SchedulerHooks<T> {
  onEmbedded(pending: PendingEmbedding<T>): void;
  onFailed(pending: PendingEmbedding<T>, error: ProviderError): void;
  /** Called once per provider call, successful or not. */
  onCall(latencyMs: number, tokens: number, inputs: number): void;
  /** Called when a request is over and its items are embedded or failed (after the per-item hooks). */
  onRequestDone?(): void;
  /** Called before each retry of a request, with the error that caused it. */
  onRetry?(error: ProviderError, retry: number, delayMs: number, inputs: number): void;
}

/** Errors caused by an input: bisect to find it. */
const INPUT_ERRORS = new Set(['BAD_REQUEST', 'EMPTY_INPUT', 'LOCAL_MODEL']);

export class EmbedScheduler<T> {
  private batch: Job<T>[] = [];
  private batchTokens = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private fatal: ProviderError | undefined;

  constructor(
    private readonly provider: EmbeddingProvider,
    private readonly hooks: SchedulerHooks<T>,
    private readonly concurrency = provider.concurrency,
    private readonly retry: RetryPolicy = DEFAULT_RETRY_POLICY,
  ) {}

  /** Queue an item's chunks; resolves once they are packed (not embedded). Throws after a fatal provider error. */
  async add(item: T, chunks: ChunkInput[]): Promise<void> {
    this.throwIfFatal();
    const pending: PendingEmbedding<T> = { item, chunks, vectors: new Array(chunks.length), remaining: chunks.length, failed: false };
    const maxTokens = Math.min(this.provider.maxBatchTokens, this.provider.tokenBudget?.() ?? Infinity);
    for (const [index, chunk] of chunks.entries()) {
      const full = this.batch.length >= this.provider.maxBatchInputs || this.batchTokens + chunk.tokens > maxTokens;
      if (full && this.batch.length > 0) await this.dispatch();
      this.batch.push({ pending, index });
      this.batchTokens += chunk.tokens;
    }
  }

  /** Send the partly filled request and wait for everything in flight. */
  async drain(): Promise<void> {
    if (this.batch.length > 0) await this.dispatch();
    await Promise.all(this.inFlight);
    this.throwIfFatal();
  }

  private throwIfFatal(): void {
    if (this.fatal) throw this.fatal;
  }

  private async dispatch(): Promise<void> {
    const jobs = this.batch;
    this.batch = [];
    this.batchTokens = 0;
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    this.throwIfFatal();
    const request = this.send(jobs).finally(() => {
      this.inFlight.delete(request);
      this.hooks.onRequestDone?.();
    });
    this.inFlight.add(request);
  }

  private async send(jobs: Job<T>[]): Promise<void> {
    // Chunks of an item that already failed in another request are not worth a call.
    const live = jobs.filter((j) => !j.pending.failed);
    if (live.length === 0 || this.fatal) return;
    const texts = live.map((j) => j.pending.chunks[j.index]!.text);
    const tokens = live.reduce((n, j) => n + j.pending.chunks[j.index]!.tokens, 0);
    for (let retry = 0; ; retry++) {
      const started = performance.now();
      try {
        const response = await this.provider.embed(texts, { tokens });
        this.hooks.onCall(performance.now() - started, response.tokens, live.length);
        for (const [i, job] of live.entries()) this.complete(job, response.vectors[i]!);
        return;
      } catch (err) {
        const error = err instanceof ProviderError ? err : new ProviderError('PROVIDER_FAILED', errorMessage(err), { fatal: false, cause: err });
        this.hooks.onCall(performance.now() - started, 0, live.length);
        if (error.fatal) {
          this.fatal ??= error;
          return;
        }
        // A request bigger than the whole per-minute token budget never passes, however long it waits.
        const tooBigForBudget = error.code === 'RATE_LIMITED' && typeof error.context.tokenLimit === 'number' && tokens > error.context.tokenLimit;
        if (tooBigForBudget && live.length === 1) {
          this.fail(
            live[0]!.pending,
            new ProviderError(
              'INPUT_OVER_RATE_LIMIT',
              `this input has ${tokens} tokens, more than the ${String(error.context.tokenLimit)} tokens per minute the API allows`,
              { fatal: false, context: error.context },
            ),
          );
          return;
        }
        if (live.length > 1 && (INPUT_ERRORS.has(error.code) || tooBigForBudget)) {
          const mid = Math.ceil(live.length / 2);
          await this.send(live.slice(0, mid));
          await this.send(live.slice(mid));
          return;
        }
        if (!TRANSIENT_CODES.has(error.code) || retry >= this.retry.maxRetries) {
          error.context.attempt = retry + 1;
          for (const job of live) this.fail(job.pending, error);
          return;
        }
        const retryAfter = error.context.retryAfterMs;
        const delay = retryDelayMs(this.retry, retry + 1, typeof retryAfter === 'number' ? retryAfter : undefined);
        this.hooks.onRetry?.(error, retry + 1, delay, live.length);
        await sleep(delay);
        if (this.fatal) return;
      }
    }
  }

  private complete(job: Job<T>, vector: Float32Array): void {
    const p = job.pending;
    if (p.failed) return;
    p.vectors[job.index] = vector;
    p.remaining -= 1;
    if (p.remaining === 0) this.hooks.onEmbedded(p);
  }

  private fail(p: PendingEmbedding<T>, error: ProviderError): void {
    if (p.failed) return;
    p.failed = true;
    this.hooks.onFailed(p, error);
  }
}
