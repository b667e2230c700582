/** `POST /namespaces/:ns/search`: the caller's items for a text (embedded with the version's own model) or nearest to a vector. */
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance } from 'fastify';
import type { VersionEmbedder } from '../../embed/version-embedder.js';
import { ConfigError } from '../../errors.js';
import { queryOptions } from '../../retrieve/options.js';
import { search } from '../../retrieve/similar.js';
import type { Db } from '../../store/db.js';
import { countRetrieval } from '../retrieval-metrics.js';
import { searchSchema } from '../schemas.js';
import type { ServeSettings } from '../settings.js';

export interface SearchRoutesOptions {
  db: Db;
  /** Called on every request: the settings may change while the service runs. */
  settings: () => ServeSettings;
  /** Embeds search texts with the provider of the version searched. */
  embedder: VersionEmbedder;
}

export async function searchRoutes(instance: FastifyInstance, { db, settings, embedder }: SearchRoutesOptions): Promise<void> {
  const app = instance.withTypeProvider<JsonSchemaToTsProvider>();
  app.post('/namespaces/:ns/search', { schema: searchSchema }, async (req) => {
    const { ns } = req.params;
    const { text, vector, ...rest } = req.body;
    if ((text === undefined) === (vector === undefined)) throw new ConfigError('give exactly one of "text" or "vector"');
    const common = { orgId: req.orgId, namespace: ns, ...rest, ...queryOptions(settings(), ns) };
    const result = text !== undefined ? await search(db, { ...common, text, provider: embedder.forVersion }) : await search(db, { ...common, vector: vector! });
    countRetrieval('search', result);
    return {
      namespace: ns,
      version: result.version.version,
      modality: result.version.modality,
      mode: result.mode,
      fusion: result.fusion,
      candidates: result.candidates,
    };
  });
}
