/**
 * One process at a time per embedded data folder. PGlite is a single Postgres backend inside this
 * process; a second process opening the same folder writes over the first one's pages (measured:
 * two `itemvec run` on one folder left 2,646 duplicate primary keys and a run stuck `running`).
 *
 * proper-lockfile takes the lock atomically (mkdir `<dir>.lock`) and refreshes its mtime while it
 * is held; `owner.json` inside it names the holder. A PGlite statement blocks the event loop while it
 * runs (an HNSW build: minutes), so mtime alone only counts a lock as abandoned after an hour; a
 * holder that died on this host (SIGKILL, OOM) is recognised at once by its pid instead. Inside the
 * lock, the owner file goes with it: a lock without one is being taken, never mistaken for a dead one.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import lockfile from 'proper-lockfile';
import { DatabaseError, errorMessage } from '../errors.js';
import { sleep } from '../retry.js';

/** Without a refresh for this long a lock counts as abandoned (another host, or a hung process). */
const STALE_MS = 60 * 60_000;
const POLL_MS = 100;

interface Owner {
  pid: number;
  host: string;
  command: string;
  since: string;
}

/** Release it when the database closes; `lost` is set when another process took the lock meanwhile. */
export interface FolderLock {
  release(): Promise<void>;
  readonly lost: Error | null;
}

const lockPath = (dir: string) => `${dir}.lock`;
const ownerPath = (dir: string) => `${lockPath(dir)}/owner.json`;

async function readOwner(dir: string): Promise<Owner | null> {
  try {
    return JSON.parse(await readFile(ownerPath(dir), 'utf8')) as Owner;
  } catch {
    return null;
  }
}

const describe = (owner: Owner | null) => (owner ? `process ${owner.pid} on ${owner.host} (${owner.command}) since ${owner.since}` : 'another process');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Take the folder's lock, waiting up to `waitSeconds` for another holder; DatabaseError
 * `DB_LOCKED` (exit 4) naming the holder when it is still held after that.
 */
export async function lockFolder(dir: string, waitSeconds: number): Promise<FolderLock> {
  const deadline = Date.now() + waitSeconds * 1000;
  let lost: Error | null = null;
  let waiting = false;
  for (;;) {
    const owner = await readOwner(dir);
    // A holder that died on this host leaves its lock behind: remove it and take the folder at once.
    // Read again just before removing, so a process that took the lock over a moment ago keeps it.
    if (owner !== null && owner.host === os.hostname() && owner.pid !== process.pid && !alive(owner.pid)) {
      const still = await readOwner(dir);
      if (still?.pid === owner.pid && still.since === owner.since) await rm(lockPath(dir), { recursive: true, force: true });
    }
    try {
      const release = await lockfile.lock(dir, {
        lockfilePath: lockPath(dir),
        realpath: false,
        stale: STALE_MS,
        onCompromised: (err) => {
          lost = err;
        },
      });
      const me: Owner = { pid: process.pid, host: os.hostname(), command: process.argv.slice(1).join(' '), since: new Date().toISOString() };
      await writeFile(ownerPath(dir), `${JSON.stringify(me)}\n`);
      return {
        async release() {
          await rm(ownerPath(dir), { force: true });
          await release().catch(() => {});
        },
        get lost() {
          return lost;
        },
      };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // A lock abandoned on another host, stale by mtime, still holds its owner file.
      if (code === 'ENOTEMPTY') {
        await rm(ownerPath(dir), { force: true });
        continue;
      }
      if (code !== 'ELOCKED') {
        throw new DatabaseError('DB_OPEN', `cannot lock the embedded database in ${dir}: ${errorMessage(err)}`, { dataDir: dir }, { cause: err });
      }
      if (Date.now() >= deadline) {
        throw new DatabaseError(
          'DB_LOCKED',
          `the embedded database in ${dir} is in use by ${describe(owner)}: one process at a time can open it. ` +
            'Wait for it (--wait-lock SECONDS or ITEMVEC_WAIT_LOCK), or run concurrent jobs against a Postgres server (DATABASE_URL).',
          { dataDir: dir, holder: owner?.pid ?? null },
          { cause: err },
        );
      }
      if (!waiting) {
        // Asked to wait: say for whom, once, so a queued job does not look hung.
        waiting = true;
        process.stderr.write(`itemvec: waiting up to ${waitSeconds} s for the embedded database in ${dir}, held by ${describe(owner)}\n`);
      }
      await sleep(POLL_MS);
    }
  }
}
