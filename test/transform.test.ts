/** Transform: prompt rendering, token-boundary chunking with real tokenizers, pooling. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode } from 'gpt-tokenizer/encoding/cl100k_base';
import type { CatalogItem } from '../src/catalog/item.js';
import { DEFAULT_PROMPT_TEMPLATE } from '../src/config.js';
import { cl100kTokenizer } from '../src/embed/cl100k.js';
import { ConfigError } from '../src/errors.js';
import { metadataHash } from '../src/pipeline/hash.js';
import { poolChunkVectors } from '../src/pipeline/vectors.js';
import { chunkText } from '../src/prompt/chunk.js';
import { compileTemplate } from '../src/prompt/template.js';

const item: CatalogItem = {
  itemId: 'sku-1',
  title: null,
  description: 'Waterproof leather boot.',
  brand: 'TrailForge',
  category: 'Footwear > Hiking Boots',
  imageUrl: 'https://x/1.jpg',
  tags: ['boots', 'hiking'],
  metadataVersion: null,
  orgId: '00000000-0000-0000-0000-000000000001',
  namespace: 'default',
};

test("the default prompt is the plan's template", () => {
  assert.equal(compileTemplate(DEFAULT_PROMPT_TEMPLATE).render(item), 'Product: TrailForge Footwear > Hiking Boots\nDescription: Waterproof leather boot.');
  assert.equal(compileTemplate('{item_id}: {tags} | {brand}').render(item), 'sku-1: boots, hiking | TrailForge');
});

test('{title}: the product name, empty when the item has none', () => {
  const t = compileTemplate('Product: {title}\nBrand: {brand}\nDescription: {description}');
  assert.equal(
    t.render({ ...item, title: 'Korrun Marlow 3 Hiking Boot' }),
    'Product: Korrun Marlow 3 Hiking Boot\nBrand: TrailForge\nDescription: Waterproof leather boot.',
  );
  assert.equal(t.render(item), 'Product: \nBrand: TrailForge\nDescription: Waterproof leather boot.');
});

test("the lexical text is the placeholders' values without the template's words; an item with none of them is empty", () => {
  const t = compileTemplate(DEFAULT_PROMPT_TEMPLATE);
  assert.equal(t.lexicalText(item), 'TrailForge\nFootwear > Hiking Boots\nWaterproof leather boot.');
  const titled = compileTemplate('Product: {title}\nBrand: {brand}');
  assert.equal(titled.lexicalText({ ...item, title: 'Analog Watch', brand: '' }), 'Analog Watch');
  assert.deepEqual(titled.contentFields, ['title', 'brand']);
  assert.equal(titled.isEmpty({ ...item, title: null, brand: '' }), true);
  assert.equal(titled.isEmpty({ ...item, title: null, brand: 'Acme' }), false);
  // The id is not product text: a template of ids only has no content to judge by.
  assert.equal(compileTemplate('{item_id}: {title}').isEmpty({ ...item, title: ' ' }), true);
  assert.equal(compileTemplate('{item_id}').isEmpty(item), false);
});

test('an unknown placeholder fails when the template is compiled', () => {
  assert.throws(
    () => compileTemplate('Product: {name}'),
    (err: unknown) => err instanceof ConfigError && /unknown placeholder \{name\}; known: \{item_id\} \{title\}/.test(err.message),
  );
});

test('the metadata hash changes with the prompt, the model and the dims, and only with them', () => {
  const base = metadataHash('p', 'openai', 'text-embedding-3-large', 3072);
  assert.equal(metadataHash('p', 'openai', 'text-embedding-3-large', 3072), base);
  assert.notEqual(metadataHash('p2', 'openai', 'text-embedding-3-large', 3072), base);
  assert.notEqual(metadataHash('p', 'openai', 'text-embedding-3-small', 3072), base);
  assert.notEqual(metadataHash('p', 'openai', 'text-embedding-3-large', 1024), base);
});

test('text within the limit is one chunk with the real cl100k_base count', () => {
  const text = compileTemplate(DEFAULT_PROMPT_TEMPLATE).render(item);
  const [only, ...rest] = chunkText(text, cl100kTokenizer, 8191);
  assert.equal(rest.length, 0);
  assert.equal(only!.text, text);
  assert.equal(only!.tokens, encode(text).length);
});

test('long text is split on token boundaries into chunks within the limit that cover every token', () => {
  const text = Array.from({ length: 3000 }, (_, i) => `word${i % 97} ünïcödé 🥾`).join(' ');
  const total = encode(text).length;
  const chunks = chunkText(text, cl100kTokenizer, 8191);
  // At least the minimum number of chunks; one more only when a cut had to move back off a split character.
  assert.ok(chunks.length >= Math.ceil(total / 8191) && chunks.length <= Math.ceil(total / 8191) + 1, `${chunks.length} chunks for ${total} tokens`);
  assert.ok(chunks.every((c) => c.tokens <= 8191 && c.tokens > 0));
  assert.equal(
    chunks.reduce((s, c) => s + c.tokens, 0),
    total,
  );
  assert.deepEqual(
    chunks.map((c) => c.index),
    chunks.map((_, i) => i),
  );
  // No chunk ends in half a character (a multi-byte emoji split across tokens).
  assert.ok(
    chunks.every((c) => !c.text.includes('\uFFFD')),
    'no replacement characters',
  );
  assert.equal(chunks.map((c) => c.text).join(''), text);
});

test('the item vector is the token-weighted mean of its chunk vectors, L2-normalised', () => {
  const v = poolChunkVectors([Float32Array.from([1, 0]), Float32Array.from([0, 1])], [3, 1]);
  const norm = Math.hypot(3, 1);
  assert.ok(Math.abs(v[0]! - 3 / norm) < 1e-6 && Math.abs(v[1]! - 1 / norm) < 1e-6);
  assert.throws(() => poolChunkVectors([Float32Array.from([0, 0])], [1]), /zero/);
});

test('a single unit-length chunk is the item vector as it is; anything else is normalised', () => {
  const unit = Float32Array.from([0.6, 0.8]);
  assert.equal(poolChunkVectors([unit], [5]), unit);
  const long = Float32Array.from([3, 4]);
  assert.deepEqual(Array.from(poolChunkVectors([long], [5])), [Math.fround(0.6), Math.fround(0.8)]);
});
