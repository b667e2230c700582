/**
 * What a run costs: input tokens × the model's list price. The table holds OpenAI's published
 * prices (USD per 1M input tokens, checked 2026-11); config `prices` overrides or extends it
 * (a negotiated rate, an Azure deployment name, a self-hosted model at its own cost).
 */
export const MODEL_PRICES_PER_MILLION: Readonly<Record<string, number>> = {
  'text-embedding-3-large': 0.13,
  'text-embedding-3-small': 0.02,
  'text-embedding-ada-002': 0.1,
};

/** The Batch API bills half the synchronous price. */
export const BATCH_DISCOUNT = 0.5;

/** Models that run on this machine cost nothing per token. */
const LOCAL_PROVIDERS = new Set(['local', 'onnx']);

/**
 * USD per 1M input tokens for `model`, or null when unknown (a compatible server's own model with
 * no configured price): the summary then says the cost is unknown instead of claiming $0.
 */
export function pricePerMillion(provider: string, model: string, overrides: Readonly<Record<string, number>> = {}): number | null {
  const configured = overrides[model];
  if (configured !== undefined) return configured;
  if (LOCAL_PROVIDERS.has(provider)) return 0;
  return MODEL_PRICES_PER_MILLION[model] ?? null;
}

/** Cost of `tokens` at `perMillion`, rounded to a millionth of a dollar. */
export function costUsd(tokens: number, perMillion: number | null, mode: 'sync' | 'batch' = 'sync'): number | null {
  if (perMillion === null) return null;
  const usd = (tokens / 1_000_000) * perMillion * (mode === 'batch' ? BATCH_DISCOUNT : 1);
  return Math.round(usd * 1e6) / 1e6;
}
