#!/usr/bin/env node
/**
 * The `itemvec` command line: a thin layer over the library (src/index.ts). Every command prints
 * human-readable text, or one JSON object with --json; logs go to stderr as JSON lines.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { loadConfig, type ConfigInput } from '../config.js';
import { createProvider } from '../embed/index.js';
import { ExitCode, ItemvecError, errorMessage } from '../errors.js';
import { retryFailures } from '../pipeline/retry-failures.js';
import { runEmbeddingJob } from '../pipeline/run.js';
import { queryOptions, retrieveOptions } from '../retrieve/options.js';
import { resolveVersion } from '../retrieve/version.js';
import { search, similar, type RetrievalMode } from '../retrieve/similar.js';
import { openConfiguredDb } from '../store/db.js';
import { getCatalogItem } from '../store/embeddings.js';
import { listFailures, type FailureStage } from '../store/failures.js';
import { migrate } from '../store/migrations.js';
import { activateVersion, createVersion, deleteVersion, listVersions, retireVersion, rollbackVersion } from '../store/versions.js';
import { openConfiguredObjectStore } from '../objects/open.js';
import { purgeVersionObjects } from '../objects/parquet.js';
import { parseSample } from '../pipeline/sample.js';
import { cliLogger, print, withDb } from './common.js';
import { formatCandidates, formatFailures, formatRetries, formatSummary, formatVersions } from './format.js';
import { runMetrics } from '../metrics.js';
import { pushRunMetrics, reportRunEnd, reportRunFailed } from '../orchestrate/outcome.js';
import { addOpsCommands, sourceFromFlags } from './ops.js';
import { addEvalCommand } from './eval.js';
import { createProgressReporter } from './progress.js';
import { addServeCommands } from './serve.js';

const EXIT_CODES = `
Exit codes:
  0  success                       4  database (connection, migration, pgvector missing)
  1  unexpected error              5  embedding provider (auth, quota, model)
  2  usage, configuration, or not found
  3  catalog source unreadable     6  run finished with failure rate above the alert threshold
                                   7  object storage
                                   8  distributed run failed (a shard or its close job out of retries)`;

const ENVIRONMENT = `
Environment:
  ITEMVEC_HOME          data folder for the embedded database and objects (default ./.itemvec)
  ITEMVEC_WAIT_LOCK     seconds to wait for another process holding the embedded database (default 0)
  DATABASE_URL          postgres://… server with pgvector ≥ 0.8 (default: embedded PGlite)
  ITEMVEC_PROVIDER      local | openai | onnx          ITEMVEC_MODEL, ITEMVEC_DIMS
  OPENAI_API_KEY        key for --provider openai      OPENAI_BASE_URL  any OpenAI-compatible server
  ITEMVEC_TPM, ITEMVEC_RPM  caps per minute       ITEMVEC_MAX_RETRIES (default 6), ITEMVEC_TIMEOUT_MS (per attempt)
  ITEMVEC_LOCAL_MODEL_DIR  model folder for --provider onnx (or a vendored USE model for local)
  ITEMVEC_OBJECTS_URL   file:///dir or s3://bucket/prefix    ITEMVEC_S3_ENDPOINT  MinIO/R2 endpoint
  ITEMVEC_ORG_ID, ITEMVEC_NAMESPACE, ITEMVEC_VERSION, ITEMVEC_PROMPT_TEMPLATE, ITEMVEC_CONFIG
  BLEND_EMBEDDING_VERSION  version per namespace for reads: "v3" or "default=v2,electronics=v3"
  ITEMVEC_FUSION        fusion of dense, lexical and tag evidence: "dense=1,lexical=3,tags=0.5,rrfK=60"
  ITEMVEC_EF_SEARCH     HNSW candidate list per query   ITEMVEC_TEXT_SEARCH_CONFIG  lexical analyser of new versions (english)
  ITEMVEC_MAX_TOKENS_PER_ITEM  the most tokens one item may cost (default 32768)
  ITEMVEC_TOO_LONG             a longer prompt: dead-letter (default) or truncate
  ITEMVEC_INVALID_TEXT         NUL or broken Unicode in a row's text: reject (default) or clean
  ITEMVEC_HOST, ITEMVEC_PORT, ITEMVEC_API_KEYS  itemvec serve (see itemvec serve --help)
  ITEMVEC_IMAGE_PROVIDER mobilenet | clip    ITEMVEC_IMAGE_MODEL_DIR  CLIP folder    ITEMVEC_IMAGE_TIMEOUT_MS, ITEMVEC_IMAGE_MAX_BYTES
  ITEMVEC_IMAGE_ALLOW_HOSTS  internal hosts image fetches may reach: "cdn.internal,10.0.0.5:8080"
  ITEMVEC_QUEUE_URL     pg-boss queue of the distributed mode (default: DATABASE_URL, else embedded)   ITEMVEC_SHARDS (default 16)
  ITEMVEC_TEXT_CRON, ITEMVEC_IMAGE_CRON, ITEMVEC_SCHEDULE_TZ  itemvec schedule (default "0 2 * * *", "0 3 * * 0", UTC)
  ITEMVEC_ALERT_WEBHOOK Slack-compatible webhook for failure-rate alerts (a secret: never logged)
  ITEMVEC_PUSHGATEWAY_URL  Prometheus Pushgateway for one-shot runs   ITEMVEC_METRICS_HOST, ITEMVEC_METRICS_PORT  worker /metrics
  ITEMVEC_PROGRESS_INTERVAL  seconds between progress log lines when stderr is not a terminal (default 10)
  ITEMVEC_LOG_LEVEL     debug | info | warn | error (default info; warn on a terminal)`;

interface CommonOptions {
  config?: string;
  home?: string;
  waitLock?: number;
  org?: string;
  namespace?: string;
  version?: string;
  json?: boolean;
}

interface ProviderFlags {
  provider?: 'local' | 'openai' | 'onnx';
  model?: string;
  dims?: number;
  baseUrl?: string;
  concurrency?: number;
  tpm?: number;
  rpm?: number;
}

interface ImageFlags {
  modality?: 'text' | 'image';
  imageModelDir?: string;
}

const sampleOption = (value: string) => {
  try {
    return parseSample(value);
  } catch (err) {
    throw new InvalidArgumentError(errorMessage(err));
  }
};

const nonNegative = (name: string) => (value: string) => {
  const n = Number(value);
  if (!(n >= 0)) throw new InvalidArgumentError(`${name} must be a number of seconds ≥ 0`);
  return n;
};

const positiveInt = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
  return n;
};

function withCommon(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'JSON config file (also ITEMVEC_CONFIG)')
    .option('--home <dir>', 'data folder (also ITEMVEC_HOME)')
    .option('--org <uuid>', 'organisation id (also ITEMVEC_ORG_ID)')
    .option('--namespace <name>', 'namespace (also ITEMVEC_NAMESPACE; default "default")')
    .option('--wait-lock <seconds>', 'embedded database: wait this long for another itemvec process to finish (also ITEMVEC_WAIT_LOCK; default 0: exit 4)', nonNegative('--wait-lock'))
    .option('--json', 'print one JSON object instead of text');
}

function withProvider(cmd: Command): Command {
  return cmd
    .addOption(new Option('--provider <name>', 'embedding provider (also ITEMVEC_PROVIDER)').choices(['local', 'openai', 'onnx']))
    .option('--model <name>', 'model name (also ITEMVEC_MODEL)')
    .option('--dims <n>', 'vector size, e.g. 1024 to shorten text-embedding-3-large (also ITEMVEC_DIMS)', positiveInt('--dims'))
    .option('--base-url <url>', 'OpenAI-compatible server URL (also OPENAI_BASE_URL)')
    .option('--concurrency <n>', 'requests in flight (default 10 for openai)', positiveInt('--concurrency'))
    .option('--tpm <n>', 'cap on tokens per minute, below the API\'s own limit (also ITEMVEC_TPM)', positiveInt('--tpm'))
    .option('--rpm <n>', 'cap on requests per minute (also ITEMVEC_RPM)', positiveInt('--rpm'));
}

function configFrom(opts: CommonOptions & ProviderFlags & ImageFlags & { index?: boolean; mode?: 'sync' | 'batch'; wait?: boolean; sample?: number; cache?: boolean }) {
  const overrides: ConfigInput = {
    home: opts.home,
    lockWaitSeconds: opts.waitLock,
    modality: opts.modality,
    // A model folder means the CLIP provider: the default (mobilenet) ships inside nsfwjs and takes none.
    images: opts.imageModelDir ? { provider: 'clip', modelDir: opts.imageModelDir } : {},
    orgId: opts.org,
    namespace: opts.namespace,
    version: opts.version,
    embed: { provider: opts.provider, model: opts.model, dims: opts.dims, baseURL: opts.baseUrl, concurrency: opts.concurrency, tpm: opts.tpm, rpm: opts.rpm },
    run: {
      ...(opts.index === false ? { createIndex: false } : {}),
      ...(opts.mode ? { mode: opts.mode } : {}),
      ...(opts.sample !== undefined ? { sample: opts.sample } : {}),
      ...(opts.cache === false ? { cache: false } : {}),
    },
    batch: opts.wait === false ? { wait: false } : {},
  };
  return loadConfig({ file: opts.config, overrides });
}

/** The flags configFrom reads, for command files that receive it (src/cli/ops.ts). */
export type ConfigFlags = Parameters<typeof configFrom>[0];

export function buildProgram(): Command {
  const program = new Command('itemvec')
    .description('Turn a retail catalog into embeddings in Postgres + pgvector and find similar items.')
    .version('0.1.0')
    // Program options only before the command: `itemvec run --version v2` is the run's --version, not this one.
    .enablePositionalOptions()
    .showHelpAfterError()
    // Throw instead of exiting so bad flags get exit code 2 like every other usage error (inherited by subcommands).
    .exitOverride()
    .addHelpText('after', `${ENVIRONMENT}\n${EXIT_CODES}`);

  withProvider(withCommon(program.command('run')))
    .description('generate_product_embeddings: embed new or changed catalog items and load them')
    .option('--catalog <file>', 'catalog file: .jsonl/.ndjson, .csv or .parquet')
    .option('--source <url>', 'postgres:// URL of a staging database (with --table)')
    .option('--table <name>', 'staging table, e.g. analytics.catalog_features_raw')
    .option('--version <name>', 'embedding version to write (also ITEMVEC_VERSION; default v1)')
    .option('--no-index', 'do not create the HNSW index after loading')
    .option('--no-progress', 'no progress bar or progress log lines')
    .option('--dry-run', 'print items to embed, tokens, requests and cost; call no model, write nothing')
    .addOption(new Option('--mode <mode>', 'sync: embeddings endpoint; batch: OpenAI Batch API, half price, resumable').choices(['sync', 'batch']))
    .option('--no-wait', 'with --mode batch: submit and exit; a later run collects the results')
    .option('--sample <percent>', 'staged rollout: only items whose stable hash falls in this share, e.g. 5%, later 25%', sampleOption)
    .option('--no-cache', 'embed changed items even when the same model already embedded the same prompt elsewhere in the org')
    .addOption(new Option('--modality <m>', 'text: embed the prompt; image: fetch and embed image_url (weekly job)').choices(['text', 'image']))
    .option('--image-model-dir <dir>', 'with --modality image: a CLIP-style model folder (ONNX); default: MobileNetV2 from nsfwjs (also ITEMVEC_IMAGE_MODEL_DIR)')
    .option('--trigger <name>', 'recorded in the run\'s row (itemvec runs list), e.g. airflow', 'cli')
    .addHelpText(
      'after',
      `
Above the failure-rate threshold (run.alertFailureRate, default 5%) the run exits 6, logs an error line
and POSTs a Slack-compatible message to ITEMVEC_ALERT_WEBHOOK when set. With ITEMVEC_PUSHGATEWAY_URL
its metrics are pushed to that Prometheus Pushgateway when it ends.

Examples:
  itemvec run --catalog samples/catalog.jsonl
  itemvec run --catalog items.parquet --namespace electronics --version v2 --json
  itemvec run --source postgres://etl@warehouse/analytics --table analytics.catalog_features_raw
  OPENAI_API_KEY=… itemvec run --catalog items.csv --provider openai --model text-embedding-3-large --version v3
  itemvec run --catalog items.csv --provider openai --version v3 --dry-run      # cost before spending it
  OPENAI_API_KEY=… itemvec run --catalog items.csv --provider openai --tpm 1000000 --concurrency 10
  OPENAI_API_KEY=… itemvec run --catalog all.jsonl --provider openai --version v3 --mode batch   # backfill at half price
  itemvec run --catalog items.jsonl --modality image                          # image vectors (MobileNetV2, 1280-d)
  itemvec run --catalog items.jsonl --modality image --image-model-dir models/clip-vit-b32 --version img-clip
  ITEMVEC_IMAGE_ALLOW_HOSTS=cdn.internal:8080 itemvec run --catalog items.jsonl --modality image   # open one internal host
${EXIT_CODES}`,
    )
    .action(async (opts: CommonOptions & ProviderFlags & ImageFlags & { catalog?: string; source?: string; table?: string; index: boolean; progress: boolean; dryRun?: boolean; mode?: 'sync' | 'batch'; wait: boolean; trigger: string }) => {
      const source = sourceFromFlags(opts);
      const config = configFrom(opts);
      // On a terminal the progress bar and summary say what info lines would; schedulers (no TTY) get them all.
      const logger = cliLogger();
      const progress = createProgressReporter(logger, opts.progress && !opts.json, { intervalSeconds: config.run.progressIntervalSeconds });
      const summary = await runEmbeddingJob({
        config,
        source,
        logger,
        dryRun: opts.dryRun,
        trigger: opts.trigger,
        metrics: runMetrics(config.modality),
        onProgress: (p) => progress.update(p),
      })
        .catch(async (err: unknown) => {
          // A Pushgateway keeps the last push: without this one it would go on showing the previous run.
          if (!opts.dryRun) await reportRunFailed(config, logger);
          throw err;
        })
        .finally(() => progress.stop());
      print(opts.json, summary, () => formatSummary(summary));
      if (summary.alert) process.exitCode = ExitCode.failureRate;
      await reportRunEnd(config, summary, logger, { namespace: config.namespace });
      if (!summary.dry_run) await pushRunMetrics(config, logger);
    });

  withCommon(program.command('similar'))
    .description('print the items most similar to ITEM_ID: dense, lexical and tag evidence fused, with each one\'s score')
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
      const config = configFrom({ ...opts, mode: undefined });
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
        print(opts.json, { item_id: itemId, version: result.version.version, mode: result.mode, fusion: result.fusion, candidates: result.candidates }, () =>
          formatCandidates(`Similar to ${itemId}${describe} — version ${result.version.version}, ${result.mode}`, result.candidates),
        );
      });
    });

  withProvider(withCommon(program.command('search')))
    .description('find items for TEXT: dense (embedded with the version\'s model) and lexical (BM25) evidence fused')
    .argument('<text>', 'free text, e.g. "waterproof hiking boots"')
    .option('--k <n>', 'how many results', positiveInt('--k'), 10)
    .addOption(new Option('--mode <mode>', 'fused, or one signal alone (lexical needs no model)').choices(['fused', 'dense', 'lexical']).default('fused'))
    .option('--version <name>', 'embedding version (default: BLEND_EMBEDDING_VERSION, then the active version)')
    .addOption(new Option('--modality <m>', 'text: search text vectors; image: search image vectors with a CLIP text tower').choices(['text', 'image']).default('text'))
    .option('--image-model-dir <dir>', 'with --modality image: the CLIP model folder the image version was embedded with (also ITEMVEC_IMAGE_MODEL_DIR)')
    .addHelpText(
      'after',
      '\nExamples:\n  itemvec search "waterproof hiking boots"\n  itemvec search "espresso machine" --k 3 --json\n  itemvec search "analog watch for women" --mode lexical\n' +
        '  itemvec search "red shoes" --modality image --image-model-dir models/clip-vit-b32',
    )
    .action(async (text: string, opts: CommonOptions & ProviderFlags & ImageFlags & { k: number; mode: Exclude<RetrievalMode, 'tags'> }) => {
      const config = configFrom({ ...opts, mode: undefined });
      if (opts.modality === 'image') {
        await withDb(config, async (db) => {
          const retrieve = retrieveOptions(config.retrieve);
          const version = await resolveVersion(db, { orgId: config.orgId, namespace: config.namespace, modality: 'image', version: opts.version, blend: retrieve.blend });
          // Imported here: a text search never loads onnxruntime for images.
          const { imageProviderForTextSearch, imageQueryVector } = await import('../embed/image-text-query.js');
          const provider = await imageProviderForTextSearch(version, config.images.modelDir);
          try {
            const vector = await imageQueryVector(provider, version, text);
            const result = await search(db, { orgId: config.orgId, namespace: config.namespace, modality: 'image', vector, k: opts.k, version: version.version, ...queryOptions(retrieve, config.namespace) });
            print(opts.json, { query: text, modality: 'image', version: result.version.version, candidates: result.candidates }, () =>
              formatCandidates(`Images nearest to "${text}" — version ${result.version.version}`, result.candidates),
            );
          } finally {
            await provider.close();
          }
        });
        return;
      }
      // Lexical evidence needs no model: only a mode with dense evidence loads one.
      const provider = opts.mode === 'lexical' ? undefined : await createProvider(config.embed.provider, { ...config.embed });
      try {
        await withDb(config, async (db) => {
          const result = await search(db, {
            orgId: config.orgId,
            namespace: config.namespace,
            text,
            provider,
            k: opts.k,
            version: opts.version,
            mode: opts.mode,
            ...queryOptions(retrieveOptions(config.retrieve), config.namespace),
          });
          print(opts.json, { query: text, version: result.version.version, mode: result.mode, fusion: result.fusion, candidates: result.candidates }, () =>
            formatCandidates(`Items for "${text}" — version ${result.version.version}, ${result.mode}`, result.candidates),
          );
        });
      } finally {
        await provider?.close();
      }
    });

  const versions = program.command('versions').description('embedding versions: several live side by side; one per namespace is active');
  withCommon(versions.command('list'))
    .description('list embedding versions: status, rows, coverage of the catalog, size on disk')
    .addHelpText('after', '\nExamples:\n  itemvec versions list\n  itemvec versions list --namespace electronics --json')
    .action(async (opts: CommonOptions) => {
      const config = configFrom(opts);
      await withDb(config, async (db) => {
        const list = (await listVersions(db, config.orgId)).filter((v) => !opts.namespace || v.namespace === opts.namespace);
        print(opts.json, list, () => formatVersions(list));
      });
    });

  const lifecycle = (name: string, description: string, examples: string) =>
    withCommon(versions.command(name))
      .description(description)
      .addOption(new Option('--modality <m>', 'text or image').choices(['text', 'image']).default('text'))
      .addHelpText('after', `\nExamples:\n${examples}\n${EXIT_CODES}`);
  const keyOf = (config: ReturnType<typeof configFrom>, version: string, modality: 'text' | 'image') => ({ orgId: config.orgId, namespace: config.namespace, modality, version });

  withProvider(lifecycle('create', 'register a version (provider, model, dims, prompt template) without embedding anything yet', '  itemvec versions create v2 --provider openai --model text-embedding-3-large --dims 1024\n  itemvec versions create v3 --namespace electronics --provider onnx'))
    .argument('<version>', 'the version name, e.g. v2')
    .action(async (version: string, opts: CommonOptions & ProviderFlags & { modality: 'text' | 'image' }) => {
      const config = configFrom({ ...opts, version });
      // The provider is opened only to learn its model name and dims (no request is sent).
      const provider = await createProvider(config.embed.provider, { ...config.embed, apiKey: config.embed.apiKey ?? 'not-used' });
      try {
        await withDb(config, async (db) => {
          const v = await createVersion(db, { ...keyOf(config, config.version, opts.modality), provider: provider.name, model: provider.model, dims: provider.dims, promptTemplate: config.prompt.template, textSearchConfig: config.prompt.textSearchConfig });
          print(opts.json, v, () => `version ${v.version} of ${v.namespace} (${v.modality}): ${v.provider}/${v.model}, ${v.dims}-d, ${v.status}`);
        });
      } finally {
        await provider.close();
      }
    });

  lifecycle('activate', 'serve this version for its namespace from now on (atomic; the previous one is kept for rollback)', '  itemvec versions activate v2\n  itemvec versions activate v3 --namespace electronics')
    .argument('<version>', 'the version to serve')
    .action(async (version: string, opts: CommonOptions & { modality: 'text' | 'image' }) => {
      const config = configFrom(opts);
      await withDb(config, async (db) => {
        const r = await activateVersion(db, keyOf(config, version, opts.modality));
        print(opts.json, r, () => `${config.namespace} (${opts.modality}): ${r.previous ? `${r.previous.version} → ` : ''}${r.activated.version} active`);
      });
    });

  lifecycle('rollback', 'serve again the version that was active before the current one', '  itemvec versions rollback\n  itemvec versions rollback --namespace electronics --json')
    .action(async (opts: CommonOptions & { modality: 'text' | 'image' }) => {
      const config = configFrom(opts);
      await withDb(config, async (db) => {
        const r = await rollbackVersion(db, { orgId: config.orgId, namespace: config.namespace, modality: opts.modality });
        print(opts.json, r, () => `${config.namespace} (${opts.modality}): rolled back ${r.previous?.version ?? '(none)'} → ${r.activated.version}`);
      });
    });

  lifecycle('retire', 'never serve this version again; its rows stay until delete', '  itemvec versions retire v1')
    .argument('<version>', 'an inactive version')
    .action(async (version: string, opts: CommonOptions & { modality: 'text' | 'image' }) => {
      const config = configFrom(opts);
      await withDb(config, async (db) => {
        const v = await retireVersion(db, keyOf(config, version, opts.modality));
        print(opts.json, v, () => `version ${v.version} of ${v.namespace} (${v.modality}) retired`);
      });
    });

  lifecycle('delete', 'delete an inactive version: its rows, dead letters, index and, with --purge-objects, its Parquet files', '  itemvec versions delete v1\n  itemvec versions delete v1 --purge-objects')
    .argument('<version>', 'an inactive or retired version')
    .option('--purge-objects', 'also delete its Parquet files from object storage')
    .action(async (version: string, opts: CommonOptions & { modality: 'text' | 'image'; purgeObjects?: boolean }) => {
      const config = configFrom(opts);
      await withDb(config, async (db) => {
        const key = keyOf(config, version, opts.modality);
        const r = await deleteVersion(db, key);
        const purged = opts.purgeObjects ? await purgeVersionObjects(openConfiguredObjectStore(config), key) : null;
        print(opts.json, { ...r, objects_deleted: purged }, () =>
          `version ${version} of ${config.namespace} (${opts.modality}) deleted: ${r.rows} rows${r.indexDropped ? ', its index' : ''}${purged !== null ? `, ${purged} Parquet files` : ''}`,
        );
      });
    });

  const failures = program.command('failures').description('rows and items a run could not embed (dead letters)');
  withCommon(failures.command('list'))
    .description('list recorded failures, newest first: which item or row, which field, why')
    .option('--run <run_id>', 'only failures last seen in this run')
    .option('--version <name>', 'only this version')
    .option('--limit <n>', 'at most this many', positiveInt('--limit'), 100)
    .addHelpText('after', '\nExamples:\n  itemvec failures list\n  itemvec failures list --run 1b4e… --json')
    .action(async (opts: CommonOptions & { run?: string; limit: number }) => {
      const config = configFrom(opts);
      await withDb(config, async (db) => {
        const list = await listFailures(db, { orgId: config.orgId, namespace: opts.namespace, version: opts.version, runId: opts.run, limit: opts.limit });
        print(opts.json, list, () => formatFailures(list));
      });
    });

  withCommon(failures.command('retry'))
    .description('replay recorded failures with the settings of the version they failed in; resolved ones are removed')
    .option('--run <run_id>', 'only failures last seen in this run')
    .option('--version <name>', 'only this version')
    .addOption(new Option('--stage <stage>', 'only failures of this stage').choices(['extract', 'transform', 'embed', 'load']))
    .option('--dry-run', 'count what would be replayed; call no model, write nothing')
    .addHelpText('after', `
Examples:
  itemvec failures retry
  itemvec failures retry --stage embed --version v3 --json
  OPENAI_API_KEY=… itemvec failures retry --run 1b4e…
${EXIT_CODES}`)
    .action(async (opts: CommonOptions & { run?: string; stage?: FailureStage; dryRun?: boolean }) => {
      const config = configFrom(opts);
      const logger = cliLogger();
      await withDb(config, async (db) => {
        const results = await retryFailures({
          config,
          db,
          logger,
          dryRun: opts.dryRun,
          filter: { namespace: opts.namespace, version: opts.version, runId: opts.run, stage: opts.stage },
        });
        print(opts.json, results, () => formatRetries(results));
        if (results.some((r) => r.summary.alert)) process.exitCode = ExitCode.failureRate;
      });
    });

  withCommon(program.command('migrate'))
    .description('create or upgrade the schema (every command also does this at start)')
    .addHelpText('after', '\nExamples:\n  DATABASE_URL=postgres://app@db/catalog itemvec migrate')
    .action(async (opts: CommonOptions) => {
      const config = configFrom(opts);
      const db = await openConfiguredDb(config);
      try {
        const applied = await migrate(db);
        print(opts.json, { database: db.location, applied }, () => `schema up to date on ${db.location} (applied: ${applied.join(', ') || 'none'})`);
      } finally {
        await db.close();
      }
    });

  addServeCommands(program, EXIT_CODES);
  addOpsCommands(program, { exitCodes: EXIT_CODES, withCommon, withProvider, configFrom, sampleOption, positiveInt });
  addEvalCommand(program, { exitCodes: EXIT_CODES, withCommon, configFrom, positiveInt });

  return program;
}

export async function main(argv = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has already printed its message (or the help / version text).
      process.exitCode = err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    } else if (err instanceof ItemvecError) {
      process.stderr.write(`itemvec: ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(`itemvec: unexpected error: ${errorMessage(err)}\n${err instanceof Error && err.stack ? err.stack : ''}\n`);
      process.exitCode = ExitCode.unexpected;
    }
  }
}

await main();
