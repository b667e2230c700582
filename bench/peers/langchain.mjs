// @ts-check
/**
 * The LangChain.js side of bench/vs-langchain.ts: ONE phase (cold, unchanged or changed) of
 * LangChain's incremental indexing in its own process, so its peak RSS is this phase's alone;
 * prints one JSON line.
 *
 * The setup is the canonical one from LangChain's docs (indexing how-to + PGVector integration
 * page), with LangChain's defaults everywhere:
 *   OpenAIEmbeddings({ model: 'text-embedding-3-large', apiKey, configuration: { baseURL } })
 *     defaults: batchSize 512, maxConcurrency 2, stripNewLines true, maxRetries 6, base64 encoding (the openai SDK's)
 *   PGVectorStore.initialize(embeddings, { postgresConnectionOptions, tableName, columns, distanceStrategy: 'cosine' })
 *     defaults: chunkSize 500 rows per INSERT, vectors sent as text literals, untyped `vector` column, no index
 *   PostgresRecordManager(namespace, { postgresConnectionOptions, tableName }) + createSchema()
 *   index({ docsSource, recordManager, vectorStore, options: { cleanup: 'incremental', sourceIdKey: 'item_id' } })
 *     defaults: batchSize 100 documents, processed one batch after the other
 * One Document per item: pageContent is itemvec's default prompt, metadata { item_id }.
 *
 * Plain JavaScript, in the peers' own package, so that the product's typecheck (which covers bench/)
 * never needs the peer packages installed and `@langchain/*` resolve from bench/peers/node_modules.
 *   node bench/peers/langchain.mjs --catalog F --base-url URL --database-url URL [--try-hnsw]
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { PostgresRecordManager } from '@langchain/community/indexes/postgres';
import { PGVectorStore } from '@langchain/community/vectorstores/pgvector';
import { Document } from '@langchain/core/documents';
import { index } from '@langchain/core/indexing';
import { OpenAIEmbeddings } from '@langchain/openai';

const { values: o } = parseArgs({
  options: {
    catalog: { type: 'string' },
    'base-url': { type: 'string' },
    'database-url': { type: 'string' },
    'try-hnsw': { type: 'boolean', default: false },
  },
});
if (!o.catalog || !o['base-url'] || !o['database-url']) {
  throw new Error('usage: langchain.mjs --catalog F --base-url URL --database-url URL [--try-hnsw]');
}

// LangChain reports some failures (a failed HNSW build, a failed insert before it rethrows) only
// with console.error: count them so the table can say so.
/** Own peak RSS: VmHWM, not resourceUsage().maxRSS, which inherits the parent's at fork (see bench/peak-rss.ts). */
function peakRssMb() {
  const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return Math.round(kb ? Number(kb) / 1024 : process.resourceUsage().maxRSS / 1024);
}

const loggedErrors = /** @type {string[]} */ ([]);
const consoleError = console.error.bind(console);
console.error = (...args) => {
  loggedErrors.push(args.map(String).join(' ').slice(0, 300));
  consoleError(...args);
};

const postgresConnectionOptions = { connectionString: o['database-url'] };
// Garbage-collection pauses and CPU time, measured as on the itemvec side.
let gcMs = 0;
const gc = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
});
gc.observe({ entryTypes: ['gc'] });
const cpu = process.cpuUsage();
const started = performance.now();

// The same text itemvec embeds: its default template `Product: {brand} {category}\nDescription: {description}`.
const docs = (await readFile(o.catalog, 'utf8'))
  .split('\n')
  .filter((line) => line.trim())
  .map((line) => {
    const row = JSON.parse(line);
    return new Document({
      pageContent: `Product: ${row.brand} ${row.category}\nDescription: ${row.description}`,
      metadata: { item_id: String(row.item_id) },
    });
  });

const embeddings = new OpenAIEmbeddings({
  model: 'text-embedding-3-large',
  apiKey: 'sk-test',
  configuration: { baseURL: o['base-url'] },
});
const vectorStore = await PGVectorStore.initialize(embeddings, {
  postgresConnectionOptions,
  tableName: 'langchain_items',
  columns: { idColumnName: 'id', vectorColumnName: 'vector', contentColumnName: 'content', metadataColumnName: 'metadata' },
  distanceStrategy: 'cosine',
});
const recordManager = new PostgresRecordManager('pgvector/langchain_items', {
  postgresConnectionOptions,
  tableName: 'langchain_upsertion_records',
});
await recordManager.createSchema();

const result = await index({
  docsSource: docs,
  recordManager,
  vectorStore,
  options: { cleanup: 'incremental', sourceIdKey: 'item_id' },
});
const wall_s = (performance.now() - started) / 1000;
const { user, system } = process.cpuUsage(cpu);
gc.disconnect();

// Not timed: what the docs' next step, an HNSW index at 3072 dims, does (pgvector indexes `vector`
// up to 2,000 dims; LangChain casts to vector(3072) and only logs the failure).
let hnsw = 'not tried';
if (o['try-hnsw']) {
  const before = loggedErrors.length;
  await vectorStore.createHnswIndex({ dimensions: 3072 });
  hnsw = loggedErrors.length > before ? `failed, only logged: ${loggedErrors[loggedErrors.length - 1]}` : 'built';
}

await vectorStore.end();
await recordManager.end();
process.stdout.write(
  `${JSON.stringify({ wall_s, result, hnsw, logged_errors: loggedErrors, peak_rss_mb: peakRssMb(), gc_s: gcMs / 1000, cpu_s: (user + system) / 1e6 })}\n`,
);
