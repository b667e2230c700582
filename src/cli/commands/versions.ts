/** `itemvec versions list | create | activate | rollback | retire | delete`: the version lifecycle. */
import { type Command, Option } from 'commander';
import type { Config } from '../../config.js';
import { createProvider } from '../../embed/index.js';
import { openConfiguredObjectStore } from '../../objects/open.js';
import { purgeVersionObjects } from '../../objects/parquet.js';
import { activateVersion, createVersion, deleteVersion, listVersions, retireVersion, rollbackVersion } from '../../store/versions.js';
import { print, withDb } from '../common.js';
import { formatVersions } from '../format.js';
import type { CliIO } from '../io.js';
import { type CommonOptions, configFrom, EXIT_CODES, type ProviderFlags, storageOption, withCommon, withProvider } from '../options.js';

type Modality = 'text' | 'image';

const keyOf = (config: Config, version: string, modality: Modality) => ({ orgId: config.orgId, namespace: config.namespace, modality, version });

export function addVersionsCommand(program: Command, io: CliIO): void {
  const versions = program.command('versions').description('embedding versions: several live side by side; one per namespace is active');
  withCommon(versions.command('list'))
    .description('list embedding versions: status, rows, coverage of the catalog, size on disk')
    .addHelpText('after', '\nExamples:\n  itemvec versions list\n  itemvec versions list --namespace electronics --json')
    .action(async (opts: CommonOptions) => {
      const config = configFrom(opts, io.env);
      await withDb(config, async (db) => {
        const list = (await listVersions(db, config.orgId)).filter((v) => !opts.namespace || v.namespace === opts.namespace);
        print(io, opts.json, list, () => formatVersions(list));
      });
    });

  const lifecycle = (name: string, description: string, examples: string) =>
    withCommon(versions.command(name))
      .description(description)
      .addOption(new Option('--modality <m>', 'text or image').choices(['text', 'image']).default('text'))
      .addHelpText('after', `\nExamples:\n${examples}\n${EXIT_CODES}`);

  withProvider(
    lifecycle(
      'create',
      'register a version (provider, model, dims, prompt template, vector storage) without embedding anything yet',
      '  itemvec versions create v2 --provider openai --model text-embedding-3-large --dims 1024\n' +
        '  itemvec versions create v3 --namespace electronics --provider onnx\n' +
        '  itemvec versions create v4 --provider openai --model text-embedding-3-large --storage halfvec',
    ),
  )
    .addOption(storageOption())
    .argument('<version>', 'the version name, e.g. v2')
    .action(async (version: string, opts: CommonOptions & ProviderFlags & { modality: Modality; storage?: 'vector' | 'halfvec' }) => {
      const config = configFrom({ ...opts, version }, io.env);
      // The provider is opened only to learn its model name and dims (no request is sent).
      const provider = await createProvider(config.embed.provider, { ...config.embed, apiKey: config.embed.apiKey ?? 'not-used' });
      try {
        await withDb(config, async (db) => {
          const v = await createVersion(db, {
            ...keyOf(config, config.version, opts.modality),
            provider: provider.name,
            model: provider.model,
            dims: provider.dims,
            promptTemplate: config.prompt.template,
            textSearchConfig: config.prompt.textSearchConfig,
            storage: config.embed.storage,
          });
          print(
            io,
            opts.json,
            v,
            () => `version ${v.version} of ${v.namespace} (${v.modality}): ${v.provider}/${v.model}, ${v.dims}-d ${v.storage}, ${v.status}`,
          );
        });
      } finally {
        await provider.close();
      }
    });

  lifecycle(
    'activate',
    'serve this version for its namespace from now on (atomic; the previous one is kept for rollback)',
    '  itemvec versions activate v2\n  itemvec versions activate v3 --namespace electronics',
  )
    .argument('<version>', 'the version to serve')
    .action(async (version: string, opts: CommonOptions & { modality: Modality }) => {
      const config = configFrom(opts, io.env);
      await withDb(config, async (db) => {
        const r = await activateVersion(db, keyOf(config, version, opts.modality));
        print(io, opts.json, r, () => `${config.namespace} (${opts.modality}): ${r.previous ? `${r.previous.version} → ` : ''}${r.activated.version} active`);
      });
    });

  lifecycle(
    'rollback',
    'serve again the version that was active before the current one',
    '  itemvec versions rollback\n  itemvec versions rollback --namespace electronics --json',
  ).action(async (opts: CommonOptions & { modality: Modality }) => {
    const config = configFrom(opts, io.env);
    await withDb(config, async (db) => {
      const r = await rollbackVersion(db, { orgId: config.orgId, namespace: config.namespace, modality: opts.modality });
      print(io, opts.json, r, () => `${config.namespace} (${opts.modality}): rolled back ${r.previous?.version ?? '(none)'} → ${r.activated.version}`);
    });
  });

  lifecycle('retire', 'never serve this version again; its rows stay until delete', '  itemvec versions retire v1')
    .argument('<version>', 'an inactive version')
    .action(async (version: string, opts: CommonOptions & { modality: Modality }) => {
      const config = configFrom(opts, io.env);
      await withDb(config, async (db) => {
        const v = await retireVersion(db, keyOf(config, version, opts.modality));
        print(io, opts.json, v, () => `version ${v.version} of ${v.namespace} (${v.modality}) retired`);
      });
    });

  lifecycle(
    'delete',
    'delete an inactive version: its rows, dead letters, index and, with --purge-objects, its Parquet files',
    '  itemvec versions delete v1\n  itemvec versions delete v1 --purge-objects',
  )
    .argument('<version>', 'an inactive or retired version')
    .option('--purge-objects', 'also delete its Parquet files from object storage')
    .action(async (version: string, opts: CommonOptions & { modality: Modality; purgeObjects?: boolean }) => {
      const config = configFrom(opts, io.env);
      await withDb(config, async (db) => {
        const key = keyOf(config, version, opts.modality);
        const r = await deleteVersion(db, key);
        const purged = opts.purgeObjects ? await purgeVersionObjects(openConfiguredObjectStore(config), key) : null;
        print(
          io,
          opts.json,
          { ...r, objects_deleted: purged },
          () =>
            `version ${version} of ${config.namespace} (${opts.modality}) deleted: ${r.rows} rows${r.indexDropped ? ', its index' : ''}${purged !== null ? `, ${purged} Parquet files` : ''}`,
        );
      });
    });
}
