/**
 * Start a distributed run: its `embedding_runs` row, then one pg-boss flow holding a job per shard
 * and a close job that depends on all of them. The flow is created in one transaction, so a run
 * has all its jobs or none; pg-boss unblocks the close job once every shard has completed.
 *
 * Idempotent for a given run id: a plan job retried after it crashed (or a cron occurrence sent
 * twice) finds the row and the flow and creates nothing more.
 */
import { randomUUID } from 'node:crypto';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Queryable } from '../store/db.js';
import { finishRun, getRun, startRun } from '../store/runs.js';
import { QUEUES, type Queue } from './queue.js';
import { type CloseData, type RunSpec, type ShardData, shardRanges } from './spec.js';

export interface PlannedRun {
  runId: string;
  shards: Array<{ from: number; to: number }>;
  /** False when the run and its jobs already existed (a retried plan job). */
  created: boolean;
}

export async function planRun(queue: Queue, db: Queryable, spec: RunSpec, options: { runId?: string; trigger: string; logger: Logger }): Promise<PlannedRun> {
  const runId = options.runId ?? randomUUID();
  const shards = shardRanges(spec.shards);
  if (!(await getRun(db, runId))) {
    await startRun(
      db,
      {
        runId,
        job: `embed-${spec.modality}`,
        trigger: options.trigger,
        namespace: spec.namespace,
        version: spec.version,
        modality: spec.modality,
        sample: spec.sample,
        shards: spec.shards,
      },
      null,
    );
  }
  const existing = await queue.boss.findJobs(QUEUES.close, { data: { runId }, limit: 1 });
  if (existing.length > 0) return { runId, shards, created: false };
  try {
    await queue.boss.flow([
      ...shards.map((range, index) => ({ ref: `shard-${index}`, name: QUEUES.shard, data: { runId, index, ...range, spec } satisfies ShardData })),
      { ref: 'close', name: QUEUES.close, data: { runId, spec } satisfies CloseData, dependsOn: shards.map((_, index) => `shard-${index}`) },
    ]);
  } catch (err) {
    // No jobs, so nothing would ever end the row: end it here.
    await finishRun(db, runId, 'failed', null, null, `the run's jobs could not be queued: ${errorMessage(err)}`).catch(() => {});
    throw err;
  }
  options.logger.info(
    { run_id: runId, shards: spec.shards, version: spec.version, modality: spec.modality, namespace: spec.namespace, trigger: options.trigger },
    'distributed run queued',
  );
  return { runId, shards, created: true };
}
