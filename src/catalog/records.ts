/**
 * Rows that are already in memory or come from a generator (a dead letter's payload being
 * replayed, a library caller's own objects), validated exactly as file rows are.
 */
import type { RowDefaults, RowRef, RowResult } from './item.js';
import type { CatalogReader } from './reader.js';
import { validateRow } from './validate.js';

export interface SourceRecord {
  /** The row as a catalog file would hold it: `item_id`, `description`, `brand`, … */
  raw: unknown;
  ref: RowRef;
}

export function readRecords(records: AsyncIterable<SourceRecord> | Iterable<SourceRecord>, defaults: RowDefaults, total: number | null = null): CatalogReader {
  let count = 0;
  async function* rows(): AsyncGenerator<RowResult> {
    count = 0;
    for await (const { raw, ref } of records) {
      count++;
      yield validateRow(raw, ref, defaults);
    }
  }
  return { rows: { [Symbol.asyncIterator]: () => rows() }, total, position: () => count, unit: 'rows', repeatable: Array.isArray(records) };
}
