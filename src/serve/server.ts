/**
 * The HTTP service (Fastify): similar items and search for the Ranking team's content retriever.
 *
 *   GET  /v1/namespaces/:ns/items/:id/similar?k=&modality=&version=
 *   POST /v1/namespaces/:ns/search            {"text": "…"} or {"vector": […]}, plus k, modality, version
 *   GET  /healthz  /readyz  /metrics  /openapi.json
 *
 * Only /v1 needs a key (`Authorization: Bearer <key>`); the key alone decides the org, so a request
 * can only ever read its own org's rows. The operational routes carry no catalog data and stay open
 * for probes and scrapers. The database handle belongs to the caller: closing the server does not close it.
 *
 *   const app = await buildServer({ db, settings: serveSettings(config) });
 *   await app.listen({ port: 8080 });
 */
import { createRequire } from 'node:module';
import { STATUS_CODES } from 'node:http';
import fastifySwagger from '@fastify/swagger';
import {
  fastify,
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifySchemaValidationError,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import { ITEM_ID_MAX_LENGTH } from '../catalog/validate.js';
import { ConfigError, DatabaseError, errorMessage, NotFoundError, ProviderError } from '../errors.js';
import { createLogger, redactUrl, type Logger } from '../log.js';
import { authFailures, collectProcessMetrics, httpRequestDuration, httpRequests, registry, retrievalCandidates, retrievalRequests } from '../metrics.js';
import { SIGNALS } from '../retrieve/fusion.js';
import { queryOptions } from '../retrieve/options.js';
import { search, similar, type Candidate, type RetrievalMode, type SimilarResult } from '../retrieve/similar.js';
import type { Db } from '../store/db.js';
import { MIGRATIONS } from '../store/migrations.js';
import type { Modality } from '../store/versions.js';
import { bearerKey, createKeyResolver } from './auth.js';
import { providerCache, providerFactory, type ProviderFactory } from './providers.js';
import { healthSchema, metricsSchema, readySchema, searchSchema, similarSchema, STORABLE_TEXT } from './schemas.js';
import type { ServeSettings } from './settings.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The org of the request's API key; set by the /v1 auth hook. */
    orgId: string;
  }
}

export interface ServerOptions {
  db: Db;
  /**
   * Versions per namespace, scoring and configured keys. A function is called on every request, so
   * what it returns may change while the service runs (`itemvec serve` swaps it on SIGHUP).
   */
  settings: ServeSettings | (() => ServeSettings);
  logger?: Logger;
  /** Builds the provider that embeds search texts for a version (default: the version's own provider, model and dims). */
  providerFor?: ProviderFactory;
  /** How long a key found in the api_keys table is trusted before it is looked up again (default 30 s). */
  keyCacheTtlMs?: number;
}

/** The Fastify instance buildServer returns, logging through itemvec's pino logger. */
export type ItemvecServer = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, Logger>;

const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
const LATEST_MIGRATION = Math.max(...MIGRATIONS.map((m) => m.id));

interface ErrorBody {
  statusCode: number;
  error: string;
  code: string;
  message: string;
}
const errorBody = (statusCode: number, code: string, message: string): ErrorBody => ({ statusCode, error: STATUS_CODES[statusCode] ?? 'Error', code, message });

/** Ajv errors as sentences that name the parameter and, for a scalar, the value received. */
function formatValidation(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const sentences = errors.map((e) => {
    const where = e.instancePath ? e.instancePath.slice(1).replaceAll('/', '.') : dataVar;
    const data = (e as { data?: unknown }).data;
    const got = ['string', 'number', 'boolean'].includes(typeof data) ? `, got ${JSON.stringify(data).slice(0, 80)}` : '';
    if (e.keyword === 'additionalProperties') return `${where} has an unknown parameter "${String(e.params.additionalProperty)}"`;
    if (e.keyword === 'pattern' && e.params.pattern === STORABLE_TEXT) return `${where} must not contain a NUL character (%00)`;
    if (e.keyword === 'enum') return `${where} must be one of ${(e.params.allowedValues as unknown[]).join(', ')}${got}`;
    return `${where} ${e.message ?? 'is invalid'}${got}`;
  });
  return new Error(sentences.join('; '));
}

/** HTTP status and error code of a failed request. */
function statusOf(err: FastifyError): [number, string] {
  if (err.validation !== undefined) return [400, 'BAD_REQUEST'];
  if (err instanceof NotFoundError) return [404, err.code];
  if (err instanceof ConfigError) return [400, err.code];
  if (err instanceof ProviderError) return [502, err.code];
  if (err instanceof DatabaseError) return [503, err.code];
  // Fastify's own client errors: malformed JSON, wrong content type, body too large.
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return [err.statusCode, err.code ?? 'BAD_REQUEST'];
  return [500, 'INTERNAL'];
}

export async function buildServer(options: ServerOptions): Promise<ItemvecServer> {
  const { db } = options;
  const settings = typeof options.settings === 'function' ? options.settings : () => options.settings as ServeSettings;
  const logger = options.logger ?? createLogger();
  const keys = createKeyResolver(db, () => settings().apiKeys, options.keyCacheTtlMs);
  const providers = providerCache(options.providerFor ?? providerFactory());
  collectProcessMetrics();

  const app = fastify({
    loggerInstance: logger,
    // One access line per request from the onResponse hook below, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // Unknown parameters are errors, not silently dropped: `?kk=5` must not quietly mean k=10.
    ajv: { customOptions: { removeAdditional: false, verbose: true } },
    schemaErrorFormatter: formatValidation,
    // The route's limit is on the raw path segment: the longest valid id, every character of it
    // percent-encoded as three UTF-8 bytes (%E2%82%AC), is 9 × 512 characters. Fastify's default, 100,
    // answered 414 to ids the pipeline accepts.
    routerOptions: { maxParamLength: 9 * ITEM_ID_MAX_LENGTH },
  });
  app.decorateRequest('orgId', '');

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'itemvec retriever',
        version: VERSION,
        description: 'Similar items and search over catalog embeddings. Every /v1 request reads the org of its API key only.',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'an itemvec API key (`itemvec keys add`)' } } },
    },
  });

  app.addHook('onResponse', async (req, reply) => {
    const labels = { method: req.method, route: req.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) };
    httpRequestDuration.observe(labels, reply.elapsedTime / 1000);
    httpRequests.inc(labels);
    // Keys belong in the Authorization header, which is not logged; one sent as `?api_key=` is redacted (and refused).
    req.log.info({ method: req.method, url: redactUrl(req.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime * 100) / 100, org_id: req.orgId || undefined }, 'request');
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const [status, code] = statusOf(err);
    if (status >= 500) req.log.error({ err, url: redactUrl(req.url) }, `request failed: ${errorMessage(err)}`);
    // A 500 says nothing about the internals; the log has the stack.
    return reply.code(status).send(errorBody(status, code, status === 500 ? 'internal error; the service log has the details' : err.message));
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send(errorBody(404, 'ROUTE_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`)));

  app.get('/healthz', { schema: healthSchema }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: readySchema }, async (_req, reply) => {
    try {
      const [row] = await db.query<{ id: number | null }>('SELECT max(id) AS id FROM itemvec_migrations');
      if (Number(row?.id) >= LATEST_MIGRATION) return { status: 'ready' };
      return reply.code(503).send({ status: 'not ready', reason: `database schema is at migration ${row?.id ?? 'none'}, this build needs ${LATEST_MIGRATION}: run itemvec migrate` });
    } catch (err) {
      return reply.code(503).send({ status: 'not ready', reason: `database: ${errorMessage(err)}` });
    }
  });
  app.get('/metrics', { schema: metricsSchema }, async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(async (v1) => {
    v1.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      const key = bearerKey(req.headers.authorization);
      const orgId = key === null ? null : await keys.orgFor(key);
      if (orgId === null) {
        authFailures.inc({ reason: key === null ? 'missing' : 'unknown' });
        const message = key === null ? 'missing API key: send the header "Authorization: Bearer <key>"' : 'API key not recognised (unknown or revoked)';
        return reply.code(401).header('www-authenticate', 'Bearer realm="itemvec"').send(errorBody(401, 'UNAUTHORIZED', message));
      }
      req.orgId = orgId;
    });

    const count = (operation: string, result: SimilarResult) => {
      retrievalRequests.inc({ operation, mode: result.mode });
      for (const c of result.candidates) retrievalCandidates.inc({ operation, signals: SIGNALS.filter((s) => c.ranks[s] !== null).join('+') || 'none' });
    };

    v1.get<{ Params: { ns: string; id: string }; Querystring: { k: number; modality: Modality; version?: string; mode: RetrievalMode } }>(
      '/namespaces/:ns/items/:id/similar',
      { schema: similarSchema },
      async (req) => {
        const { ns, id } = req.params;
        const result = await similar(db, { orgId: req.orgId, namespace: ns, itemId: id, ...req.query, ...queryOptions(settings(), ns) });
        count('similar', result);
        return { namespace: ns, item_id: id, version: result.version.version, modality: result.version.modality, mode: result.mode, fusion: result.fusion, candidates: result.candidates };
      },
    );

    v1.post<{ Params: { ns: string }; Body: { text?: string; vector?: number[]; k: number; modality: Modality; version?: string; mode: RetrievalMode } }>(
      '/namespaces/:ns/search',
      { schema: searchSchema },
      async (req) => {
        const { text, vector, ...rest } = req.body;
        if ((text === undefined) === (vector === undefined)) throw new ConfigError('give exactly one of "text" or "vector"');
        const common = { orgId: req.orgId, namespace: req.params.ns, ...rest, ...queryOptions(settings(), req.params.ns) };
        const result = text !== undefined ? await search(db, { ...common, text, provider: (v) => providers.get(v) }) : await search(db, { ...common, vector: vector! });
        count('search', result);
        return { namespace: req.params.ns, version: result.version.version, modality: result.version.modality, mode: result.mode, fusion: result.fusion, candidates: result.candidates satisfies Candidate[] };
      },
    );
  }, { prefix: '/v1' });

  app.addHook('onClose', async () => providers.close());
  return app;
}
