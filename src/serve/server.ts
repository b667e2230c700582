/**
 * The HTTP service (Fastify): similar items and search for the Ranking team's content retriever.
 *
 *   GET  /v1/namespaces/:ns/items/:id/similar?k=&modality=&version=&mode=   routes/items.ts
 *   POST /v1/namespaces/:ns/search   {"text": "…"} or {"vector": […]}        routes/search.ts
 *   GET  /healthz  /readyz  /metrics                                         plugins/observability.ts
 *   GET  /openapi.json                                                       plugins/openapi.ts
 *   /ui  the review console: HTML pages for people (plugins/console.ts, routes/console.ts)
 *
 * /v1 needs a key (plugins/api-key-auth.ts) and /ui a session holding one (plugins/console.ts); the
 * key alone decides the org, so a request can only ever read its own org's rows. The database handle belongs to the caller: closing the server
 * does not close it.
 *
 *   const app = await buildServer({ db, settings: serveSettings(config) });
 *   await app.listen({ port: 8080 });
 */
import { type FastifyInstance, fastify, LogController, type RawReplyDefaultExpression, type RawRequestDefaultExpression, type RawServerDefault } from 'fastify';
import { ITEM_ID_MAX_LENGTH } from '../catalog/validate.js';
import { type QueryEmbedSettings, versionEmbedder } from '../embed/version-embedder.js';
import { createLogger, type Logger } from '../log.js';
import type { Db } from '../store/db.js';
import { formatValidation, replyRouteNotFound, replyWithError } from './errors.js';
import { apiKeyAuth } from './plugins/api-key-auth.js';
import { reviewConsole } from './plugins/console.js';
import { observability } from './plugins/observability.js';
import { openApi } from './plugins/openapi.js';
import { itemRoutes } from './routes/items.js';
import { searchRoutes } from './routes/search.js';
import type { ServeSettings } from './settings.js';

export interface ServerOptions {
  db: Db;
  /**
   * Versions per namespace, scoring and configured keys. A function is called on every request, so
   * what it returns may change while the service runs (`itemvec serve` swaps it on SIGHUP).
   */
  settings: ServeSettings | (() => ServeSettings);
  logger?: Logger;
  /** Credentials and limits of the providers that embed search texts (`config.embed`); each version fixes its own provider, model and dims. */
  embed?: QueryEmbedSettings;
  /** How long a key found in the api_keys table is trusted before it is looked up again (default 30 s). */
  keyCacheTtlMs?: number;
}

/** The Fastify instance buildServer returns, logging through itemvec's pino logger. */
export type ItemvecServer = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, Logger>;

export async function buildServer(options: ServerOptions): Promise<ItemvecServer> {
  const { db } = options;
  const settings = typeof options.settings === 'function' ? options.settings : () => options.settings as ServeSettings;
  const embedder = versionEmbedder(options.embed);

  const app = fastify({
    loggerInstance: options.logger ?? createLogger(),
    // One access line per request from the observability plugin, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // Unknown parameters are errors, not silently dropped: `?kk=5` must not quietly mean k=10.
    ajv: { customOptions: { removeAdditional: false, verbose: true } },
    schemaErrorFormatter: formatValidation,
    // The route's limit is on the raw path segment: the longest valid id, every character of it
    // percent-encoded as three UTF-8 bytes (%E2%82%AC), is 9 × 512 characters. Fastify's default, 100,
    // answered 414 to ids the pipeline accepts.
    routerOptions: { maxParamLength: 9 * ITEM_ID_MAX_LENGTH },
  });
  app.setErrorHandler(replyWithError);
  app.setNotFoundHandler(replyRouteNotFound);
  app.addHook('onClose', async () => embedder.close());

  await app.register(openApi);
  await app.register(observability, { db });
  await app.register(
    async (v1) => {
      await v1.register(apiKeyAuth, { db, configuredKeys: () => settings().apiKeys, keyCacheTtlMs: options.keyCacheTtlMs });
      await v1.register(itemRoutes, { db, settings });
      await v1.register(searchRoutes, { db, settings, embedder });
    },
    { prefix: '/v1' },
  );
  await app.register(reviewConsole, { prefix: '/ui', db, settings, embedder, keyCacheTtlMs: options.keyCacheTtlMs });
  return app;
}
