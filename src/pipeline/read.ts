/** The catalog as every job reads it: batches of valid items, this run's shard only. */
import type { CatalogItem, RowRejection } from '../catalog/item.js';
import type { CatalogReader } from '../catalog/open.js';
import { inShard } from './sample.js';
import type { RunStats } from './stats.js';

export interface ItemBatchOptions {
  /** Items per batch (one change-detection query each). */
  size: number;
  /** A shard of a distributed run; rows that cannot be parsed belong to the shard starting at 0. */
  shard?: { from: number; to: number };
  /** Counts rows read (`itemsSeen`) and rejected (`rejected`). */
  stats: RunStats;
  /** A row that failed validation: the caller records it; reading goes on. */
  reject(rejection: RowRejection): void;
}

export async function* itemBatches(reader: CatalogReader, o: ItemBatchOptions): AsyncGenerator<CatalogItem[]> {
  let batch: CatalogItem[] = [];
  for await (const row of reader.rows) {
    if (o.shard && !(row.ok ? inShard(row.item.orgId, row.item.itemId, o.shard) : o.shard.from === 0)) continue;
    o.stats.itemsSeen += 1;
    if (row.ok) {
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
}
