/**
 * Staged rollout: `--sample 5%` embeds the items whose stable bucket is below 500 of 10,000.
 * The bucket depends only on (org_id, item_id), so a later `--sample 25%` takes every item of the
 * 5 % (already embedded, so skipped) plus the next 20 %, and shards of a distributed run can cut
 * the same hash space into ranges.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.js';

export const SAMPLE_BUCKETS = 10_000;

/** The item's bucket in [0, 10,000): the first 4 bytes of SHA-256("org_id:item_id"), modulo. */
export function sampleBucket(orgId: string, itemId: string): number {
  return createHash('sha256').update(`${orgId}:${itemId}`).digest().readUInt32BE(0) % SAMPLE_BUCKETS;
}

/** "5%", "5", "0.5%" or "100%" → the share in (0, 1]; a clear error otherwise. */
export function parseSample(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  const percent = m ? Number(m[1]) : NaN;
  if (!(percent > 0 && percent <= 100)) {
    throw new ConfigError(`--sample must be a percentage above 0 and at most 100, e.g. 5% or 25%; got "${text}"`, { field: 'sample' });
  }
  return percent / 100;
}

/** True when the item falls in the first `share` of the buckets. */
export function inSample(orgId: string, itemId: string, share: number): boolean {
  return share >= 1 || sampleBucket(orgId, itemId) < Math.round(share * SAMPLE_BUCKETS);
}

/** True when the item's bucket is in [from, to): the shard of a distributed run that owns it. */
export function inShard(orgId: string, itemId: string, shard: { from: number; to: number }): boolean {
  const bucket = sampleBucket(orgId, itemId);
  return bucket >= shard.from && bucket < shard.to;
}
