/**
 * The one retry policy for embedding requests: bounded attempts, exponential backoff with full
 * jitter, and the server's own `retry-after` when it sends one.
 *
 * Written here rather than taken from p-retry: p-retry's `randomize` multiplies the delay by 1–2
 * (it never waits less than the base), while full jitter — a uniform draw from 0 to the capped
 * exponential — spreads many clients' retries evenly and, per AWS's measurements, finishes
 * contended work soonest. It is also the one place that must honour the server's wait.
 */
export interface RetryPolicy {
  /** Retries after the first attempt (so attempts = maxRetries + 1). */
  maxRetries: number;
  /** Backoff ceiling of the first retry; doubles per retry. */
  baseDelayMs: number;
  /** No backoff draws above this. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 6, baseDelayMs: 500, maxDelayMs: 30_000 };

/** For a query someone is waiting on (`search`): a few quick retries, about a second at worst unless the server asks for longer. */
export const QUERY_RETRY_POLICY: RetryPolicy = { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 1_000 };

/**
 * How long to wait before retry number `retry` (1-based). A server-sent wait wins, plus up to 10 %
 * so that every request told "try again in 2 s" does not come back in the same millisecond.
 */
export function retryDelayMs(policy: RetryPolicy, retry: number, retryAfterMs?: number, random = Math.random): number {
  if (retryAfterMs !== undefined && retryAfterMs >= 0) return Math.round(retryAfterMs * (1 + 0.1 * random()));
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.round(ceiling * random());
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Codes of ProviderErrors that a later attempt may not see. */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set(['RATE_LIMITED', 'UNAVAILABLE', 'TIMEOUT', 'BAD_RESPONSE', 'PROVIDER_FAILED']);

/**
 * Run `attempt` until it succeeds, fails with a non-transient error, or the policy's retries are
 * spent. For single calls (Batch API uploads and polls); the embedding scheduler runs the same
 * policy inline because it must also bisect and keep its in-flight slot.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  attempt: () => Promise<T>,
  onRetry?: (error: { code: string; context: { retryAfterMs?: unknown } }, retry: number, delayMs: number) => void,
): Promise<T> {
  for (let retry = 0; ; retry++) {
    try {
      return await attempt();
    } catch (err) {
      const e = err as { code?: unknown; fatal?: unknown; context?: { retryAfterMs?: unknown } };
      const transient = typeof e.code === 'string' && TRANSIENT_CODES.has(e.code) && e.fatal !== true;
      if (!transient || retry >= policy.maxRetries) throw err;
      const after = e.context?.retryAfterMs;
      const delay = retryDelayMs(policy, retry + 1, typeof after === 'number' ? after : undefined);
      onRetry?.({ code: e.code as string, context: e.context ?? {} }, retry + 1, delay);
      await sleep(delay);
    }
  }
}
