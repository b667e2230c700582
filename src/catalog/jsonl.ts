/**
 * JSON Lines reader: one JSON object per line, streamed with node:readline (bounded memory).
 * Blank lines are skipped (but counted, so line numbers match the file); a line that is not valid JSON
 * or not an object is a rejected row, not a fatal error.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { SourceError } from '../errors.js';
import type { RowDefaults, RowResult } from './item.js';
import type { CatalogReader } from './reader.js';
import { checkTextFile, describeType, fileReadError, rowRejection, statCatalogFile, validateRow } from './validate.js';

export function readJsonl(path: string, defaults: RowDefaults): CatalogReader {
  const size = statCatalogFile(path);
  checkTextFile(path);
  let bytes = 0;

  async function* rows(): AsyncGenerator<RowResult> {
    bytes = 0;
    const stream = createReadStream(path);
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    let line = 0;
    let sawContent = false;
    try {
      for await (const rawLine of lines) {
        line++;
        bytes = Math.min(stream.bytesRead, size);
        const text = line === 1 && rawLine.charCodeAt(0) === 0xfeff ? rawLine.slice(1) : rawLine;
        if (text.trim().length === 0) continue;
        const ref = { source: path, line };
        const first = !sawContent;
        sawContent = true;
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (err) {
          if (first && text.trimStart().startsWith('[')) throw notJsonLines(path, line);
          yield rowRejection(ref, `line is not valid JSON: ${(err as Error).message}`, text);
          continue;
        }
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          if (first && Array.isArray(value)) throw notJsonLines(path, line);
          yield rowRejection(ref, `line is not a JSON object, got ${describeType(value)}`, value);
          continue;
        }
        yield validateRow(value, ref, defaults);
      }
      bytes = size;
    } catch (err) {
      throw fileReadError(path, err);
    } finally {
      lines.close();
      stream.destroy();
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

function notJsonLines(path: string, line: number): SourceError {
  return new SourceError(`catalog file ${path} looks like a JSON array (line ${line}), not JSON Lines: write one JSON object per line`, { path, line });
}
