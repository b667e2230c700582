/**
 * Rate-limit benchmark: how much of a server's tokens-per-minute budget a run uses, and whether
 * any item fails for it. The local OpenAI-compatible server enforces T tokens per minute
 * (continuous refill, starting full, 429 + retry-after beyond it, x-ratelimit-* headers on every
 * answer), as OpenAI does; the run must pace itself from those headers.
 *
 * The server's bucket starts full, so the first T tokens may go at once; a perfect client then
 * needs (tokens − T) / T minutes for the rest. The share of the limit used is that ideal time over
 * the measured wall time. The catalog is sized by a dry run to `--minutes` beyond the burst.
 *
 *   npm run bench:rate-limit -- [--tpm 120000] [--minutes 1] [--concurrency 10] [--json]
 *
 * --json prints one JSON object (machine, settings, figures) instead of the table.
 */

import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { runEmbeddingJob } from '../src/pipeline/run.js';
import { startOpenAIServer } from '../testkit/openai-server.js';
import { buildCatalog } from './catalog.js';
import { machine, machineLine } from './machine.js';

const benchOut = path.join(path.dirname(fileURLToPath(import.meta.url)), '.out');

const { values } = parseArgs({
  options: {
    tpm: { type: 'string', default: '120000' },
    minutes: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
  },
});
const tpm = Number(values.tpm);
const minutes = Number(values.minutes);

await mkdir(benchOut, { recursive: true });
const home = path.join(benchOut, 'home-rate-limit');
await rm(home, { recursive: true, force: true });
const server = await startOpenAIServer({ tokensPerMinute: tpm });
const logger = createLogger({ level: 'warn' });
const config = (namespace: string) =>
  loadConfig({
    env: {},
    overrides: {
      home,
      namespace,
      embed: {
        provider: 'openai',
        model: 'text-embedding-3-small',
        dims: 256,
        apiKey: 'sk-test',
        baseURL: server.url,
        concurrency: Number(values.concurrency),
      },
      run: { createIndex: false },
    },
  });

const host = machine();
try {
  // Tokens per item, from a dry run of a sample, to size the catalog.
  const probe = await buildCatalog(1000, benchOut);
  const plan = await runEmbeddingJob({ config: config('probe'), source: { kind: 'file', path: probe }, logger, dryRun: true });
  const perItem = plan.tokens / 1000;
  const items = Math.ceil((tpm * (1 + minutes)) / perItem);
  const catalog = await buildCatalog(items, benchOut);

  const started = performance.now();
  const summary = await runEmbeddingJob({ config: config('paced'), source: { kind: 'file', path: catalog }, logger });
  const wall = (performance.now() - started) / 1000;
  const ideal = ((summary.tokens - tpm) / tpm) * 60;
  if (values.json) {
    const result = {
      benchmark: 'rate-limit',
      settings: `text-embedding-3-small 256-d on the local OpenAI-compatible server limited to ${tpm} tokens/min, ${minutes} min beyond the initial burst, concurrency ${values.concurrency}`,
      machine: host,
      load_average_end: os.loadavg()[0],
      tpm,
      items,
      tokens: summary.tokens,
      embedded: summary.embedded,
      failed: summary.failed,
      requests: summary.api_calls,
      rate_limited_retries: summary.retries_by_cause.RATE_LIMITED ?? 0,
      wall_s: Math.round(wall * 10) / 10,
      ideal_wall_s: Math.round(ideal * 10) / 10,
      share_of_limit_used: Math.round((ideal / wall) * 1000) / 1000,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    console.log(`itemvec rate-limit benchmark · ${machineLine(host)}`);
    console.table({
      'server limit (tokens/min)': tpm,
      items: items,
      tokens: summary.tokens,
      embedded: summary.embedded,
      failed: summary.failed,
      requests: summary.api_calls,
      '429s (retried)': summary.retries_by_cause.RATE_LIMITED ?? 0,
      'wall s': Math.round(wall * 10) / 10,
      'ideal wall s (all budget used)': Math.round(ideal * 10) / 10,
      'share of the limit used': `${((ideal / wall) * 100).toFixed(1)} %`,
    });
  }
} finally {
  await server.close();
  await rm(home, { recursive: true, force: true });
}
