/** `itemvec similar ITEM_ID`: an item's neighbours, each signal's score beside the fused one. */
import { type Command, Option } from 'commander';
import { queryOptions, retrieveOptions } from '../../retrieve/options.js';
import { type RetrievalMode, similar } from '../../retrieve/similar.js';
import { getCatalogItem } from '../../store/embeddings.js';
import { print, withDb } from '../common.js';
import { formatCandidates } from '../format.js';
import type { CliIO } from '../io.js';
import { type CommonOptions, configFrom, positiveInt, withCommon } from '../options.js';

export function addSimilarCommand(program: Command, io: CliIO): void {
  withCommon(program.command('similar'))
    .description("print the items most similar to ITEM_ID: dense, lexical and tag evidence fused, with each one's score")
    .argument('<item_id>', 'the item to find neighbours for')
    .option('--k <n>', 'how many neighbours', positiveInt('--k'), 10)
    .option('--version <name>', 'embedding version (default: BLEND_EMBEDDING_VERSION, then the active version)')
    .addOption(new Option('--modality <m>', 'text or image').choices(['text', 'image']).default('text'))
    .addOption(new Option('--mode <mode>', 'fused, or one signal alone').choices(['fused', 'dense', 'lexical', 'tags']).default('fused'))
    .addHelpText(
      'after',
      `
Scores: dense = cosine similarity, lexical = BM25 of the item's terms, tags = tag overlap; the list is
ranked by their weighted reciprocal rank fusion (retrieve.fusion, ITEMVEC_FUSION).

Examples:
  itemvec similar sku-00001
  itemvec similar sku-00402 --k 5 --version v2 --json
  itemvec similar sku-00001 --mode lexical`,
    )
    .action(async (itemId: string, opts: CommonOptions & { k: number; modality: 'text' | 'image'; mode: RetrievalMode }) => {
      // --mode here is the retrieval mode; configFrom would read it as run --mode.
      const config = configFrom({ ...opts, mode: undefined }, io.env);
      await withDb(config, async (db) => {
        const result = await similar(db, {
          orgId: config.orgId,
          namespace: config.namespace,
          itemId,
          k: opts.k,
          modality: opts.modality,
          version: opts.version,
          mode: opts.mode,
          ...queryOptions(retrieveOptions(config.retrieve), config.namespace),
        });
        const self = opts.json ? null : await getCatalogItem(db, config.orgId, config.namespace, itemId);
        const describe = self ? ` (${[self.title, self.brand, self.category].filter(Boolean).join(' · ')})` : '';
        print(
          io,
          opts.json,
          { item_id: itemId, version: result.version.version, mode: result.mode, fusion: result.fusion, candidates: result.candidates },
          () => formatCandidates(`Similar to ${itemId}${describe} — version ${result.version.version}, ${result.mode}`, result.candidates),
        );
      });
    });
}
