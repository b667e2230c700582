/**
 * Parquet reader (hyparquet): the footer is read when the reader is opened (so `total` is known and a
 * non-Parquet file fails at once), then rows are decoded one row group at a time — large row groups in
 * ranges of CHUNK_ROWS — so memory stays bounded. Snappy, gzip, zstd, brotli and lz4 pages are supported
 * through hyparquet-compressors. Only the catalog's own columns are decoded; others are ignored.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { asyncBufferFromFile, type FileMetaData, parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { SourceError } from '../errors.js';
import type { RowDefaults, RowResult } from './item.js';
import type { CatalogReader } from './reader.js';
import { fileReadError, statCatalogFile, validateRow } from './validate.js';

/** Row groups up to this many rows are decoded in one call. */
export const WHOLE_ROW_GROUP_MAX = 10_000;
/** Larger row groups are decoded in ranges of this many rows (using the offset index when the file has one). */
export const CHUNK_ROWS = 1_000;

const CATALOG_COLUMNS = ['item_id', 'description', 'brand', 'category', 'image_url', 'tags', 'metadata_version', 'org_id', 'namespace'];

/** Read and parse the footer synchronously (a few KB at the end of the file). */
function readFooter(path: string, size: number): FileMetaData {
  if (size < 12) throw new SourceError(`catalog file ${path} is not a Parquet file: too short (${size} bytes)`, { path });
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const tail = Buffer.alloc(8);
    readSync(fd, tail, 0, 8, size - 8);
    if (tail.toString('latin1', 4, 8) !== 'PAR1') {
      throw new SourceError(`catalog file ${path} is not a Parquet file: no PAR1 footer`, { path });
    }
    const metadataLength = tail.readUInt32LE(0);
    if (metadataLength + 8 > size - 4) {
      throw new SourceError(`catalog file ${path} is not a valid Parquet file: footer length ${metadataLength} exceeds the file`, { path });
    }
    const footer = Buffer.alloc(metadataLength + 8);
    readSync(fd, footer, 0, footer.length, size - footer.length);
    return parquetMetadata(footer);
  } catch (err) {
    throw fileReadError(path, err, 'cannot read Parquet metadata of');
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function readParquet(path: string, defaults: RowDefaults): CatalogReader {
  const size = statCatalogFile(path);
  const metadata = readFooter(path, size);
  const total = Number(metadata.num_rows);
  const present = new Set(parquetSchema(metadata).children.map((c) => c.element.name));
  const wanted = CATALOG_COLUMNS.filter((c) => present.has(c));
  // With none of our columns present every row is rejected (`item_id is missing`); read them all so
  // the rejections still carry the raw rows.
  const columns = wanted.length > 0 ? wanted : undefined;
  let done = 0;

  async function* rows(): AsyncGenerator<RowResult> {
    done = 0;
    const file = await asyncBufferFromFile(path).catch((err: unknown) => {
      throw fileReadError(path, err);
    });
    let groupStart = 0;
    for (const group of metadata.row_groups) {
      const groupRows = Number(group.num_rows);
      const groupEnd = groupStart + groupRows;
      const step = groupRows <= WHOLE_ROW_GROUP_MAX ? groupRows : CHUNK_ROWS;
      for (let start = groupStart; start < groupEnd; start += step) {
        const end = Math.min(groupEnd, start + step);
        let batch: Record<string, unknown>[];
        try {
          batch = await parquetReadObjects({
            file,
            metadata,
            columns,
            rowStart: start,
            rowEnd: end,
            compressors,
            useOffsetIndex: step < groupRows,
          });
        } catch (err) {
          throw fileReadError(path, err, `cannot decode rows ${start + 1}-${end} of Parquet file`);
        }
        for (let i = 0; i < batch.length; i++) {
          const line = start + i + 1;
          done = line;
          yield validateRow(batch[i], { source: path, line }, defaults);
        }
      }
      groupStart = groupEnd;
    }
    done = total;
  }

  return {
    rows: { [Symbol.asyncIterator]: () => rows() },
    total,
    position: () => done,
    unit: 'rows',
    repeatable: true,
  };
}
