/**
 * Local-folder ObjectStore (the default backend). Keys map to files under the root folder.
 *
 * Writes are atomic: the bytes go to a uniquely named temporary file in the destination folder, are
 * flushed to disk, and are then `rename`d over the final name. On POSIX a rename within one file system
 * is atomic, so a concurrent reader sees either the previous object or the whole new one, never a
 * partial Parquet part. Temporary files are hidden from `list`.
 */
import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

import { errorMessage, ObjectStoreError } from '../errors.js';
import { makeDir } from '../make-dir.js';
import type { ObjectStore } from './store.js';

/** `.<name>.<pid>.<12 hex>.tmp`, as written by `put` below. */
const TEMP_FILE = /^\..*\.\d+\.[0-9a-f]{12}\.tmp$/;

/**
 * Check a key (or, with `allowPrefix`, a list prefix) is a relative `/`-separated path that stays
 * inside the store: no leading `/`, no empty, `.` or `..` segments, no backslash or NUL, and no
 * segment that looks like one of our temporary files. Both backends apply the same rules so a key
 * that works locally also works on S3 and vice versa. Exported for s3.ts.
 */
export function validateObjectKey(key: string, what: 'key' | 'prefix' = 'key'): void {
  const fail = (why: string): never => {
    throw new ObjectStoreError(`Invalid object ${what} ${JSON.stringify(key)}: ${why}`, { key, field: what });
  };
  if (what === 'prefix' && key === '') return;
  if (key === '') fail('it is empty');
  if (key.includes('\0')) fail('it contains a NUL character');
  if (key.includes('\\')) fail('use "/" as the separator, not "\\"');
  if (key.startsWith('/') || isAbsolute(key)) fail('it must be relative, not absolute');
  const segments = key.split('/');
  // A prefix may end with "/" (a "folder") or with a partial name; a key may do neither of the former.
  if (what === 'prefix' && segments[segments.length - 1] === '') segments.pop();
  for (const segment of segments) {
    if (segment === '') fail('it contains an empty path segment ("//" or a trailing "/")');
    if (segment === '.' || segment === '..') fail('"." and ".." segments are not allowed; a key must stay inside the store');
  }
  const last = segments[segments.length - 1];
  if (what === 'key' && last !== undefined && TEMP_FILE.test(last)) fail('the name is reserved for temporary files');
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT';
}

/** Compare as UTF-8 bytes, the order S3 lists keys in (differs from UTF-16 `<` for astral characters). */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function createLocalObjectStore(rootDir: string): ObjectStore {
  const root = resolve(rootDir);
  const url = pathToFileURL(root).href;

  function pathFor(key: string, what: 'key' | 'prefix' = 'key'): string {
    validateObjectKey(key, what);
    const full = key === '' ? root : resolve(root, ...key.split('/'));
    // Defence in depth: the checks above already guarantee this.
    if (full !== root && !full.startsWith(root.endsWith(sep) ? root : root + sep)) {
      throw new ObjectStoreError(`Object ${what} ${JSON.stringify(key)} resolves outside the store root`, { store: url, key });
    }
    return full;
  }

  function wrap(op: string, key: string, err: unknown): ObjectStoreError {
    if (err instanceof ObjectStoreError) return err;
    const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
    return new ObjectStoreError(
      `Local object store ${op} of ${JSON.stringify(key)} under ${root} failed: ${errorMessage(err)}`,
      { store: url, op, key, ...(typeof code === 'string' ? { errno: code } : {}), ...(isNotFound(err) ? { notFound: true } : {}) },
      { cause: err },
    );
  }

  return {
    url,

    async put(key, body) {
      const target = pathFor(key);
      const dir = dirname(target);
      // Keep the temp name well under NAME_MAX (255 bytes) even for long object names.
      const tempName = `.${basename(target).slice(0, 100)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
      const temp = join(dir, tempName);
      try {
        await makeDir(dir);
        const handle = await open(temp, 'wx', 0o644);
        try {
          await handle.writeFile(body);
          // Flush before the rename so a crash cannot leave a complete-looking name with missing data.
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(temp, target);
      } catch (err) {
        await unlink(temp).catch(() => undefined);
        throw wrap('put', key, err);
      }
    },

    async get(key) {
      const path = pathFor(key);
      try {
        const buf = await readFile(path);
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      } catch (err) {
        if (isNotFound(err)) {
          throw new ObjectStoreError(`Object ${JSON.stringify(key)} not found in ${url}`, { store: url, op: 'get', key, notFound: true }, { cause: err });
        }
        throw wrap('get', key, err);
      }
    },

    async *list(prefix) {
      validateObjectKey(prefix, 'prefix');
      // Keys match by plain string prefix, like S3: "runs/1" matches "runs/1/a" and "runs/10/b".
      // Start the walk at the deepest folder the prefix fully names.
      const cut = prefix.lastIndexOf('/');
      const startKey = cut === -1 ? '' : prefix.slice(0, cut);
      const startDir = pathFor(startKey, 'prefix');

      async function* walk(dir: string, dirKey: string): AsyncGenerator<string> {
        let entries: Dirent[];
        try {
          entries = await readdir(dir, { withFileTypes: true });
        } catch (err) {
          if (isNotFound(err)) return;
          throw wrap('list', prefix, err);
        }
        // Sorting names with a "/" appended to folders makes this depth-first walk emit keys in
        // global lexical order ("a.b" < "a/x" because "." < "/").
        const sorted = entries
          .filter((e) => e.isDirectory() || (e.isFile() && !TEMP_FILE.test(e.name)))
          .map((e) => ({ entry: e, sortKey: e.isDirectory() ? `${e.name}/` : e.name }))
          .sort((a, b) => compareUtf8(a.sortKey, b.sortKey));
        for (const { entry } of sorted) {
          const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
          if (entry.isDirectory()) {
            const asFolder = `${key}/`;
            if (asFolder.startsWith(prefix) || prefix.startsWith(asFolder)) {
              yield* walk(join(dir, entry.name), key);
            }
          } else if (key.startsWith(prefix)) {
            yield key;
          }
        }
      }

      yield* walk(startDir, startKey);
    },

    async delete(key) {
      const path = pathFor(key);
      try {
        await unlink(path);
      } catch (err) {
        if (isNotFound(err)) return;
        throw wrap('delete', key, err);
      }
    },
  };
}
