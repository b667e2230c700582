/**
 * The itemvec side of bench/vs-langchain.ts: ONE phase (cold, unchanged or changed) of `itemvec run`
 * in its own process, so its peak RSS is this phase's alone. Configured through the same variables
 * a user sets for `itemvec run --no-index`; prints one JSON line.
 *   node --import tsx bench/vs-langchain-itemvec.ts --catalog F --home DIR --base-url URL --database-url URL
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { runEmbeddingJob } from '../src/pipeline/run.js';
// The job imports its OpenAI provider on demand (src/embed/index.ts); LangChain's side imports its
// OpenAI client before its clock starts, so this side does too: neither wall counts module loading.
import '../src/embed/openai.js';
import { peakRssMb } from './peak-rss.js';

const { values: o } = parseArgs({
  options: {
    catalog: { type: 'string' },
    home: { type: 'string' },
    'base-url': { type: 'string' },
    'database-url': { type: 'string' },
    'log-level': { type: 'string', default: 'warn' },
  },
});
if (!o.catalog || !o.home || !o['base-url'] || !o['database-url']) {
  throw new Error('usage: vs-langchain-itemvec.ts --catalog F --home DIR --base-url URL --database-url URL [--log-level info]');
}

const config = loadConfig({
  // Only these variables, not the caller's environment: the run must not pick up a stray ITEMVEC_*.
  env: {
    ITEMVEC_PROVIDER: 'openai',
    ITEMVEC_MODEL: 'text-embedding-3-large',
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: o['base-url'],
    DATABASE_URL: o['database-url'],
    ITEMVEC_HOME: o.home,
  },
  // --no-index: LangChain's PGVectorStore builds no index unless asked, and an HNSW build over
  // 3072-d on PGlite takes minutes; neither is indexing throughput.
  overrides: { run: { createIndex: false } },
});
const logger = createLogger({ level: o['log-level'] });
// Garbage-collection pauses and CPU time of the run, so a change to the copies shows in figures.
let gcMs = 0;
const gc = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
});
gc.observe({ entryTypes: ['gc'] });
const cpu = process.cpuUsage();
const started = performance.now();
const summary = await runEmbeddingJob({ config, source: { kind: 'file', path: o.catalog }, logger });
const wall_s = (performance.now() - started) / 1000;
const { user, system } = process.cpuUsage(cpu);
gc.disconnect();
process.stdout.write(`${JSON.stringify({ wall_s, summary, peak_rss_mb: peakRssMb(), gc_s: gcMs / 1000, cpu_s: (user + system) / 1e6 })}\n`);
