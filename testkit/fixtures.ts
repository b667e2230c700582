/** Shared test helpers: temp folders, small deterministic catalogs, isolated config. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { type ConfigInput, loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';

// Registered once at import, on the file's root test: an after() called inside a hook or test would
// run when that hook or test ends, deleting folders that later tests still use.
const created: string[] = [];
after(() => Promise.all(created.map((dir) => rm(dir, { recursive: true, force: true }))));

export async function tempDir(prefix = 'itemvec-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

export interface RawItem {
  item_id: string;
  description: string;
  brand: string;
  category: string;
  image_url: string;
  tags?: string[] | string;
  metadata_version?: number | string;
  org_id?: string;
  namespace?: string;
}

const KINDS = [
  {
    category: 'Footwear > Hiking Boots',
    brand: 'TrailForge',
    nouns: ['hiking boot', 'trail boot', 'mountain boot'],
    traits: ['waterproof leather upper', 'ankle support', 'lugged rubber outsole', 'breathable membrane'],
  },
  {
    category: 'Kitchen > Espresso Machines',
    brand: 'Crema',
    nouns: ['espresso machine', 'coffee maker', 'espresso maker'],
    traits: ['15 bar pump', 'steam wand for milk', 'built-in burr grinder', 'stainless steel boiler'],
  },
  {
    category: 'Electronics > Headphones',
    brand: 'Sonique',
    nouns: ['wireless headphones', 'over-ear headphones', 'bluetooth headset'],
    traits: ['active noise cancelling', '30 hour battery', 'plush ear cushions', 'built-in microphone'],
  },
  {
    category: 'Pets > Dog Beds',
    brand: 'Pawsome',
    nouns: ['dog bed', 'orthopedic pet bed', 'dog cushion'],
    traits: ['memory foam base', 'washable cover', 'raised bolster edges', 'non-slip bottom'],
  },
];

/** `n` items over four clearly different categories, with varied wording inside each. */
export function sampleItems(n: number, prefix = 'item'): RawItem[] {
  return Array.from({ length: n }, (_, i) => {
    const kind = KINDS[i % KINDS.length]!;
    const noun = kind.nouns[Math.floor(i / KINDS.length) % kind.nouns.length]!;
    const a = kind.traits[i % kind.traits.length]!;
    const b = kind.traits[(i + 1) % kind.traits.length]!;
    return {
      item_id: `${prefix}-${String(i + 1).padStart(4, '0')}`,
      // The prefix is part of the text: runs of different prefixes must not share prompts (the content cache would serve them).
      description: `A ${noun} with ${a} and ${b}. Model ${prefix} ${i + 1}.`,
      brand: kind.brand,
      category: kind.category,
      image_url: `https://images.example.com/${prefix}-${i + 1}.jpg`,
      tags: [noun.split(' ').pop()!, kind.brand.toLowerCase()],
    };
  });
}

export async function writeJsonl(file: string, rows: unknown[]): Promise<string> {
  await writeFile(file, `${rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n')}\n`);
  return file;
}

/** Config isolated from the developer's environment. */
export function testConfig(home: string, overrides: ConfigInput = {}) {
  return loadConfig({ env: {}, overrides: { home, ...overrides } });
}

/**
 * Config for runs against the local OpenAI-compatible server: small vectors (text-embedding-3-small
 * shortened to 32-d) and quick retries keep tests about HTTP, not arithmetic or waiting. The content
 * cache is off: these tests count requests, and a prompt an earlier test embedded would be served.
 */
export function openaiTestConfig(home: string, baseURL: string, overrides: ConfigInput = {}) {
  return testConfig(home, {
    ...overrides,
    embed: {
      provider: 'openai',
      model: 'text-embedding-3-small',
      dims: 32,
      apiKey: 'sk-test',
      baseURL,
      retryBaseDelayMs: 5,
      retryMaxDelayMs: 50,
      ...overrides.embed,
    },
    run: { createIndex: false, cache: false, ...overrides.run },
  });
}

export const quietLogger = () => createLogger({ level: 'silent' });
