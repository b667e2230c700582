import type { CatalogItem } from '../catalog/item.js';
import { ConfigError } from '../errors.js';

const FIELDS = {
  item_id: (i: CatalogItem) => i.itemId,
  brand: (i: CatalogItem) => i.brand,
  category: (i: CatalogItem) => i.category,
  description: (i: CatalogItem) => i.description,
  tags: (i: CatalogItem) => i.tags.join(', '),
} as const;
type Field = keyof typeof FIELDS;

export type PromptRenderer = (item: CatalogItem) => string;

/**
 * Compile a prompt template such as `Product: {brand} {category}\nDescription: {description}`.
 * Unknown placeholders fail here, at start-up, rather than producing prompts with literal braces.
 * The template text is part of the embedding version (see store/versions.ts).
 */
export function compileTemplate(template: string): PromptRenderer {
  const parts: Array<string | Field> = [];
  const re = /\{([a-z_]+)\}/g;
  let last = 0;
  for (let m = re.exec(template); m; m = re.exec(template)) {
    const field = m[1] as string;
    if (!(field in FIELDS)) {
      throw new ConfigError(`prompt template uses unknown placeholder {${field}}; known: ${Object.keys(FIELDS).map((f) => `{${f}}`).join(' ')}`);
    }
    parts.push(template.slice(last, m.index), field as Field);
    last = m.index + m[0].length;
  }
  parts.push(template.slice(last));
  // A literal string at even positions, a field at odd ones.
  return (item) => parts.map((p, i) => (i % 2 === 1 ? FIELDS[p as Field](item) : p)).join('');
}
