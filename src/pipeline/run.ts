/**
 * `runEmbeddingJob` (CLI: `itemvec run`): one entry for every modality. Text runs are the nightly
 * job (text-job.ts); image runs the weekly one (image-job.ts), imported only when asked for, so a
 * text run never loads sharp, TF.js for images or the fetcher. Both share the skeleton in job.ts.
 */
import { ConfigError } from '../errors.js';
import type { RunOptions } from './job.js';
import { SAMPLE_BUCKETS } from './sample.js';
import type { RunSummary } from './summary.js';
import { runTextJob } from './text-job.js';

export type { RunOptions } from './job.js';
export type { RunProgress } from './stats.js';
export type { RunSummary } from './summary.js';

export async function runEmbeddingJob(options: RunOptions): Promise<RunSummary> {
  const { config, shard } = options;
  if (shard && !(Number.isInteger(shard.from) && Number.isInteger(shard.to) && shard.from >= 0 && shard.from < shard.to && shard.to <= SAMPLE_BUCKETS)) {
    throw new ConfigError(`a shard is a bucket range [from, to) within 0–${SAMPLE_BUCKETS}, got [${shard.from}, ${shard.to})`);
  }
  if (config.modality === 'image') return (await import('./image-job.js')).runImageJob(options);
  return runTextJob(options);
}
