/**
 * Whether a process reading this database can answer: the database responds and its schema has
 * every migration this build knows. A build newer than the schema would fail on its first query
 * against a missing column, so a probe should hold traffic back until `itemvec migrate` has run.
 */
import { errorMessage } from '../errors.js';
import type { Queryable } from './db.js';
import { MIGRATIONS } from './migrations.js';

export type Readiness = { ready: true } | { ready: false; reason: string };

const LATEST_MIGRATION = Math.max(...MIGRATIONS.map((m) => m.id));

/** Never throws: a database that cannot be reached is an answer (not ready), not a failure of the probe. */
export async function checkReady(db: Queryable): Promise<Readiness> {
  try {
    const [row] = await db.query<{ id: number | null }>('SELECT max(id) AS id FROM itemvec_migrations');
    if (Number(row?.id) >= LATEST_MIGRATION) return { ready: true };
    return { ready: false, reason: `database schema is at migration ${row?.id ?? 'none'}, this build needs ${LATEST_MIGRATION}: run itemvec migrate` };
  } catch (err) {
    return { ready: false, reason: `database: ${errorMessage(err)}` };
  }
}
