/** `GET /namespaces/:ns/items/:id/similar`: the candidates for one of the caller's items. */
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance } from 'fastify';
import { queryOptions } from '../../retrieve/options.js';
import { similar } from '../../retrieve/similar.js';
import type { Db } from '../../store/db.js';
import { countRetrieval } from '../retrieval-metrics.js';
import { similarSchema } from '../schemas.js';
import type { ServeSettings } from '../settings.js';

export interface ItemRoutesOptions {
  db: Db;
  /** Called on every request: the settings may change while the service runs. */
  settings: () => ServeSettings;
}

export async function itemRoutes(instance: FastifyInstance, { db, settings }: ItemRoutesOptions): Promise<void> {
  const app = instance.withTypeProvider<JsonSchemaToTsProvider>();
  app.get('/namespaces/:ns/items/:id/similar', { schema: similarSchema }, async (req) => {
    const { ns, id } = req.params;
    const result = await similar(db, { orgId: req.orgId, namespace: ns, itemId: id, ...req.query, ...queryOptions(settings(), ns) });
    countRetrieval('similar', result);
    return {
      namespace: ns,
      item_id: id,
      version: result.version.version,
      modality: result.version.modality,
      mode: result.mode,
      fusion: result.fusion,
      candidates: result.candidates,
    };
  });
}
