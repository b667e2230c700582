import type { CatalogItem } from '../catalog/item.js';
import { ConfigError } from '../errors.js';

const FIELDS = {
  item_id: (i: CatalogItem) => i.itemId,
  title: (i: CatalogItem) => i.title ?? '',
  brand: (i: CatalogItem) => i.brand,
  category: (i: CatalogItem) => i.category,
  description: (i: CatalogItem) => i.description,
  tags: (i: CatalogItem) => i.tags.join(', '),
} as const;
type Field = keyof typeof FIELDS;

/** Placeholders a template may use, as written in it. */
export const TEMPLATE_PLACEHOLDERS = Object.keys(FIELDS).map((f) => `{${f}}`);

/** Fields that describe the product (everything but the id): a prompt without any of them has no text to embed. */
const CONTENT_FIELDS: readonly Field[] = ['title', 'brand', 'category', 'description', 'tags'];

export type PromptRenderer = (item: CatalogItem) => string;

export interface CompiledTemplate {
  /** The prompt the model embeds. */
  render: PromptRenderer;
  /**
   * The text the lexical index reads: the values of the template's placeholders, one per line,
   * without the template's own words. Those are the same in every item ("Product:",
   * "Description:"), so they carry no evidence, yet every query would read their postings.
   */
  lexicalText: PromptRenderer;
  /** True when every product field the template uses is empty for this item: nothing to embed. */
  isEmpty(item: CatalogItem): boolean;
  /** Product fields the template uses (all but {item_id}), in order. */
  contentFields: Field[];
}

function parse(template: string): Array<string | Field> {
  const parts: Array<string | Field> = [];
  const re = /\{([a-z_]+)\}/g;
  let last = 0;
  for (let m = re.exec(template); m; m = re.exec(template)) {
    const field = m[1] as string;
    if (!(field in FIELDS)) {
      throw new ConfigError(`prompt template uses unknown placeholder {${field}}; known: ${TEMPLATE_PLACEHOLDERS.join(' ')}`);
    }
    parts.push(template.slice(last, m.index), field as Field);
    last = m.index + m[0].length;
  }
  parts.push(template.slice(last));
  return parts;
}

/**
 * Compile a prompt template such as `Product: {brand} {category}\nDescription: {description}`.
 * Unknown placeholders fail here, at start-up, rather than producing prompts with literal braces.
 * The template text is part of the embedding version (see store/versions.ts).
 */
export function compileTemplate(template: string): CompiledTemplate {
  const parts = parse(template);
  // A literal string at even positions, a field at odd ones.
  const fields = parts.filter((_, i) => i % 2 === 1) as Field[];
  const content = fields.filter((f) => CONTENT_FIELDS.includes(f));
  return {
    render: (item) => parts.map((p, i) => (i % 2 === 1 ? FIELDS[p as Field](item) : p)).join(''),
    lexicalText: (item) =>
      fields
        .map((f) => FIELDS[f](item))
        .filter((v) => v !== '')
        .join('\n'),
    isEmpty: (item) => content.length > 0 && content.every((f) => FIELDS[f](item).trim() === ''),
    contentFields: content,
  };
}
