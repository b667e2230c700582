/**
 * The provider that embeds query text for an embedding version. A query vector is only comparable
 * with the version's vectors when it comes from the same provider, model and dims, so those come from
 * the version record; the config contributes only what it alone knows (API key, base URL, model
 * folder, limits). One way for every query text: the HTTP service's search, `itemvec search`, `itemvec eval`.
 *
 *   const embedder = versionEmbedder(config.embed);
 *   try {
 *     await search(db, { orgId, namespace, text, provider: embedder.forVersion });
 *   } finally {
 *     await embedder.close();
 *   }
 */
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import type { VersionRecord } from '../store/versions.js';
import { createProvider } from './index.js';
import type { EmbeddingProvider, ProviderName } from './provider.js';

/** Credentials and limits; any provider, model or dims given here are overridden by the version's. */
export type QueryEmbedSettings = Partial<Config['embed']>;

const TEXT_PROVIDERS: readonly string[] = ['local', 'openai', 'onnx'] satisfies ProviderName[];

/**
 * A new provider running `version`'s own provider, model and dims; the caller closes it. Throws
 * ConfigError when the version was embedded by a provider that cannot embed text here (an image
 * model, or a name this build does not know).
 */
export async function createVersionProvider(embed: QueryEmbedSettings, version: VersionRecord): Promise<EmbeddingProvider> {
  if (!TEXT_PROVIDERS.includes(version.provider)) {
    throw new ConfigError(
      `version "${version.version}" of namespace "${version.namespace}" was embedded with provider "${version.provider}", which cannot embed query text; search with a vector instead`,
      { version: version.version },
    );
  }
  return createProvider(version.provider as ProviderName, { ...embed, model: version.model, dims: version.dims });
}

export interface VersionEmbedder {
  /** The provider for `version`, created on first use and shared with every version of the same provider, model and dims. */
  forVersion(version: VersionRecord): Promise<EmbeddingProvider>;
  /** Closes every provider created so far. */
  close(): Promise<void>;
}

/**
 * Providers kept for the embedder's lifetime: creating one can cost far more than a query (the
 * local model takes ~0.5 s and ~260 MB), and versions of one model can share it.
 */
export function versionEmbedder(embed: QueryEmbedSettings = {}): VersionEmbedder {
  const providers = new Map<string, Promise<EmbeddingProvider>>();
  return {
    forVersion(version) {
      const key = `${version.provider}|${version.model}|${version.dims}`;
      const kept = providers.get(key);
      if (kept) return kept;
      const created = createVersionProvider(embed, version);
      // A failed creation (missing key, model folder) is not kept: the next query tries again.
      created.catch(() => {
        if (providers.get(key) === created) providers.delete(key);
      });
      providers.set(key, created);
      return created;
    },
    async close() {
      const all = [...providers.values()];
      providers.clear();
      await Promise.all(
        all.map((p) =>
          p.then(
            (x) => x.close(),
            () => undefined,
          ),
        ),
      );
    },
  };
}
