/**
 * One benchmark scenario in its own process, so its peak RSS is the pipeline's own (servers it
 * talks to run in the parent). Embeds the catalog cold, then again unchanged, then (with
 * --changed-catalog) the same catalog with 1 % of its descriptions changed; prints one JSON line.
 *   node --import tsx bench/run-once.ts --catalog F --home DIR [--changed-catalog F] [--base-url URL] [--database-url URL] [--no-index]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type ConfigInput, loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { runEmbeddingJob } from '../src/pipeline/run.js';
import { peakRssMb } from './peak-rss.js';

const { values: o } = parseArgs({
  options: {
    catalog: { type: 'string' },
    'changed-catalog': { type: 'string' },
    home: { type: 'string' },
    'base-url': { type: 'string' },
    'database-url': { type: 'string' },
    'no-index': { type: 'boolean', default: false },
  },
});
if (!o.catalog || !o.home)
  throw new Error('usage: run-once.ts --catalog F --home DIR [--changed-catalog F] [--base-url URL] [--database-url URL] [--no-index]');

const embed: ConfigInput['embed'] = o['base-url']
  ? { provider: 'openai', baseURL: o['base-url'], apiKey: 'sk-test', model: 'text-embedding-3-large' }
  : { provider: 'local' };
const config = loadConfig({
  env: {},
  overrides: {
    home: o.home,
    databaseUrl: o['database-url'],
    embed,
    run: { createIndex: !o['no-index'] },
    objects: { url: path.join(o.home, 'objects') },
  },
});
const logger = createLogger({ level: 'warn' });
const source = { kind: 'file' as const, path: o.catalog };
const cold = await runEmbeddingJob({ config, source, logger });
const rerun = await runEmbeddingJob({ config, source, logger });
const changed = o['changed-catalog'] ? await runEmbeddingJob({ config, source: { kind: 'file', path: o['changed-catalog'] }, logger }) : null;
// VmHWM, not resourceUsage().maxRSS: a forked child inherits its parent's maxRSS (bench/peak-rss.ts).
process.stdout.write(`${JSON.stringify({ cold, rerun, changed, peak_rss_mb: peakRssMb() })}\n`);
