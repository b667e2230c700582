/**
 * The review console under /ui (pages: routes/console.ts, rendering: console/*.ts): plain
 * server-rendered HTML, no script, so every page and form works with JavaScript off.
 *
 * What this scope adds around the pages:
 *  - auth: the same API keys as /v1, resolved the same way (key-resolver.ts), carried in an
 *    HttpOnly session cookie (console/session.ts says why a cookie); a request without a valid one
 *    is sent to /ui/login. The key decides the org, as on /v1.
 *  - CSRF: the cookie is SameSite=Strict, and a POST whose Origin (when the browser sends one) is
 *    not this host, or whose Sec-Fetch-Site says another site started it, is refused (403).
 *  - headers: Server-Timing (app;dur=<ms>), a Content-Security-Policy that allows no script at all
 *    and images from any http(s) host (catalog images are loaded by the browser, never by the
 *    server), no caching of pages holding an org's data, and no Referer to image hosts.
 *  - errors as HTML pages instead of /v1's JSON bodies.
 * Not wrapped in fastify-plugin on purpose: all of it stays inside the /ui scope.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { VersionEmbedder } from '../../embed/version-embedder.js';
import { redactUrl } from '../../log.js';
import { authFailures } from '../../metrics.js';
import { hashApiKey, keyId } from '../../store/api-keys.js';
import type { Db } from '../../store/db.js';
import { errorPage } from '../console/error-page.js';
import { uiUrl } from '../console/html.js';
import { clearedSessionCookie, overHttps, sessionKey } from '../console/session.js';
import { statusOf } from '../errors.js';
import { createKeyResolver } from '../key-resolver.js';
import { consoleRoutes } from '../routes/console.js';
import type { ServeSettings } from '../settings.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The console session's API key id (never the key), for the marks a reviewer sets. */
    consoleKeyId: string;
  }
}

export interface ConsoleOptions {
  db: Db;
  /** Called on every request: the settings (keys, versions, fusion) may change while the service runs. */
  settings: () => ServeSettings;
  embedder: VersionEmbedder;
  /** How long a key found in the api_keys table is trusted before it is looked up again (default 30 s). */
  keyCacheTtlMs?: number;
}

/** Pages anyone may fetch: the login form and the stylesheet. */
const PUBLIC_ROUTES = new Set(['/ui/login', '/ui/assets/console.css']);

const CSP = "default-src 'none'; style-src 'self'; img-src http: https:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Why a state-changing request must be refused as cross-site, or null when it may go on. */
function crossSite(req: FastifyRequest): string | null {
  if (req.method === 'GET' || req.method === 'HEAD') return null;
  const fetchSite = req.headers['sec-fetch-site'];
  if (fetchSite === 'cross-site' || fetchSite === 'same-site') return `a form from another site (Sec-Fetch-Site: ${fetchSite}) cannot change anything here`;
  const origin = req.headers.origin;
  if (origin === undefined) return null;
  let host: string | null = null;
  try {
    host = new URL(origin).host;
  } catch {
    // "null" (sandboxed or privacy-redirected forms) and garbage are not this host either.
  }
  if (host === null || host.toLowerCase() !== (req.headers.host ?? '').toLowerCase()) {
    return `a form from ${origin.slice(0, 100)} cannot change anything on ${req.headers.host ?? 'this host'}`;
  }
  return null;
}

const sendHtml = (reply: FastifyReply, status: number, body: string) => reply.code(status).type('text/html; charset=utf-8').send(body);

async function consolePlugin(app: FastifyInstance, options: ConsoleOptions): Promise<void> {
  const keys = createKeyResolver(options.db, () => options.settings().apiKeys, options.keyCacheTtlMs);
  app.decorateRequest('orgId', '');
  app.decorateRequest('consoleKeyId', '');

  // HTML forms post urlencoded bodies; Fastify parses only JSON and text by itself. Small: the
  // largest form (a mark) is a few ids.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.addHook('onRequest', async (req, reply) => {
    const refused = crossSite(req);
    if (refused) return sendHtml(reply, 403, errorPage({ status: 403, message: `Refused: ${refused}.` }));
    if (PUBLIC_ROUTES.has(req.routeOptions.url ?? '')) return;
    const key = sessionKey(req.headers.cookie);
    const orgId = key === null ? null : await keys.orgFor(key);
    if (orgId === null || key === null) {
      if (key !== null) {
        authFailures.inc({ reason: 'unknown' });
        reply.header('set-cookie', clearedSessionCookie(overHttps(req)));
      }
      return reply.redirect(uiUrl('/login', { next: req.method === 'GET' ? req.url : undefined }), 303);
    }
    req.orgId = orgId;
    req.consoleKeyId = keyId(hashApiKey(key));
  });

  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('server-timing', `app;dur=${reply.elapsedTime.toFixed(1)}`);
    reply.header('content-security-policy', CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'same-origin');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const [status] = statusOf(err);
    if (status >= 500) req.log.error({ err, url: redactUrl(req.url) }, `console request failed: ${err.message}`);
    const message = status === 500 ? 'Internal error; the service log has the details.' : err.message;
    return sendHtml(reply, status, errorPage({ status, message, orgId: req.orgId || undefined, keyId: req.consoleKeyId || undefined }));
  });
  app.setNotFoundHandler((req, reply) =>
    sendHtml(
      reply,
      404,
      errorPage({ status: 404, message: `No page ${req.url.split('?')[0]}.`, orgId: req.orgId || undefined, keyId: req.consoleKeyId || undefined }),
    ),
  );

  await app.register(consoleRoutes, { db: options.db, settings: options.settings, embedder: options.embedder, keys });
}

export const reviewConsole = consolePlugin;
