/**
 * Open a catalog source: a file (format chosen by extension), a Postgres staging table, or records
 * a caller supplies (e.g. dead letters being replayed).
 */
import { extname } from 'node:path';

import { SourceError } from '../errors.js';
import { readCsv } from './csv.js';
import type { RowDefaults, RowResult } from './item.js';
import { readJsonl } from './jsonl.js';
import { readParquet } from './parquet.js';
import { readPostgresTable } from './postgres.js';
import { readRecords, type SourceRecord } from './records.js';

export type CatalogSource =
  | { kind: 'file'; path: string }
  | { kind: 'postgres'; url: string; table: string }
  | { kind: 'records'; records: AsyncIterable<SourceRecord> | Iterable<SourceRecord>; total?: number };

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

export const SUPPORTED_EXTENSIONS = ['.jsonl', '.ndjson', '.json', '.csv', '.parquet'] as const;

export function openCatalog(source: CatalogSource, defaults: RowDefaults): CatalogReader {
  if (source.kind === 'postgres') return readPostgresTable(source.url, source.table, defaults);
  if (source.kind === 'records') return readRecords(source.records, defaults, source.total ?? null);
  const ext = extname(source.path).toLowerCase();
  switch (ext) {
    case '.jsonl':
    case '.ndjson':
    case '.json':
      return readJsonl(source.path, defaults);
    case '.csv':
      return readCsv(source.path, defaults);
    case '.parquet':
      return readParquet(source.path, defaults);
    default:
      throw new SourceError(
        `unsupported catalog file ${source.path}: extension ${ext === '' ? '(none)' : `"${ext}"`} is not one of ${SUPPORTED_EXTENSIONS.join(', ')} (.json is read as JSON Lines)`,
        { path: source.path },
      );
  }
}
