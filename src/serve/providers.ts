/**
 * The embedding providers that turn `search` texts into vectors: one per (provider, model, dims) of
 * the versions asked for, created on first use (the local model takes ~0.5 s and ~260 MB, an OpenAI
 * client nothing) and kept until the service closes.
 */
import type { Config } from '../config.js';
import { createProvider, type EmbeddingProvider, type ProviderName } from '../embed/index.js';
import { ConfigError } from '../errors.js';
import type { VersionRecord } from '../store/versions.js';

export type ProviderFactory = (version: VersionRecord) => Promise<EmbeddingProvider>;

const PROVIDERS: readonly string[] = ['local', 'openai', 'onnx'] satisfies ProviderName[];

/** A factory that builds the version's own provider, model and dims with the config's credentials and limits. */
export function providerFactory(embed: Partial<Config['embed']> = {}): ProviderFactory {
  return async (v) => {
    if (!PROVIDERS.includes(v.provider)) {
      throw new ConfigError(
        `version "${v.version}" of namespace "${v.namespace}" was embedded with provider "${v.provider}", which this service cannot run; search with a vector instead`,
        { version: v.version },
      );
    }
    return createProvider(v.provider as ProviderName, { ...embed, model: v.model, dims: v.dims });
  };
}

export interface ProviderCache {
  get(version: VersionRecord): Promise<EmbeddingProvider>;
  close(): Promise<void>;
}

export function providerCache(factory: ProviderFactory): ProviderCache {
  const providers = new Map<string, Promise<EmbeddingProvider>>();
  return {
    get(v) {
      const key = `${v.provider}|${v.model}|${v.dims}`;
      let p = providers.get(key);
      if (!p) {
        p = factory(v);
        // A failed creation (missing key, model folder) is not cached: the next request tries again.
        p.catch(() => providers.delete(key));
        providers.set(key, p);
      }
      return p;
    },
    async close() {
      const all = [...providers.values()];
      providers.clear();
      await Promise.all(all.map((p) => p.then((x) => x.close(), () => undefined)));
    },
  };
}
