/**
 * Label leaks: category agreement scores whether neighbours share the query's category, so a system
 * that reads the category in the embedded text is partly scored on reading its own label. Two
 * checks: the version's prompt template names {category}, or the category's words stand in the
 * item's own text (a title such as "… Cycling Shorts" in category "Shorts").
 */
import type { VersionRecord } from '../store/versions.js';

export interface LeakRow {
  category: string;
  title: string | null;
  brand: string;
  description: string;
  tags: string[];
}

/** Lower case, words only, padded, so a phrase matches on word boundaries: ` hiking boots ` in ` … hiking boots … `. */
const words = (s: string) =>
  ` ${s
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()} `;

/** The leaf of a category path: `Footwear > Hiking Boots` → `Hiking Boots`. */
const leaf = (category: string) => category.split('>').pop()!.trim();

export function templateLeaks(v: Pick<VersionRecord, 'promptTemplate'>): boolean {
  return v.promptTemplate.includes('{category}');
}

/** Share of rows (with a category) whose category leaf appears, as whole words, in their title, brand, description or tags. */
export function textLeakShare(rows: readonly LeakRow[]): number {
  const labelled = rows.filter((r) => words(leaf(r.category)).trim() !== '');
  if (labelled.length === 0) return 0;
  const leaking = labelled.filter((r) => words([r.title ?? '', r.brand, r.description, ...r.tags].join(' ')).includes(words(leaf(r.category))));
  return leaking.length / labelled.length;
}
