/** What every job does once its rows are in: fresh planner statistics, then the versions' HNSW indexes. */
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import { ensureVectorIndex, type VersionRecord } from '../store/versions.js';

export async function afterLoad(db: Db, versions: Iterable<VersionRecord>, o: { loaded: number; createIndex: boolean; logger: Logger }): Promise<void> {
  // Without fresh statistics the planner may not pick the version's partial HNSW index (measured
  // on PGlite, which has no autovacuum: 460 ms exact scan vs 7 ms at 10k × 3072-d).
  if (o.loaded > 0) await db.exec('ANALYZE item_embeddings, catalog_items');
  if (!o.createIndex) return;
  for (const v of versions) {
    // On a server, CONCURRENTLY keeps the table writable for other versions while HNSW builds.
    if (!(await ensureVectorIndex(db, v, { concurrently: db.driver === 'pg' }))) {
      o.logger.warn({ version: v.version, dims: v.dims }, 'vectors above 4000 dims cannot be indexed by HNSW; similarity search is exact');
    }
  }
}
