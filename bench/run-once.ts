/**
 * One benchmark scenario in its own process, so its peak RSS is its own (the OpenAI-compatible
 * server runs in the parent). Prints one JSON line.
 *   node --import tsx bench/run-once.ts <local|openai> <catalog.jsonl> <home> [openai base URL]
 */
import path from 'node:path';
import { loadConfig, type ConfigInput } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { runEmbeddingJob } from '../src/pipeline/run.js';

const [scenario, catalog, home, baseURL] = process.argv.slice(2);
if (!scenario || !catalog || !home || (scenario === 'openai' && !baseURL)) throw new Error('usage: run-once.ts <local|openai> <catalog> <home> [baseURL]');

const logger = createLogger({ level: 'warn' });
const embed: ConfigInput['embed'] =
  scenario === 'openai' ? { provider: 'openai', baseURL, apiKey: 'sk-test', model: 'text-embedding-3-large' } : { provider: 'local' };
// The 3072-d HNSW build on PGlite's WASM takes minutes (facts.md: 18.6 min for 20k rows) and is not
// pipeline throughput; it is measured by the retrieval benchmark instead.
const run = { createIndex: scenario !== 'openai' };
const config = loadConfig({ env: {}, overrides: { home, embed, run, objects: { url: path.join(home, 'objects') } } });
const source = { kind: 'file' as const, path: catalog };

const cold = await runEmbeddingJob({ config, source, logger });
const rerun = await runEmbeddingJob({ config, source, logger });
process.stdout.write(
  `${JSON.stringify({
    scenario,
    cold,
    rerun,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  })}\n`,
);
