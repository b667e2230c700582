/**
 * API key → org for the routes of the scope it is registered in (`/v1`): a request names no org,
 * its key decides which org's rows it reads. fastify-plugin lets the hook reach the scope's routes
 * instead of staying inside this plugin; routes outside the scope (probes, scrapers) need no key.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { authFailures } from '../../metrics.js';
import type { Queryable } from '../../store/db.js';
import { errorBody } from '../errors.js';
import { bearerKey, createKeyResolver } from '../key-resolver.js';
import type { ServeSettings } from '../settings.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The org of the request's API key, on the routes apiKeyAuth guards. */
    orgId: string;
  }
}

export interface ApiKeyAuthOptions {
  db: Queryable;
  /** The configured keys; called on every request, as they change on SIGHUP. */
  configuredKeys: () => ServeSettings['apiKeys'];
  /** How long a key found in the api_keys table is trusted before it is looked up again (default 30 s). */
  keyCacheTtlMs?: number;
}

async function apiKeyAuthPlugin(app: FastifyInstance, options: ApiKeyAuthOptions): Promise<void> {
  const keys = createKeyResolver(options.db, options.configuredKeys, options.keyCacheTtlMs);
  app.decorateRequest('orgId', '');
  // onRequest, before the body is read or validated: a caller without a key learns nothing about the parameters.
  app.addHook('onRequest', async (req, reply) => {
    const key = bearerKey(req.headers.authorization);
    const orgId = key === null ? null : await keys.orgFor(key);
    if (orgId === null) {
      authFailures.inc({ reason: key === null ? 'missing' : 'unknown' });
      const message = key === null ? 'missing API key: send the header "Authorization: Bearer <key>"' : 'API key not recognised (unknown or revoked)';
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="itemvec"')
        .send(errorBody(401, 'UNAUTHORIZED', message));
    }
    req.orgId = orgId;
  });
}

export const apiKeyAuth = fp(apiKeyAuthPlugin, { name: 'itemvec-api-key-auth', fastify: '5.x' });
