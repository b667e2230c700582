/**
 * Every failed request answers `{statusCode, error, code, message}` with a message that says what is
 * wrong: validation errors name the parameter and the value received, itemvec's typed errors map to
 * their status, and anything unexpected is a 500 whose details stay in the log.
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { ConfigError, DatabaseError, errorMessage, NotFoundError, ProviderError } from '../errors.js';
import { redactUrl } from '../log.js';
import { STORABLE_TEXT } from './schemas.js';

export interface ErrorBody {
  statusCode: number;
  error: string;
  code: string;
  message: string;
}

export const errorBody = (statusCode: number, code: string, message: string): ErrorBody => ({
  statusCode,
  error: STATUS_CODES[statusCode] ?? 'Error',
  code,
  message,
});

/** Ajv errors as sentences that name the parameter and, for a scalar, the value received (Fastify's schemaErrorFormatter). */
export function formatValidation(errors: FastifySchemaValidationError[], dataVar: string): Error {
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

/** The HTTP status and code of an error: shared by the JSON answers here and the console's error pages. */
export function statusOf(err: FastifyError): [status: number, code: string] {
  if (err.validation !== undefined) return [400, 'BAD_REQUEST'];
  if (err instanceof NotFoundError) return [404, err.code];
  if (err instanceof ConfigError) return [400, err.code];
  if (err instanceof ProviderError) return [502, err.code];
  if (err instanceof DatabaseError) return [503, err.code];
  // Fastify's own client errors: malformed JSON, wrong content type, body too large.
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return [err.statusCode, err.code ?? 'BAD_REQUEST'];
  return [500, 'INTERNAL'];
}

/** Fastify's error handler. */
export function replyWithError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const [status, code] = statusOf(err);
  if (status >= 500) req.log.error({ err, url: redactUrl(req.url) }, `request failed: ${errorMessage(err)}`);
  // A 500 says nothing about the internals; the log has the stack.
  return reply.code(status).send(errorBody(status, code, status === 500 ? 'internal error; the service log has the details' : err.message));
}

/** Fastify's not-found handler. */
export function replyRouteNotFound(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(404).send(errorBody(404, 'ROUTE_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`));
}
