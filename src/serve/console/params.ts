/**
 * Query and form parameters of the console's pages. The pages are forms a person fills in, so a bad
 * value is a 400 page saying which field is wrong and why (ConfigError), never a silent default.
 */
import { ITEM_ID_MAX_LENGTH } from '../../catalog/validate.js';
import { ConfigError } from '../../errors.js';
import { NAME_PATTERN } from '../../names.js';
import type { FusionSettings } from '../../retrieve/fusion.js';
import type { RetrievalMode } from '../../retrieve/similar.js';

export type Params = Record<string, string | string[] | undefined>;

/** Largest k the console shows: 50 neighbours with images and every score keep a page well under 200 kB. */
export const CONSOLE_MAX_K = 50;
export const CONSOLE_DEFAULT_K = 10;

/** A parameter's first value, trimmed; undefined when absent, empty or not text (a JSON body's number). */
export function one(params: Params | undefined, name: string): string | undefined {
  const raw = params?.[name];
  const first: unknown = Array.isArray(raw) ? raw[0] : raw;
  const value = typeof first === 'string' ? first.trim() : undefined;
  return value ? value : undefined;
}

/** An item id as the catalog stores it (trimmed, up to 512 characters, no NUL); ConfigError naming `what` otherwise. */
export function checkItemId(value: string | undefined, what: string): string {
  const id = value?.trim();
  if (!id) throw new ConfigError(`${what} is missing`);
  if (id.length > ITEM_ID_MAX_LENGTH) throw new ConfigError(`${what} is longer than ${ITEM_ID_MAX_LENGTH} characters`);
  if (id.includes('\u0000')) throw new ConfigError(`${what} must not contain a NUL character`);
  return id;
}

/** A namespace or version name. */
export function nameParam(params: Params | undefined, name: string): string | undefined {
  const value = one(params, name);
  if (value !== undefined && !NAME_PATTERN.test(value)) {
    throw new ConfigError(`${name} must be a name of lowercase letters, digits, _ . - (up to 63 characters), got "${value.slice(0, 80)}"`);
  }
  return value;
}

export function kParam(params: Params): number {
  const value = one(params, 'k');
  if (value === undefined) return CONSOLE_DEFAULT_K;
  const k = Number(value);
  if (!Number.isInteger(k) || k < 1 || k > CONSOLE_MAX_K)
    throw new ConfigError(`k must be a whole number from 1 to ${CONSOLE_MAX_K}, got "${value.slice(0, 20)}"`);
  return k;
}

export function modeParam<const M extends RetrievalMode>(params: Params, name: string, allowed: readonly M[]): M {
  const value = one(params, name) ?? 'fused';
  if (!(allowed as readonly string[]).includes(value)) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${value.slice(0, 40)}"`);
  return value as M;
}

const FUSION_LIMITS = { dense: [0, 100], lexical: [0, 100], tags: [0, 100], rrfK: [1, 10_000] } as const;

/**
 * Fusion weights written as ITEMVEC_FUSION is (`dense=2,lexical=1`, any subset) over `served`, the
 * namespace's own; null when the parameter is absent, meaning "as served".
 */
export function fusionParam(params: Params, name: string, served: FusionSettings): FusionSettings | null {
  const value = one(params, name);
  if (value === undefined) return null;
  const out = { ...served };
  for (const part of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [key, raw] = part.split('=').map((x) => x.trim());
    const bad = (why: string) => new ConfigError(`${name} "${value.slice(0, 80)}" ${why}; write e.g. dense=1,lexical=3,tags=0.5,rrfK=60`);
    if (!key || raw === undefined || !(key in FUSION_LIMITS)) throw bad(`has "${part.slice(0, 40)}"`);
    const [min, max] = FUSION_LIMITS[key as keyof FusionSettings];
    const n = Number(raw);
    if (raw === '' || !Number.isFinite(n) || n < min || n > max || (key === 'rrfK' && !Number.isInteger(n))) {
      throw bad(`: ${key} must be ${key === 'rrfK' ? 'a whole number' : 'a number'} from ${min} to ${max}`);
    }
    out[key as keyof FusionSettings] = n;
  }
  return out;
}

export const formatFusion = (f: FusionSettings) => `dense=${f.dense},lexical=${f.lexical},tags=${f.tags},rrfK=${f.rrfK}`;

/**
 * Where a form may send the browser back to: a console path, never another site (`//evil.example`,
 * `/\evil.example` and absolute URLs are refused), so a crafted form cannot turn the console into an
 * open redirect.
 */
export function safeReturnPath(value: string | undefined, fallback = '/ui'): string {
  if (!value?.startsWith('/ui') || value.startsWith('//') || value.includes('\\')) return fallback;
  try {
    const url = new URL(value, 'http://console.invalid');
    if (url.origin !== 'http://console.invalid' || !(url.pathname === '/ui' || url.pathname.startsWith('/ui/'))) return fallback;
    return `${url.pathname}${url.search}${url.hash}`;
  } catch {
    return fallback;
  }
}
