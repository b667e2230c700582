/**
 * `/openapi.json`: the OpenAPI 3.1 document @fastify/swagger builds from the routes' JSON schemas, so
 * the document and the validation cannot disagree. Register it before the routes: swagger collects
 * them as they are added, and fastify-plugin keeps it on the app so it sees every scope's routes.
 */
import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { VERSION } from '../../version.js';

async function openApiPlugin(app: FastifyInstance): Promise<void> {
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
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

export const openApi = fp(openApiPlugin, { name: 'itemvec-openapi', fastify: '5.x' });
