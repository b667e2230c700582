/** The catalog as every job reads it: batches of valid items, this run's shard only, each item id once. */
import xxhash from 'xxhash-wasm';
import type { CatalogItem, RowRejection, RowResult } from '../catalog/item.js';
import type { CatalogReader } from '../catalog/reader.js';
import type { Logger } from '../log.js';
import { inShard } from './sample.js';
import type { RunStats } from './stats.js';

export interface ItemBatchOptions {
  /** Items per batch (one change-detection query each). */
  size: number;
  /** A shard of a distributed run; rows that cannot be parsed belong to the shard starting at 0. */
  shard?: { from: number; to: number };
  /** Counts rows read (`itemsSeen`), rejected (`rejected`), cleaned and repeated (`duplicates`). */
  stats: RunStats;
  /** A row that failed validation: the caller records it; reading goes on. */
  reject(rejection: RowRejection): void;
  logger?: Logger;
}

/**
 * Batches of valid items in source order. When an item id repeats, the last valid row wins across
 * the whole catalog: a first pass counts the repeats (`repeatedKeys`) and the second yields each
 * repeated item only at its last occurrence, so reruns of the same file always keep the same row
 * and the catalog settles. A source that cannot be read twice (a generator of records) is not
 * counted; its repeats are resolved within a batch by the caller's grouping.
 */
export async function* itemBatches(reader: CatalogReader, o: ItemBatchOptions): AsyncGenerator<CatalogItem[]> {
  const inThisShard = (row: RowResult) => !o.shard || (row.ok ? inShard(row.item.orgId, row.item.itemId, o.shard) : o.shard.from === 0);
  const itemKey = await itemKeyHasher();
  const repeats = reader.repeatable ? await repeatedKeys(reader, inThisShard) : new Map<bigint, number>();
  if (repeats.size > 0)
    o.logger?.info({ repeated_ids: repeats.size }, `${repeats.size} item ids appear more than once in the catalog: the last row of each wins`);
  let batch: CatalogItem[] = [];
  for await (const row of reader.rows) {
    if (!inThisShard(row)) continue;
    o.stats.itemsSeen += 1;
    if (row.ok) {
      if (row.cleaned) o.stats.cleaned += 1;
      const key = repeats.size > 0 ? itemKey(row.item) : 0n;
      const left = repeats.get(key);
      if (left !== undefined && left > 1) {
        repeats.set(key, left - 1);
        o.stats.duplicates += 1;
        continue;
      }
      repeats.delete(key);
      batch.push(row.item);
    } else {
      o.stats.rejected += 1;
      o.reject(row.rejection);
    }
    if (batch.length >= o.size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
  // Only when the source changed between the two passes (a staging table written during the run).
  if (repeats.size > 0)
    o.logger?.warn(
      { unresolved: repeats.size },
      `${repeats.size} repeated item ids had fewer rows on the second read than on the first (the source changed during the run); their last row read was skipped and the next run embeds them`,
    );
}

/**
 * A 64-bit fingerprint of (org, namespace, item id), so the pass that counts repeats stores 8 bytes
 * a row, not the id. xxHash64 (xxhash-wasm): 0.4 µs an id where node:crypto's md5 takes 2–3 µs,
 * which at 10 M rows is 4 s instead of 30.
 */
async function itemKeyHasher(): Promise<(item: CatalogItem) => bigint> {
  const { h64 } = await xxhash();
  return (item) => h64(`${item.orgId}\0${item.namespace}\0${item.itemId}`);
}

/**
 * Pass one: every valid row's fingerprint in a growing typed array (8 bytes a row: 80 MB at 10 M
 * rows, freed when the pass ends), sorted natively, then runs of equal fingerprints give the keys
 * that repeat and how often. Only those are kept. Two different ids share a fingerprint with
 * probability about n²/2⁶⁵ (3·10⁻⁶ at 10 M rows); the earlier of the two would then wait for the later.
 */
export async function repeatedKeys(reader: CatalogReader, inThisShard: (row: RowResult) => boolean): Promise<Map<bigint, number>> {
  const itemKey = await itemKeyHasher();
  let keys = new BigUint64Array(1 << 16);
  let n = 0;
  for await (const row of reader.rows) {
    if (!row.ok || !inThisShard(row)) continue;
    if (n === keys.length) {
      const grown = new BigUint64Array(keys.length * 2);
      grown.set(keys);
      keys = grown;
    }
    keys[n++] = itemKey(row.item);
  }
  const sorted = keys.subarray(0, n).sort();
  const repeats = new Map<bigint, number>();
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && sorted[j] === sorted[i]) j++;
    if (j - i > 1) repeats.set(sorted[i]!, j - i);
    i = j;
  }
  return repeats;
}
