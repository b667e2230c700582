/** The retrieve section of the config as the options similar() and search() take. */
import type { Config } from '../config.js';
import type { Bm25Settings } from '../store/lexical.js';
import type { FusionSettings } from './fusion.js';
import { type BlendVersions, parseBlendEmbeddingVersion } from './version.js';

export interface RetrieveOptions {
  blend: BlendVersions;
  efSearch: number;
  /** Fusion of every namespace not listed in `namespaces`. */
  fusion: FusionSettings;
  /** Fusion settings of particular namespaces, over `fusion`. */
  namespaces: Record<string, Partial<FusionSettings>>;
  lexical: Bm25Settings;
}

/** Throws ConfigError on a malformed BLEND_EMBEDDING_VERSION. */
export function retrieveOptions(retrieve: Config['retrieve']): RetrieveOptions {
  return {
    blend: parseBlendEmbeddingVersion(retrieve.blendEmbeddingVersion),
    efSearch: retrieve.efSearch,
    fusion: retrieve.fusion,
    namespaces: Object.fromEntries(Object.entries(retrieve.namespaces).map(([ns, n]) => [ns, n.fusion])),
    lexical: retrieve.lexical,
  };
}

/** The fusion a namespace is served with: its own settings over the default ones. */
export function fusionFor(o: Pick<RetrieveOptions, 'fusion' | 'namespaces'>, namespace: string): FusionSettings {
  return { ...o.fusion, ...o.namespaces[namespace] };
}

/** What similar() and search() take from the options for one namespace. */
export function queryOptions(o: RetrieveOptions, namespace: string) {
  return { blend: o.blend, efSearch: o.efSearch, fusion: fusionFor(o, namespace), lexical: o.lexical };
}
