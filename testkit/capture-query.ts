/**
 * The nearest-neighbour statement similar() sends, captured with its parameters, so a test can
 * EXPLAIN exactly what the retriever runs (index use, casts, generic plans).
 */
import assert from 'node:assert/strict';
import { similar } from '../src/retrieve/similar.js';
import type { Db, Queryable } from '../src/store/db.js';

/** A statement run inside a transaction, with its parameters. */
export interface Captured {
  sql: string;
  params: unknown[];
}

/** A Db that records the statements run inside its transactions. */
function spying(db: Db, seen: Captured[]): Db {
  return {
    driver: db.driver,
    location: db.location,
    parallelTransactions: db.parallelTransactions,
    query: (sql, params) => db.query(sql, params),
    exec: (sql) => db.exec(sql),
    close: () => db.close(),
    transaction: (fn) =>
      db.transaction((tx) => {
        const recording: Queryable = {
          query<R>(sql: string, params?: unknown[]) {
            seen.push({ sql, params: params ?? [] });
            return tx.query<R>(sql, params);
          },
          exec: (sql) => tx.exec(sql),
        };
        return fn(recording);
      }),
  };
}

/** The similarity query similar() ran (the one with the `nn` CTE). */
export async function captureSimilarQuery(db: Db, q: Parameters<typeof similar>[1]): Promise<Captured> {
  const seen: Captured[] = [];
  await similar(spying(db, seen), q);
  const nn = seen.find((c) => c.sql.includes('WITH nn AS'));
  assert.ok(nn, `similar() ran no nearest-neighbour query; saw: ${seen.map((c) => c.sql).join(' | ')}`);
  return nn;
}
