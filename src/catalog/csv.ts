/**
 * CSV reader: header row names the columns; streamed with csv-parse (bounded memory).
 * A record with the wrong number of columns is a rejected row (field `row`); stray quotes inside a field
 * are kept literally.
 *
 * A quote opened and not closed on its line makes the parser read on into the next lines as one
 * field: rows would be merged silently (one row taking the next one's description and image) or,
 * with no closing quote at all, the rest of the file lost. A record that spans lines, whose first
 * line opens a quote it does not close and that ends at a later row's opening quote, is taken for
 * that: each of its lines is read on its own, a line with an unclosed quote rejected ("quote …
 * never closed"), the others read as the rows they are. A quote still open at the end of the file
 * is rejected at the line it opened on, and the lines after it are read one by one. Quoted fields
 * that really span lines end with a closing quote and are kept as they are.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { type CsvError, type InfoRecord, parse } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import type { RowDefaults, RowResult } from './item.js';
import type { CatalogReader } from './reader.js';
import { checkTextFile, fileReadError, rowRejection, statCatalogFile, validateRow } from './validate.js';

interface ParsedRecord {
  record: Record<string, string>;
  raw: string;
  info: InfoRecord;
}

const QUOTE_NOT_CLOSED = 'a quote opened on this line is never closed; the lines after it are read as rows of their own';

/** One physical line as CSV fields, or null when it is not one well-formed row. */
function lineFields(line: string): string[] | null {
  try {
    const rows = parseSync(line, { relax_quotes: true, relax_column_count: true }) as string[][];
    return rows.length === 1 ? rows[0]! : null;
  } catch {
    return null;
  }
}

/** A line that opens a quoted field and never closes it: an odd number of quotes, the first one where a field starts. */
function opensUnclosedQuote(line: string): boolean {
  const first = line.indexOf('"');
  return first >= 0 && (first === 0 || line[first - 1] === ',') && (line.match(/"/g)?.length ?? 0) % 2 === 1;
}

type HiddenLine = { fields: string[] } | { unclosed: string } | { broken: string; fields: string[] | null };

/**
 * The lines a record merged because its first line opened a quote and never closed it, each to be
 * read or rejected on its own; null for a genuine multi-line field. Told apart by the quote that
 * ended the record: a real closing quote is followed by a comma or the end of the line, while in a
 * merge the record ends at a later row's opening quote (a field start followed by text: `,"x`).
 * A later field that starts with a quote or a comma is ambiguous; it is read as the grammar says.
 */
function splitUnclosedQuote(raw: string, width: number): HiddenLine[] | null {
  const lines = raw.split(/\r\n|\n|\r/);
  if (lines.at(-1) === '') lines.pop();
  if (lines.length < 2 || !opensUnclosedQuote(lines[0]!)) return null;
  const last = lines.at(-1)!;
  const q = last.indexOf('"');
  const endsAtAnOpeningQuote = q >= 0 && (q === 0 || last[q - 1] === ',') && q + 1 < last.length && !'",'.includes(last[q + 1]!);
  if (!endsAtAnOpeningQuote) return null;
  return lines.slice(1).map((line) => {
    const fields = lineFields(line);
    if (fields?.length === width) return { fields };
    return opensUnclosedQuote(line) ? { unclosed: line } : { broken: line, fields };
  });
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
  checkTextFile(path);
  let bytes = 0;

  async function* rows(): AsyncGenerator<RowResult> {
    bytes = 0;
    let headerWidth = 0;
    let itemIdColumn = -1;
    let names: string[] = [];
    /** Last physical line of the header / previous record (1-based). */
    let lastLine = 0;
    const stream = createReadStream(path);
    const parser = parse({
      columns: (header: string[]) => {
        headerWidth = header.length;
        lastLine = 1 + sumLineBreaks(header);
        names = header.map((name) => name.trim());
        itemIdColumn = names.indexOf('item_id');
        return names;
      },
      bom: true,
      info: true,
      raw: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
    });
    stream.on('error', (err) => parser.destroy(err));
    stream.pipe(parser);
    let emptyLinesSeen = 0;
    const idOf = (fields: unknown[]) => {
      const idField = itemIdColumn >= 0 ? fields[itemIdColumn] : undefined;
      return typeof idField === 'string' && idField.trim() !== '' ? idField.trim() : null;
    };
    /** The id of a line whose quote never closes: from the fields before the quote, when the id is one of them. */
    const idOfUnclosed = (text: string) => {
      const before = lineFields(text.slice(0, text.indexOf('"')));
      return before ? idOf(before.slice(0, -1)) : null;
    };
    const asRecord = (fields: string[]) => Object.fromEntries(names.map((n, i) => [n, fields[i]]));
    /** A quote opened on line `start` and never closed: reject that line, read each line after it alone. */
    async function* unclosedToTheEnd(start: number): AsyncGenerator<RowResult> {
      const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
      let n = 0;
      try {
        for await (const text of lines) {
          n++;
          if (n < start || (n > start && text.trim() === '')) continue;
          const ref = { source: path, line: n };
          const fields = lineFields(text);
          if (n === start) yield rowRejection(ref, QUOTE_NOT_CLOSED, text, idOfUnclosed(text));
          else if (fields?.length === headerWidth) yield validateRow(asRecord(fields), ref, defaults);
          else
            yield rowRejection(
              ref,
              fields ? `row has ${fields.length} columns, the header has ${headerWidth}` : 'row could not be parsed',
              text,
              idOf(fields ?? []),
            );
        }
      } finally {
        lines.close();
      }
    }
    try {
      for await (const parsed of parser as AsyncIterable<ParsedRecord>) {
        bytes = Math.min(stream.bytesRead, size);
        const { record, raw, info } = parsed;
        // csv-parse's own `info.lines` is the record's *last* line (and miscounts CRLF inside quotes),
        // so count from the previous record: skipped empty lines, then this record's first line.
        const emptyBefore = info.empty_lines - emptyLinesSeen;
        emptyLinesSeen = info.empty_lines;
        const line = lastLine + emptyBefore + 1;
        const error = info.error as (CsvError & { record?: unknown }) | undefined;
        const fields: unknown[] = error && Array.isArray(error.record) ? error.record : Object.values(record);
        lastLine = line + sumLineBreaks(fields);
        const ref = { source: path, line };
        const merged = splitUnclosedQuote(raw, headerWidth);
        if (merged) {
          const firstLine = raw.split(/\r\n|\n|\r/, 1)[0]!;
          yield rowRejection(ref, QUOTE_NOT_CLOSED, firstLine, idOfUnclosed(firstLine));
          for (const [i, hidden] of merged.entries()) {
            const at = { source: path, line: line + 1 + i };
            if ('unclosed' in hidden) yield rowRejection(at, QUOTE_NOT_CLOSED, hidden.unclosed, idOfUnclosed(hidden.unclosed));
            else if ('broken' in hidden)
              yield rowRejection(
                at,
                hidden.fields ? `row has ${hidden.fields.length} columns, the header has ${headerWidth}` : 'row could not be parsed',
                hidden.broken,
                idOf(hidden.fields ?? []),
              );
            else yield validateRow(asRecord(hidden.fields), at, defaults);
          }
          continue;
        }
        if (error) {
          const itemId = idOf(fields);
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
      if ((err as CsvError).code !== 'CSV_QUOTE_NOT_CLOSED') throw fileReadError(path, err, 'cannot parse catalog CSV');
      // Still open at the end of the file: the record began on the line after the last one read.
      yield* unclosedToTheEnd(lastLine + 1);
      bytes = size;
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
    repeatable: true,
  };
}
