/**
 * Open a catalog source: a file (format chosen by extension), a Postgres staging table, or records
 * a caller supplies (e.g. dead letters being replayed).
 */
import { extname } from 'node:path';
import { SourceError } from '../errors.js';
import { readCsv } from './csv.js';
import type { RowDefaults } from './item.js';
import { readJsonl } from './jsonl.js';
import { readParquet } from './parquet.js';
import { readPostgresTable } from './postgres.js';
import type { CatalogReader } from './reader.js';
import { readRecords, type SourceRecord } from './records.js';

export type CatalogSource =
  | { kind: 'file'; path: string }
  | { kind: 'postgres'; url: string; table: string }
  | { kind: 'records'; records: AsyncIterable<SourceRecord> | Iterable<SourceRecord>; total?: number };

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
