/**
 * This machine's PostgreSQL server (no pgvector), used by the staging-table and "pgvector missing"
 * tests. URL from ITEMVEC_TEST_PG_URL (default: trust auth on 127.0.0.1:5432). When it cannot be
 * reached, tests that need it skip locally and fail when CI=true, so CI can never pass by skipping.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import pg from 'pg';

export const TEST_PG_URL = process.env.ITEMVEC_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A connected admin client, or the reason there is none. */
export async function connectTestPostgres(): Promise<{ client: pg.Client; unreachable: null } | { client: null; unreachable: string }> {
  const client = new pg.Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return { client, unreachable: null };
  } catch (err) {
    await client.end().catch(() => undefined);
    return { client: null, unreachable: err instanceof Error ? err.message : String(err) };
  }
}

/** True when the test may run; otherwise skips it (locally) or fails it (CI=true). */
export function needServer(t: TestContext, unreachable: string | null): boolean {
  if (unreachable === null) return true;
  const message = `PostgreSQL not reachable at ${TEST_PG_URL}: ${unreachable}`;
  if (process.env.CI === 'true') assert.fail(`${message} (CI=true, so this is a failure, not a skip)`);
  t.skip(message);
  return false;
}
