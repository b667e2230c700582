import type { RowResult } from './item.js';

/**
 * A streamed catalog plus its progress.
 * - `rows`: every row as a RowResult, in source order; bad rows are `{ ok: false }`, never thrown.
 *   A source that cannot be read at all throws SourceError (from the reader function for a missing file,
 *   bad extension or bad table name; from the iteration for a broken connection or corrupt file).
 *   Each `for await` over `rows` is a fresh pass from the start when `repeatable` (files, tables, arrays;
 *   not a generator of records).
 * - `total`: the size of the whole source in `unit`s, or null while unknown (Postgres: known once the
 *   first row has been requested, since counting needs the connection).
 * - `position()`: how many `unit`s of the source have been consumed so far.
 */
export interface CatalogReader {
  rows: AsyncIterable<RowResult>;
  total: number | null;
  position(): number;
  unit: 'bytes' | 'rows';
  repeatable: boolean;
}
