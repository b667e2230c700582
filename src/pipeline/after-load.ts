/** What every job does once its rows are in: fresh planner statistics, then the versions' HNSW indexes. */
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import { lexicalDocumentCount } from '../store/lexical.js';
import { ensureVectorIndex, type VersionRecord } from '../store/versions.js';

/** Above this share of a version's documents loaded by one run, the lexical tables are vacuumed: autovacuum's own analyse threshold. */
const LEXICAL_VACUUM_SHARE = 0.1;

export async function afterLoad(db: Db, versions: Iterable<VersionRecord>, o: { loaded: number; createIndex: boolean; logger: Logger }): Promise<void> {
  const list = [...versions];
  // Without fresh statistics the planner may not pick the version's partial HNSW index (measured
  // on PGlite, which has no autovacuum: 460 ms exact scan vs 7 ms at 10k × 3072-d), nor index scans
  // of the lexical tables (1.5 s vs 26 ms for one BM25 query over 1,287 descriptions). VACUUM lets
  // the postings be read from their primary key alone (index-only scans need the visibility map).
  // It costs about a second per million postings on PGlite, so a run that changed a few items of a
  // large version leaves it to the next large one, as autovacuum would.
  if (o.loaded > 0) {
    await db.exec('ANALYZE item_embeddings, catalog_items');
    let documents = 0;
    for (const v of list.filter((x) => x.modality === 'text')) documents += await lexicalDocumentCount(db, v);
    if (documents > 0 && o.loaded >= LEXICAL_VACUUM_SHARE * documents) {
      await db.exec('VACUUM (ANALYZE) lexical_postings, lexical_documents, lexical_terms, lexical_corpus');
    }
  }
  if (!o.createIndex) return;
  for (const v of list) {
    // On a server, CONCURRENTLY keeps the table writable for other versions while HNSW builds.
    if (!(await ensureVectorIndex(db, v, { concurrently: db.driver === 'pg' }))) {
      o.logger.warn({ version: v.version, dims: v.dims }, 'vectors above 4000 dims cannot be indexed by HNSW; similarity search is exact');
    }
  }
}
