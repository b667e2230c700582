/**
 * What operators see of the service: one access line and the HTTP metrics per request, `/metrics`
 * for Prometheus, `/healthz` (liveness) and `/readyz` (readiness). fastify-plugin puts the response
 * hook on the whole app, so `/v1` requests are logged and counted too, 401s included. The routes
 * carry no catalog data and need no key.
 */
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { redactUrl } from '../../log.js';
import { collectProcessMetrics, httpRequestDuration, httpRequests, registry } from '../../metrics.js';
import type { Queryable } from '../../store/db.js';
import { checkReady } from '../../store/readiness.js';
import { healthSchema, metricsSchema, readySchema } from '../schemas.js';

export interface ObservabilityOptions {
  /** The database /readyz checks. */
  db: Queryable;
}

async function observabilityPlugin(instance: FastifyInstance, { db }: ObservabilityOptions): Promise<void> {
  const app = instance.withTypeProvider<JsonSchemaToTsProvider>();
  collectProcessMetrics();

  app.addHook('onResponse', async (req, reply) => {
    // By route pattern, never the URL: ids in labels would grow the series without bound.
    const labels = { method: req.method, route: req.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) };
    httpRequestDuration.observe(labels, reply.elapsedTime / 1000);
    httpRequests.inc(labels);
    // Keys belong in the Authorization header, which is not logged; one sent as `?api_key=` is redacted (and refused).
    req.log.info(
      { method: req.method, url: redactUrl(req.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime * 100) / 100, org_id: req.orgId || undefined },
      'request',
    );
  });

  app.get('/healthz', { schema: healthSchema }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: readySchema }, async (_req, reply) => {
    const readiness = await checkReady(db);
    if (readiness.ready) return { status: 'ready' };
    return reply.code(503).send({ status: 'not ready', reason: readiness.reason });
  });
  app.get('/metrics', { schema: metricsSchema }, async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
}

export const observability = fp(observabilityPlugin, { name: 'itemvec-observability', fastify: '5.x' });
