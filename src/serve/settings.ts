/**
 * What the HTTP service reads on every request, prepared once per config load: the version per
 * namespace (BLEND_EMBEDDING_VERSION), scoring, and the configured API keys (hashed). `itemvec serve`
 * builds a new one when it re-reads its config on SIGHUP; requests in flight keep the one they started with.
 */
import type { Config } from '../config.js';
import { type RetrieveOptions, retrieveOptions } from '../retrieve/options.js';
import { hashApiKey } from '../store/api-keys.js';

export interface ServeSettings extends RetrieveOptions {
  /** BLEND_EMBEDDING_VERSION as written, for logs. */
  blendEmbeddingVersion: string | null;
  /** SHA-256 digests of the configured keys and the org each reads. The keys themselves are not kept. */
  apiKeys: Array<{ sha256: Buffer; orgId: string }>;
}

/** Throws ConfigError on a malformed BLEND_EMBEDDING_VERSION, so a bad value fails at start or at reload. */
export function serveSettings(config: Pick<Config, 'retrieve' | 'serve'>): ServeSettings {
  return {
    ...retrieveOptions(config.retrieve),
    blendEmbeddingVersion: config.retrieve.blendEmbeddingVersion?.trim() || null,
    apiKeys: config.serve.apiKeys.map((k) => ({ sha256: Buffer.from(k.sha256 ?? hashApiKey(k.key!), 'hex'), orgId: k.orgId })),
  };
}
