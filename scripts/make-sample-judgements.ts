/**
 * Builds samples/judgements.jsonl: graded relevance judgements for 20 free-text queries over the
 * sample catalog, so `itemvec eval --judgements` has a real example to run on.
 *
 * How they are made (no model involved, so they cannot favour one): each query names one leaf
 * category and one feature written the way the catalog's copy writes it. An item of that leaf
 * whose description has the feature phrase gets grade 2; every other item of the leaf grade 1;
 * items of other leaves are not judged (grade 0). Run it again for byte-identical output:
 *
 *   node --import tsx scripts/make-sample-judgements.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** [query text, leaf category, feature phrase as the descriptions write it] */
const QUERIES: Array<[string, string, RegExp]> = [
  ['hiking boots with a waterproof membrane', 'Footwear > Hiking Boots', /waterproof membrane/i],
  ['insulated boots for winter hikes', 'Footwear > Hiking Boots', /insulat|winter/i],
  ['running shoes with a rocker sole', 'Footwear > Running Shoes', /rocker/i],
  ['sandals with a cork footbed', 'Footwear > Sandals', /cork footbed/i],
  ['rain jacket that packs into its own pocket', 'Outerwear > Rain Jackets', /stuff sack|packable/i],
  ['dual boiler espresso machine', 'Kitchen > Espresso Machines', /dual boiler/i],
  ['cast iron frying pan', 'Kitchen > Frying Pans', /cast.iron/i],
  ['height adjustable standing desk', 'Home Furniture > Desks', /height.adjustable/i],
  ['wireless headphones with active noise cancelling', 'Electronics Audio > Wireless Headphones', /noise cancel/i],
  ['portable speaker you can take in the shower', 'Electronics Audio > Portable Speakers', /shower/i],
  ['laptop with an OLED screen', 'Computers > Laptops', /oled/i],
  ['quiet mouse with silent clicks', 'Computers > Computer Mice', /silent/i],
  ['fragrance-free moisturiser for sensitive skin', 'Beauty & Skincare > Face Moisturisers', /fragrance.free/i],
  ['mineral sunscreen', 'Beauty & Skincare > Sunscreen', /mineral/i],
  ['sleeping bag for cold nights below freezing', 'Camping & Outdoor > Sleeping Bags', /cold nights|-\d+°C/i],
  ['rechargeable headlamp', 'Camping & Outdoor > Headlamps', /recharg/i],
  ['coffee beans for cold brew', 'Grocery > Coffee Beans', /cold.brew/i],
  ['dark chocolate with sea salt', 'Grocery > Dark Chocolate', /sea.salt/i],
  ['cordless drill with a hammer mode', 'Tools > Cordless Drills', /hammer/i],
  ['board game you can play solo', 'Toys > Board Games', /solo/i],
];

interface Item {
  item_id: string;
  category: string;
  description: string;
}

const items = readFileSync(path.join(root, 'samples', 'catalog.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l) as Item);

const lines: string[] = [];
for (const [query, leaf, feature] of QUERIES) {
  const inLeaf = items.filter((i) => i.category === leaf);
  if (inLeaf.length === 0) throw new Error(`no item in ${leaf}`);
  const graded = inLeaf.map((i) => ({ item_id: i.item_id, grade: feature.test(i.description) ? 2 : 1 }));
  // Best first, then by id: easy to read, and stable.
  graded.sort((a, b) => b.grade - a.grade || (a.item_id < b.item_id ? -1 : 1));
  for (const g of graded) lines.push(JSON.stringify({ query, item_id: g.item_id, grade: g.grade }));
  console.log(
    `${String(graded.filter((g) => g.grade === 2).length).padStart(3)} × grade 2, ${String(graded.filter((g) => g.grade === 1).length).padStart(3)} × grade 1  ${query}`,
  );
}
writeFileSync(path.join(root, 'samples', 'judgements.jsonl'), `${lines.join('\n')}\n`);
console.log(`${lines.length} judgements for ${QUERIES.length} queries → samples/judgements.jsonl`);
