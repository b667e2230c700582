/**
 * itemvec as a library: everything the CLI does, a program can do.
 *
 *   import { loadConfig, runEmbeddingJob, openDb, similar } from 'itemvec';
 *   const config = loadConfig();
 *   const summary = await runEmbeddingJob({ config, source: { kind: 'file', path: 'catalog.jsonl' } });
 */
export { loadConfig, DEFAULT_PROMPT_TEMPLATE, DEFAULT_ORG_ID, type Config, type ConfigInput } from './config.js';
export * from './errors.js';
export { createLogger, redactUrl, type Logger } from './log.js';
export type { CatalogItem, RowRejection, RowResult } from './catalog/item.js';
export { openCatalog, type CatalogSource, type CatalogReader } from './catalog/open.js';
export { compileTemplate } from './prompt/template.js';
export { chunkText, type TextChunk } from './prompt/chunk.js';
export { createProvider, type EmbeddingProvider, type ProviderName, type ProviderOptions, type Tokenizer } from './embed/index.js';
export { openDb, type Db } from './store/db.js';
export { migrate } from './store/migrations.js';
export { listVersions, getActiveVersion, type VersionRecord } from './store/versions.js';
export { listFailures, type FailureRow } from './store/failures.js';
export { openObjectStore } from './objects/open.js';
export type { ObjectStore } from './objects/store.js';
export { runEmbeddingJob, type RunOptions, type RunSummary, type RunProgress } from './pipeline/run.js';
export { similar, search, type Candidate, type SimilarQuery } from './retrieve/similar.js';
export { parseBlendEmbeddingVersion, resolveVersion } from './retrieve/version.js';
