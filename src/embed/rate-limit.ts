/**
 * Proactive pacing against per-minute request and token limits, shared by every request of the
 * process that goes to the same endpoint, model and key (OpenAI's limits are per organisation and
 * model, so two runs in one process must not each believe they own the whole budget).
 *
 * Two continuously refilling buckets (requests, tokens). Their size comes from the server's
 * `x-ratelimit-limit-*` headers, capped by the user's `--rpm` / `--tpm`. After every response the
 * bucket is brought into the range the server's `x-ratelimit-remaining-*` allows: at most that
 * (someone else may spend the same budget), and at least that minus what this process had in
 * flight or has sent since the request left (the server may or may not have counted those yet). A 429 with `retry-after` pauses everyone, not only the request that got
 * it. Callers acquire in arrival order, so a large request is not starved by small ones.
 *
 * Hand-written because the libraries that pace (bottleneck, p-throttle, limiter) count calls or
 * fixed token costs and cannot be re-synchronised from response headers.
 */
import { sleep } from '../retry.js';

export interface RateLimitCaps {
  /** Requests per minute; undefined = whatever the server advertises. */
  rpm?: number;
  /** Tokens per minute; undefined = whatever the server advertises. */
  tpm?: number;
}

/** What a response told us about the limits (all optional: compatible servers may send none). */
export interface RateLimitObservation {
  limitRequests?: number;
  limitTokens?: number;
  remainingRequests?: number;
  remainingTokens?: number;
  /** Time until the budget is whole again (`x-ratelimit-reset-*`, e.g. `6m0s`, `20ms`). */
  resetRequestsMs?: number;
  resetTokensMs?: number;
}

class Bucket {
  private available: number;
  private at = performance.now();

  constructor(
    private perMinute: number,
    available = perMinute,
  ) {
    this.available = available;
  }

  private refill(now: number): void {
    this.available = Math.min(this.perMinute, this.available + ((now - this.at) * this.perMinute) / 60_000);
    this.at = now;
  }

  /** Milliseconds until `amount` is available; a request larger than the bucket waits for a full one. */
  waitMs(amount: number, now: number): number {
    this.refill(now);
    const need = Math.min(amount, this.perMinute);
    return this.available >= need ? 0 : ((need - this.available) * 60_000) / this.perMinute;
  }

  take(amount: number, now: number): void {
    this.refill(now);
    this.available -= amount;
  }

  /** Give back what an attempt took but the server never counted (it failed before being served). */
  refund(amount: number): void {
    this.available = Math.min(this.perMinute, this.available + amount);
  }

  resize(perMinute: number, now: number): void {
    this.refill(now);
    this.perMinute = perMinute;
    this.available = Math.min(this.available, perMinute);
  }

  /** Keep the local view within what the server's headers allow: [atLeast, atMost]. */
  clamp(atLeast: number, atMost: number, now: number): void {
    this.refill(now);
    this.available = Math.min(Math.max(this.available, atLeast), atMost);
  }

  get limit(): number {
    return this.perMinute;
  }
}

/** One request's claim on the budget, from `acquire` until `settle`. */
export interface RateLimitTicket {
  readonly seq: number;
  readonly tokens: number;
  /** Requests in flight when this one left: the server may have counted them before or after it. */
  readonly overlap: ReadonlySet<number>;
  settled: boolean;
  /** Settled without costing anything (rate-limited, refused, reset before an answer). */
  refunded: boolean;
}

export class RateLimiter {
  private requests: Bucket | undefined;
  private tokens: Bucket | undefined;
  private seq = 0;
  /** In-flight tickets, and settled ones an in-flight ticket may still need to account for. */
  private readonly tickets = new Map<number, RateLimitTicket>();
  private pausedUntil = 0;
  private queue: Promise<void> = Promise.resolve();

  constructor(private caps: RateLimitCaps = {}) {
    if (caps.rpm) this.requests = new Bucket(caps.rpm);
    if (caps.tpm) this.tokens = new Bucket(caps.tpm);
  }

  /** Tokens per minute this budget allows (the server's limit or the cap), once known. */
  get tokenLimit(): number | undefined {
    return this.tokens?.limit;
  }

  /** Tighten the user caps (two runs in one process with different caps: the lower one holds). */
  cap(caps: RateLimitCaps): void {
    const now = performance.now();
    if (caps.rpm && (!this.caps.rpm || caps.rpm < this.caps.rpm)) {
      this.caps.rpm = caps.rpm;
      if (this.requests) this.requests.resize(Math.min(this.requests.limit, caps.rpm), now);
      else this.requests = new Bucket(caps.rpm);
    }
    if (caps.tpm && (!this.caps.tpm || caps.tpm < this.caps.tpm)) {
      this.caps.tpm = caps.tpm;
      if (this.tokens) this.tokens.resize(Math.min(this.tokens.limit, caps.tpm), now);
      else this.tokens = new Bucket(caps.tpm);
    }
  }

  /** Wait, in arrival order, until one request of `tokens` fits both budgets, then spend them. */
  acquire(tokens: number, signal?: AbortSignal): Promise<RateLimitTicket> {
    const turn = this.queue.then(async (): Promise<RateLimitTicket> => {
      for (;;) {
        const now = performance.now();
        const wait = Math.max(this.pausedUntil - now, this.requests?.waitMs(1, now) ?? 0, this.tokens?.waitMs(tokens, now) ?? 0);
        if (wait <= 0) break;
        await sleep(Math.ceil(wait), signal);
      }
      const now = performance.now();
      this.requests?.take(1, now);
      this.tokens?.take(tokens, now);
      const inFlight = [...this.tickets.values()].filter((t) => !t.settled).map((t) => t.seq);
      const ticket: RateLimitTicket = { seq: ++this.seq, tokens, overlap: new Set(inFlight), settled: false, refunded: false };
      this.tickets.set(ticket.seq, ticket);
      return ticket;
    });
    // The next caller waits for this one's turn, whether it succeeded or was aborted.
    this.queue = turn.then(
      () => {},
      () => {},
    );
    return turn;
  }

  /**
   * The request is over. `observed`: what its response (success or error) said about the budget.
   * `refund`: it cost nothing (rate-limited, refused or reset before an answer): give it back.
   */
  settle(ticket: RateLimitTicket, observed?: RateLimitObservation, refund = false): void {
    ticket.settled = true;
    ticket.refunded = refund;
    if (refund) {
      this.requests?.refund(1);
      this.tokens?.refund(ticket.tokens);
    }
    if (observed) this.observe(observed, ticket);
    this.prune();
  }

  /** Bring the buckets in line with a response's headers (`ticket`: the request it answered). */
  observe(o: RateLimitObservation, ticket?: RateLimitTicket): void {
    const now = performance.now();
    // What the server may not have counted when it wrote these headers: requests sent after this
    // one, and those in flight when it left (they may have arrived after it), unless they cost nothing.
    const uncounted = { requests: 0, tokens: 0 };
    if (ticket) {
      for (const other of this.tickets.values()) {
        if (other === ticket || other.refunded || !(other.seq > ticket.seq || ticket.overlap.has(other.seq))) continue;
        uncounted.requests += 1;
        uncounted.tokens += other.tokens;
      }
    }
    this.requests = this.sync(this.requests, this.caps.rpm, o.limitRequests, o.remainingRequests, uncounted.requests, now);
    this.tokens = this.sync(this.tokens, this.caps.tpm, o.limitTokens, o.remainingTokens, uncounted.tokens, now);
    // Without a limit header there is no bucket to refill; an exhausted budget then waits for its reset.
    if (!this.requests && o.remainingRequests === 0 && o.resetRequestsMs) this.pause(o.resetRequestsMs);
    if (!this.tokens && o.remainingTokens === 0 && o.resetTokensMs) this.pause(o.resetTokensMs);
  }

  /** Forget settled tickets that no in-flight ticket can refer to any more. */
  private prune(): void {
    let oldest = Infinity;
    for (const t of this.tickets.values()) {
      if (!t.settled) oldest = Math.min(oldest, t.seq, ...t.overlap);
    }
    for (const t of this.tickets.values()) {
      if (t.settled && t.seq < oldest) this.tickets.delete(t.seq);
    }
  }

  private sync(
    bucket: Bucket | undefined,
    cap: number | undefined,
    limit: number | undefined,
    remaining: number | undefined,
    uncounted: number,
    now: number,
  ): Bucket | undefined {
    if (limit !== undefined && limit > 0) {
      const size = cap ? Math.min(cap, limit) : limit;
      if (!bucket) bucket = new Bucket(size, Math.min(size, (remaining ?? size) - uncounted));
      else if (bucket.limit !== size) bucket.resize(size, now);
    }
    if (bucket && remaining !== undefined) bucket.clamp(remaining - uncounted, remaining, now);
    return bucket;
  }

  /** Everyone waits `ms` (a 429's retry-after). */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, performance.now() + ms);
  }
}

/** Parse `x-ratelimit-*` headers; a missing or malformed header is simply not observed. */
export function observeHeaders(headers: Headers | undefined): RateLimitObservation {
  const num = (name: string): number | undefined => {
    const raw = headers?.get(name);
    if (raw === null || raw === undefined || raw === '') return undefined;
    const n = Number(raw);
    return Number.isFinite(n) && n >= 0 ? n : undefined;
  };
  return {
    limitRequests: num('x-ratelimit-limit-requests'),
    limitTokens: num('x-ratelimit-limit-tokens'),
    remainingRequests: num('x-ratelimit-remaining-requests'),
    remainingTokens: num('x-ratelimit-remaining-tokens'),
    resetRequestsMs: parseDuration(headers?.get('x-ratelimit-reset-requests')),
    resetTokensMs: parseDuration(headers?.get('x-ratelimit-reset-tokens')),
  };
}

/** OpenAI's durations: `1s`, `6m0s`, `20ms`, `1h2m3.5s`. */
export function parseDuration(text: string | null | undefined): number | undefined {
  if (!text) return undefined;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text.trim()) return undefined;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  return parts.reduce((ms, p) => ms + Number(p[1]) * unit[p[2]!]!, 0);
}

const shared = new Map<string, RateLimiter>();

/** The process-wide limiter for one budget (endpoint + model + key fingerprint), with the caps applied. */
export function sharedRateLimiter(budgetKey: string, caps: RateLimitCaps = {}): RateLimiter {
  let limiter = shared.get(budgetKey);
  if (!limiter) {
    limiter = new RateLimiter({ ...caps });
    shared.set(budgetKey, limiter);
  } else {
    limiter.cap(caps);
  }
  return limiter;
}
