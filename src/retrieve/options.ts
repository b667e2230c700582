/** The retrieve section of the config as the options similar() and search() take. */
import type { Config } from '../config.js';
import { parseBlendEmbeddingVersion, type BlendVersions } from './version.js';

export interface RetrieveOptions {
  blend: BlendVersions;
  minTags: number;
  embeddingWeight: number;
  efSearch: number;
}

/** Throws ConfigError on a malformed BLEND_EMBEDDING_VERSION. */
export function retrieveOptions(retrieve: Config['retrieve']): RetrieveOptions {
  return {
    blend: parseBlendEmbeddingVersion(retrieve.blendEmbeddingVersion),
    minTags: retrieve.minTags,
    embeddingWeight: retrieve.embeddingWeight,
    efSearch: retrieve.efSearch,
  };
}
