/**
 * `mkdir -p` that always returns. Node's `mkdir(dir, { recursive: true })` spins forever at 100 %
 * CPU when a parent exists but answers ENOENT for a child (any path under /proc, a dangling
 * symlink): it creates the parent (EEXIST), retries the child (ENOENT), and repeats. An objects
 * folder or ITEMVEC_HOME under /proc hung a run that way. This walks up to the first folder that
 * exists, then creates each missing level once, and the first error is final.
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

const codeOf = (err: unknown) => (err as { code?: unknown }).code;

export async function makeDir(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let at = resolve(dir); ; ) {
    try {
      if (!(await stat(at)).isDirectory()) throw Object.assign(new Error(`ENOTDIR: ${at} exists and is not a folder`), { code: 'ENOTDIR', path: at });
      break;
    } catch (err) {
      if (codeOf(err) !== 'ENOENT') throw err;
      missing.push(at);
      const parent = dirname(at);
      if (parent === at) break;
      at = parent;
    }
  }
  for (const level of missing.reverse()) {
    try {
      await mkdir(level);
    } catch (err) {
      // Created meanwhile by another process: fine. Anything else (ENOENT under /proc, EACCES) is the answer.
      if (codeOf(err) !== 'EEXIST') throw err;
    }
  }
}
