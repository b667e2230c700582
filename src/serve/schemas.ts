/**
 * JSON schemas of the HTTP routes: one source for request validation (Fastify's Ajv), response
 * serialisation and the OpenAPI document (@fastify/swagger).
 */
import type { FastifySchema } from 'fastify';
import { NAME_PATTERN } from '../config.js';
import { RETRIEVE_DEFAULTS } from '../retrieve/defaults.js';

const name = (what: string) => ({ type: 'string', pattern: NAME_PATTERN.source, description: what }) as const;

const modality = { type: 'string', enum: ['text', 'image'], default: 'text', description: 'which vectors to compare' } as const;
const k = {
  type: 'integer',
  minimum: 1,
  maximum: RETRIEVE_DEFAULTS.maxK,
  default: RETRIEVE_DEFAULTS.k,
  description: 'how many candidates',
} as const;
const version = name('embedding version; default: BLEND_EMBEDDING_VERSION for the namespace, then the active version');

const nullable = (type: 'string' | 'number') => ({ type: [type, 'null'] }) as const;

const candidate = {
  type: 'object',
  required: ['item_id', 'score', 'version', 'modality', 'source', 'embedding_score', 'tag_score'],
  properties: {
    item_id: { type: 'string' },
    score: { type: 'number', description: 'the ranking score; its meaning depends on source' },
    version: { type: 'string' },
    modality: { type: 'string', enum: ['text', 'image'] },
    source: {
      type: 'string',
      enum: ['embedding', 'tags', 'blend'],
      description: 'embedding: score is cosine similarity; tags: score is the tag score; blend: w·embedding_score + (1−w)·tag_score',
    },
    embedding_score: { ...nullable('number'), description: 'cosine similarity with the query, null when the item has no vector in the version' },
    tag_score: { ...nullable('number'), description: 'overlap of tags, category and brand with the query item (0–1); null for search' },
    brand: nullable('string'),
    category: nullable('string'),
    description: nullable('string'),
  },
} as const;

const errorBody = {
  type: 'object',
  required: ['statusCode', 'error', 'code', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    error: { type: 'string' },
    code: { type: 'string' },
    message: { type: 'string', description: 'what is wrong, in words' },
  },
} as const;

const errors = { 400: errorBody, 401: errorBody, 404: errorBody, 500: errorBody, 502: errorBody, 503: errorBody } as const;
const security = [{ apiKey: [] }];

export const similarSchema = {
  summary: 'Items similar to an item',
  description:
    'Tag and embedding candidates of the caller\'s org, blended when the item has enough tags, otherwise the tag list filled with embedding candidates.',
  tags: ['retrieval'],
  security,
  params: {
    type: 'object',
    required: ['ns', 'id'],
    properties: { ns: name('namespace'), id: { type: 'string', minLength: 1, maxLength: 512, description: 'item id' } },
  },
  querystring: { type: 'object', additionalProperties: false, properties: { k, modality, version } },
  response: {
    200: {
      type: 'object',
      required: ['namespace', 'item_id', 'version', 'modality', 'mode', 'candidates'],
      properties: {
        namespace: { type: 'string' },
        item_id: { type: 'string' },
        version: { type: 'string' },
        modality: { type: 'string' },
        mode: { type: 'string', enum: ['blend', 'fill'] },
        candidates: { type: 'array', items: candidate },
      },
    },
    ...errors,
  },
} as const satisfies FastifySchema;

export const searchSchema = {
  summary: 'Items nearest to a text or a vector',
  description: 'Give exactly one of `text` (embedded with the version\'s own model) or `vector` (as many numbers as the version has dims).',
  tags: ['retrieval'],
  security,
  params: { type: 'object', required: ['ns'], properties: { ns: name('namespace') } },
  body: {
    type: 'object',
    additionalProperties: false,
    properties: {
      text: { type: 'string', minLength: 1, maxLength: 20_000 },
      vector: { type: 'array', minItems: 1, maxItems: 4000, items: { type: 'number' } },
      k,
      modality,
      version,
    },
  },
  response: {
    200: {
      type: 'object',
      required: ['namespace', 'version', 'modality', 'candidates'],
      properties: {
        namespace: { type: 'string' },
        version: { type: 'string' },
        modality: { type: 'string' },
        candidates: { type: 'array', items: candidate },
      },
    },
    ...errors,
  },
} as const satisfies FastifySchema;

const status = { type: 'object', properties: { status: { type: 'string' }, reason: { type: 'string' } } } as const;

export const healthSchema = { summary: 'Liveness: the process answers', tags: ['operations'], response: { 200: status } } as const;
export const readySchema = {
  summary: 'Readiness: the database answers and its schema is current',
  tags: ['operations'],
  response: { 200: status, 503: status },
} as const;
export const metricsSchema = {
  summary: 'Prometheus metrics (text exposition format)',
  tags: ['operations'],
  produces: ['text/plain'],
} as const;
