/**
 * CSV reader: header row names the columns; streamed with csv-parse (bounded memory).
 * A record with the wrong number of columns is a rejected row (field `row`); stray quotes inside a field
 * are kept literally. Only a structural break the parser cannot recover from (a quote never closed)
 * stops the read with a SourceError, since row boundaries after it cannot be trusted.
 */
import { createReadStream } from 'node:fs';

import { parse, type CsvError, type InfoRecord } from 'csv-parse';

import type { RowDefaults, RowResult } from './item.js';
import type { CatalogReader } from './open.js';
import { fileReadError, rowRejection, statCatalogFile, validateRow } from './validate.js';

interface ParsedRecord {
  record: Record<string, string>;
  info: InfoRecord;
}

/** Number of line breaks (CRLF, LF or CR) inside a value. */
function lineBreaks(value: string): number {
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x0a) n++;
    else if (c === 0x0d) {
      n++;
      if (value.charCodeAt(i + 1) === 0x0a) i++;
    }
  }
  return n;
}

function sumLineBreaks(values: Iterable<unknown>): number {
  let n = 0;
  for (const v of values) if (typeof v === 'string') n += lineBreaks(v);
  return n;
}

export function readCsv(path: string, defaults: RowDefaults): CatalogReader {
  const size = statCatalogFile(path);
  let bytes = 0;

  async function* rows(): AsyncGenerator<RowResult> {
    bytes = 0;
    let headerWidth = 0;
    let itemIdColumn = -1;
    /** Last physical line of the header / previous record (1-based). */
    let lastLine = 0;
    const stream = createReadStream(path);
    const parser = parse({
      columns: (header: string[]) => {
        headerWidth = header.length;
        lastLine = 1 + sumLineBreaks(header);
        const names = header.map((name) => name.trim());
        itemIdColumn = names.indexOf('item_id');
        return names;
      },
      bom: true,
      info: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
    });
    stream.on('error', (err) => parser.destroy(err));
    stream.pipe(parser);
    let emptyLinesSeen = 0;
    try {
      for await (const parsed of parser as AsyncIterable<ParsedRecord>) {
        bytes = Math.min(stream.bytesRead, size);
        const { record, info } = parsed;
        // csv-parse's own `info.lines` is the record's *last* line (and miscounts CRLF inside quotes),
        // so count from the previous record: skipped empty lines, then this record's first line.
        const emptyBefore = info.empty_lines - emptyLinesSeen;
        emptyLinesSeen = info.empty_lines;
        const line = lastLine + emptyBefore + 1;
        const error = info.error as (CsvError & { record?: unknown }) | undefined;
        const fields: unknown[] = error && Array.isArray(error.record) ? error.record : Object.values(record);
        lastLine = line + sumLineBreaks(fields);
        const ref = { source: path, line };
        if (error) {
          const idField = itemIdColumn >= 0 ? fields[itemIdColumn] : undefined;
          const itemId = typeof idField === 'string' && idField.trim() !== '' ? idField.trim() : null;
          const reason =
            error.code === 'CSV_RECORD_INCONSISTENT_COLUMNS' || error.code === 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH'
              ? `row has ${fields.length} column${fields.length === 1 ? '' : 's'}, the header has ${headerWidth}`
              : `row could not be parsed: ${error.message}`;
          yield rowRejection(ref, reason, fields, itemId);
          continue;
        }
        yield validateRow(record, ref, defaults);
      }
      bytes = size;
    } catch (err) {
      throw fileReadError(path, err, 'cannot parse catalog CSV');
    } finally {
      stream.unpipe(parser);
      stream.destroy();
      parser.destroy();
    }
  }

  return {
    rows: { [Symbol.asyncIterator]: () => rows() },
    total: size,
    position: () => bytes,
    unit: 'bytes',
  };
}
