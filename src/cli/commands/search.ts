/** `itemvec search "TEXT"`: items for a text, its embedding fused with BM25 over its words. */
import { type Command, Option } from 'commander';
import { versionEmbedder } from '../../embed/version-embedder.js';
import { queryOptions, retrieveOptions } from '../../retrieve/options.js';
import { type RetrievalMode, search } from '../../retrieve/similar.js';
import { resolveVersion } from '../../retrieve/version.js';
import { print, withDb } from '../common.js';
import { formatCandidates } from '../format.js';
import type { CliIO } from '../io.js';
import { type CommonOptions, configFrom, type ImageFlags, type ProviderFlags, positiveInt, withCommon, withProvider } from '../options.js';

export function addSearchCommand(program: Command, io: CliIO): void {
  withProvider(withCommon(program.command('search')))
    .description("find items for TEXT: dense (embedded with the version's model) and lexical (BM25) evidence fused")
    .argument('<text>', 'free text, e.g. "waterproof hiking boots"')
    .option('--k <n>', 'how many results', positiveInt('--k'), 10)
    .addOption(new Option('--mode <mode>', 'fused, or one signal alone (lexical needs no model)').choices(['fused', 'dense', 'lexical']).default('fused'))
    .option('--version <name>', 'embedding version (default: BLEND_EMBEDDING_VERSION, then the active version)')
    .addOption(
      new Option('--modality <m>', 'text: search text vectors; image: search image vectors with a CLIP text tower').choices(['text', 'image']).default('text'),
    )
    .option('--image-model-dir <dir>', 'with --modality image: the CLIP model folder the image version was embedded with (also ITEMVEC_IMAGE_MODEL_DIR)')
    .addHelpText(
      'after',
      '\nExamples:\n  itemvec search "waterproof hiking boots"\n  itemvec search "espresso machine" --k 3 --json\n  itemvec search "analog watch for women" --mode lexical\n' +
        '  itemvec search "red shoes" --modality image --image-model-dir models/clip-vit-b32',
    )
    .action(async (text: string, opts: CommonOptions & ProviderFlags & ImageFlags & { k: number; mode: Exclude<RetrievalMode, 'tags'> }) => {
      const config = configFrom({ ...opts, mode: undefined }, io.env);
      if (opts.modality === 'image') {
        await withDb(config, async (db) => {
          const retrieve = retrieveOptions(config.retrieve);
          const version = await resolveVersion(db, {
            orgId: config.orgId,
            namespace: config.namespace,
            modality: 'image',
            version: opts.version,
            blend: retrieve.blend,
          });
          // Imported here: a text search never loads onnxruntime for images.
          const { imageProviderForTextSearch, imageQueryVector } = await import('../../embed/image-text-query.js');
          const provider = await imageProviderForTextSearch(version, config.images.modelDir);
          try {
            const vector = await imageQueryVector(provider, version, text);
            const result = await search(db, {
              orgId: config.orgId,
              namespace: config.namespace,
              modality: 'image',
              vector,
              k: opts.k,
              version: version.version,
              ...queryOptions(retrieve, config.namespace),
            });
            print(io, opts.json, { query: text, modality: 'image', version: result.version.version, candidates: result.candidates }, () =>
              formatCandidates(`Images nearest to "${text}" — version ${result.version.version}`, result.candidates),
            );
          } finally {
            await provider.close();
          }
        });
        return;
      }
      // Lexical evidence needs no model: only a mode with dense evidence loads one, the version's own.
      const embedder = opts.mode === 'lexical' ? undefined : versionEmbedder(config.embed);
      try {
        await withDb(config, async (db) => {
          const result = await search(db, {
            orgId: config.orgId,
            namespace: config.namespace,
            text,
            provider: embedder?.forVersion,
            k: opts.k,
            version: opts.version,
            mode: opts.mode,
            ...queryOptions(retrieveOptions(config.retrieve), config.namespace),
          });
          print(io, opts.json, { query: text, version: result.version.version, mode: result.mode, fusion: result.fusion, candidates: result.candidates }, () =>
            formatCandidates(`Items for "${text}" — version ${result.version.version}, ${result.mode}`, result.candidates),
          );
        });
      } finally {
        await embedder?.close();
      }
    });
}
