/**
 * JSON schemas of the HTTP routes: one source for request validation (Fastify's Ajv), response
 * serialisation, the OpenAPI document (@fastify/swagger) and the handlers' types (the routes read
 * them through @fastify/type-provider-json-schema-to-ts, hence every schema is `as const`).
 */
import type { FastifySchema } from 'fastify';
import { ITEM_ID_MAX_LENGTH } from '../catalog/validate.js';
import { RETRIEVE_DEFAULTS } from '../defaults.js';
import { NAME_PATTERN } from '../names.js';
import type { RetrievalMode } from '../retrieve/similar.js';

/** Text Postgres can store: no NUL (a `%00` in a URL). Invalid UTF-8 never gets this far: Fastify answers 400 when decoding. */
export const STORABLE_TEXT = '^[^\\u0000]*$';

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

const nullable = <T extends 'string' | 'number'>(type: T) => ({ type: [type, 'null'] }) as const;

const rank = { type: ['integer', 'null'], minimum: 1 } as const;
// candidate and fusion are closed (additionalProperties: false) for the handlers' types: an open
// schema's type has an index signature, which the Candidate and FusionSettings interfaces lack. The
// bodies stay as they were: the serializer drops undeclared properties either way.
const candidate = {
  type: 'object',
  additionalProperties: false,
  required: ['item_id', 'score', 'version', 'modality', 'dense_score', 'lexical_score', 'tag_score', 'ranks'],
  properties: {
    item_id: { type: 'string' },
    score: { type: 'number', description: "the ranking score: the fused score (Σ weight / (rrfK + rank)), or the one signal's score in a single-signal mode" },
    version: { type: 'string' },
    modality: { type: 'string', enum: ['text', 'image'] },
    dense_score: { ...nullable('number'), description: 'cosine similarity with the query (−1–1); null when the item has no vector in the version' },
    lexical_score: { ...nullable('number'), description: "BM25 score for the query's terms (≥ 0); null when it shares none of them" },
    tag_score: { ...nullable('number'), description: "Jaccard overlap of its tags with the query item's (0–1); null for search" },
    ranks: {
      type: 'object',
      description: "rank in each signal's candidate list (1 = best), null when that list did not hold it",
      properties: { dense: rank, lexical: rank, tags: rank },
    },
    title: nullable('string'),
    brand: nullable('string'),
    category: nullable('string'),
    description: nullable('string'),
  },
} as const;
const fusion = {
  type: 'object',
  additionalProperties: false,
  description: 'the weights and RRF constant the list was fused with (retrieve.fusion, per namespace)',
  properties: { dense: { type: 'number' }, lexical: { type: 'number' }, tags: { type: 'number' }, rrfK: { type: 'integer' } },
} as const;
const modeOf = <const M extends readonly RetrievalMode[]>(modes: M) =>
  ({ type: 'string', enum: modes, default: 'fused', description: 'fused: every signal, fused; or one signal alone' }) as const;

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
    "Dense (cosine), lexical (BM25) and tag candidates of the caller's org, fused by weighted reciprocal rank; every candidate shows each signal's score.",
  tags: ['retrieval'],
  security,
  params: {
    type: 'object',
    required: ['ns', 'id'],
    properties: { ns: name('namespace'), id: { type: 'string', minLength: 1, maxLength: ITEM_ID_MAX_LENGTH, pattern: STORABLE_TEXT, description: 'item id' } },
  },
  querystring: { type: 'object', additionalProperties: false, properties: { k, modality, version, mode: modeOf(['fused', 'dense', 'lexical', 'tags']) } },
  response: {
    200: {
      type: 'object',
      required: ['namespace', 'item_id', 'version', 'modality', 'mode', 'fusion', 'candidates'],
      properties: {
        namespace: { type: 'string' },
        item_id: { type: 'string' },
        version: { type: 'string' },
        modality: { type: 'string' },
        mode: { type: 'string' },
        fusion,
        candidates: { type: 'array', items: candidate },
      },
    },
    ...errors,
  },
} as const satisfies FastifySchema;

export const searchSchema = {
  summary: 'Items nearest to a text or a vector',
  description:
    "Give exactly one of `text` (dense: embedded with the version's own model, fused with lexical: BM25 over its words) or `vector` (as many numbers as the version has dims; dense only).",
  tags: ['retrieval'],
  security,
  params: { type: 'object', required: ['ns'], properties: { ns: name('namespace') } },
  body: {
    type: 'object',
    additionalProperties: false,
    properties: {
      text: { type: 'string', minLength: 1, maxLength: 20_000, pattern: STORABLE_TEXT },
      vector: { type: 'array', minItems: 1, maxItems: 4000, items: { type: 'number' } },
      k,
      modality,
      version,
      mode: modeOf(['fused', 'dense', 'lexical']),
    },
  },
  response: {
    200: {
      type: 'object',
      required: ['namespace', 'version', 'modality', 'mode', 'fusion', 'candidates'],
      properties: {
        namespace: { type: 'string' },
        version: { type: 'string' },
        modality: { type: 'string' },
        mode: { type: 'string' },
        fusion,
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
