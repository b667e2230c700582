/**
 * Run records (`embedding_runs`): one row per run, so an operator (and the next run) can see what
 * ran, what it did and how it ended. A run that was killed leaves its row `running`; the next run
 * of the same version finds it, sees that its process is gone, and marks it `interrupted`.
 */
import { hostname } from 'node:os';
import type { Queryable } from './db.js';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'interrupted';

export interface RunStart {
  runId: string;
  job: string;
  trigger?: string;
  namespace: string | null;
  version: string;
  modality: string;
  sample: number;
  shards?: number;
}

/** Counters a finished (or failed) run records; the names are the summary's. */
export interface RunTotals {
  items_seen: number;
  embedded: number;
  skipped_unchanged: number;
  failed: number;
  rejected: number;
  cache_hits: number;
  failure_rate: number;
  api_calls: number;
  tokens: number;
  cost_usd: number | null;
  latency_ms_mean: number;
  latency_ms_p95: number;
}

export interface RunRow {
  run_id: string;
  job: string;
  trigger: string;
  namespace: string | null;
  version: string;
  modality: string;
  status: RunStatus;
  host: string;
  pid: number;
  items_seen: number;
  embedded: number;
  failed: number;
  resumed_from: string | null;
  started_at: Date;
  finished_at: Date | null;
  error: string | null;
  /** Shards of a distributed run (null: one process ran it). */
  shards: number | null;
  failure_rate: number | null;
  tokens: number;
  cost_usd: number | null;
}

/** Everything `itemvec runs show` prints: the row with its totals and the summary it finished with. */
export interface RunDetail extends RunRow {
  sample: number | null;
  skipped: number;
  cache_hits: number;
  api_calls: number;
  latency_ms_mean: number | null;
  latency_ms_p95: number | null;
  summary: Record<string, unknown> | null;
  heartbeat_at: Date;
}

/** True when `pid` on this host is no longer running (a run on another host cannot be checked). */
function processGone(host: string, pid: number): boolean {
  if (host !== hostname()) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Mark as `interrupted` the runs of this version left `running` by a process that is gone (same
 * host, dead pid) or silent for `staleAfterMs` (no heartbeat: another host that died). Returns them.
 */
export async function markInterrupted(db: Queryable, key: { version: string; modality: string }, staleAfterMs: number): Promise<RunRow[]> {
  // A distributed run (shards set) belongs to the queue, not to the process that planned it: its
  // close job or its dead-letter handler ends it (src/orchestrate), and pg-boss retries dead workers' shards.
  const running = await db.query<RunRow & { silent_ms: number }>(
    `SELECT *, EXTRACT(EPOCH FROM now() - heartbeat_at) * 1000 AS silent_ms FROM embedding_runs
     WHERE version = $1 AND modality = $2 AND status = 'running' AND shards IS NULL`,
    [key.version, key.modality],
  );
  const gone = running.filter((r) => processGone(r.host, r.pid) || Number(r.silent_ms) > staleAfterMs);
  if (gone.length === 0) return [];
  await db.query(
    `UPDATE embedding_runs SET status = 'interrupted', finished_at = COALESCE(finished_at, heartbeat_at),
       error = 'the process stopped before the run finished (killed, crashed or lost its host)'
     WHERE run_id = ANY($1::uuid[]) AND status = 'running'`,
    [gone.map((r) => r.run_id)],
  );
  return gone;
}

export async function startRun(db: Queryable, run: RunStart, resumedFrom: string | null): Promise<void> {
  await db.query(
    `INSERT INTO embedding_runs (run_id, job, trigger, namespace, version, modality, status, host, pid, sample, shards, resumed_from)
     VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, $8, $9, $10, $11)`,
    [run.runId, run.job, run.trigger ?? 'cli', run.namespace, run.version, run.modality, hostname(), process.pid, run.sample, run.shards ?? null, resumedFrom],
  );
}

/** Progress while running; the heartbeat tells other processes this run is alive. */
export async function heartbeat(db: Queryable, runId: string, t: Pick<RunTotals, 'items_seen' | 'embedded' | 'failed'>): Promise<void> {
  await db.query('UPDATE embedding_runs SET heartbeat_at = now(), items_seen = $2, embedded = $3, failed = $4 WHERE run_id = $1', [
    runId,
    t.items_seen,
    t.embedded,
    t.failed,
  ]);
}

export async function finishRun(
  db: Queryable,
  runId: string,
  status: 'succeeded' | 'failed',
  totals: RunTotals | null,
  summary: unknown,
  error?: string,
): Promise<void> {
  await db.query(
    `UPDATE embedding_runs SET status = $2, finished_at = now(), heartbeat_at = now(), summary = $3::jsonb, error = $4,
       items_seen = COALESCE($5, items_seen), embedded = COALESCE($6, embedded), skipped = COALESCE($7, skipped),
       failed = COALESCE($8, failed), cache_hits = COALESCE($9, cache_hits), failure_rate = $10, api_calls = COALESCE($11, api_calls),
       tokens = COALESCE($12, tokens), cost_usd = $13, latency_ms_mean = $14, latency_ms_p95 = $15
     WHERE run_id = $1`,
    [
      runId,
      status,
      summary === null || summary === undefined ? null : JSON.stringify(summary),
      error ?? null,
      totals?.items_seen ?? null,
      totals?.embedded ?? null,
      totals?.skipped_unchanged ?? null,
      totals ? totals.failed + totals.rejected : null,
      totals?.cache_hits ?? null,
      totals?.failure_rate ?? null,
      totals?.api_calls ?? null,
      totals?.tokens ?? null,
      totals?.cost_usd ?? null,
      totals?.latency_ms_mean ?? null,
      totals?.latency_ms_p95 ?? null,
    ],
  );
}

export async function listRuns(db: Queryable, filter: { version?: string; status?: RunStatus; limit?: number } = {}): Promise<RunRow[]> {
  return db.query<RunRow>(
    `SELECT run_id, job, trigger, namespace, version, modality, status, host, pid, items_seen::int, embedded::int, failed::int,
            resumed_from, started_at, finished_at, error, shards, failure_rate, tokens::int, cost_usd
     FROM embedding_runs WHERE ($1::text IS NULL OR version = $1) AND ($3::text IS NULL OR status = $3)
     ORDER BY started_at DESC LIMIT $2`,
    [filter.version ?? null, filter.limit ?? 50, filter.status ?? null],
  );
}

/** One run with everything recorded about it, or null. */
export async function getRun(db: Queryable, runId: string): Promise<RunDetail | null> {
  const [row] = await db.query<RunDetail>(
    `SELECT run_id, job, trigger, namespace, version, modality, status, host, pid, sample, shards,
            items_seen::int, embedded::int, skipped::int, failed::int, cache_hits::int, failure_rate, api_calls::int, tokens::int,
            cost_usd, latency_ms_mean, latency_ms_p95, summary, error, resumed_from, started_at, heartbeat_at, finished_at
     FROM embedding_runs WHERE run_id = $1`,
    [runId],
  );
  return row ?? null;
}

/** A run as the review console's runs page shows it: the list's columns plus duration and throughput. */
export interface RunOverview extends RunRow {
  latency_ms_mean: number | null;
  latency_ms_p95: number | null;
  /** finished_at − started_at (until now while running), seconds. */
  duration_s: number;
  /** The run summary's items_per_s; for a run without one (running, failed early), items_seen / duration. */
  items_per_s: number | null;
}

/**
 * The latest runs of the versions an org has. embedding_runs has no org column (one run may load
 * rows of several orgs), so a run is shown to every org holding a version of its namespace, version
 * and modality; its counts are the whole run's.
 */
export async function listOrgRuns(db: Queryable, orgId: string, limit = 50): Promise<RunOverview[]> {
  const rows = await db.query<RunOverview>(
    `SELECT r.run_id, r.job, r.trigger, r.namespace, r.version, r.modality, r.status, r.host, r.pid, r.items_seen::int, r.embedded::int,
            r.failed::int, r.resumed_from, r.started_at, r.finished_at, r.error, r.shards, r.failure_rate, r.tokens::int, r.cost_usd,
            r.latency_ms_mean, r.latency_ms_p95,
            EXTRACT(EPOCH FROM COALESCE(r.finished_at, now()) - r.started_at)::float8 AS duration_s,
            (r.summary ->> 'items_per_s')::float8 AS items_per_s
     FROM embedding_runs r
     WHERE EXISTS (SELECT 1 FROM embedding_versions v
                   WHERE v.org_id = $1 AND v.namespace = r.namespace AND v.version = r.version AND v.modality = r.modality)
     ORDER BY r.started_at DESC LIMIT $2`,
    [orgId, limit],
  );
  return rows.map((r) => {
    const duration = Number(r.duration_s);
    const perSecond = r.items_per_s ?? (duration > 0 ? r.items_seen / duration : null);
    return { ...r, duration_s: duration, items_per_s: perSecond === null ? null : Number(perSecond) };
  });
}
