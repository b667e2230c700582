/** `itemvec run`: embed a catalog's new and changed items in this process. */
import { type Command, Option } from 'commander';
import { ExitCode } from '../../errors.js';
import { runMetrics } from '../../metrics.js';
import { pushRunMetrics, reportRunEnd, reportRunFailed } from '../../orchestrate/outcome.js';
import { runEmbeddingJob } from '../../pipeline/run.js';
import { cliLogger, print } from '../common.js';
import { formatSummary } from '../format.js';
import type { CliIO } from '../io.js';
import {
  type CommonOptions,
  configFrom,
  EXIT_CODES,
  type ImageFlags,
  type ProviderFlags,
  type SourceFlags,
  sampleOption,
  sourceFromFlags,
  storageOption,
  withCommon,
  withProvider,
} from '../options.js';
import { createProgressReporter } from '../progress.js';

type RunFlags = CommonOptions &
  ProviderFlags &
  ImageFlags &
  SourceFlags & {
    index: boolean;
    progress: boolean;
    dryRun?: boolean;
    mode?: 'sync' | 'batch';
    wait: boolean;
    trigger: string;
    storage?: 'vector' | 'halfvec';
  };

export function addRunCommand(program: Command, io: CliIO): void {
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
    .addOption(storageOption())
    .addOption(new Option('--modality <m>', 'text: embed the prompt; image: fetch and embed image_url (weekly job)').choices(['text', 'image']))
    .option(
      '--image-model-dir <dir>',
      'with --modality image: a CLIP-style model folder (ONNX); default: MobileNetV2 from nsfwjs (also ITEMVEC_IMAGE_MODEL_DIR)',
    )
    .option('--trigger <name>', "recorded in the run's row (itemvec runs list), e.g. airflow", 'cli')
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
  OPENAI_API_KEY=… itemvec run --catalog items.csv --provider openai --model text-embedding-3-large --version v4 --storage halfvec
  itemvec run --catalog items.csv --provider openai --version v3 --dry-run      # cost before spending it
  OPENAI_API_KEY=… itemvec run --catalog items.csv --provider openai --tpm 1000000 --concurrency 10
  OPENAI_API_KEY=… itemvec run --catalog all.jsonl --provider openai --version v3 --mode batch   # backfill at half price
  itemvec run --catalog items.jsonl --modality image                          # image vectors (MobileNetV2, 1280-d)
  itemvec run --catalog items.jsonl --modality image --image-model-dir models/clip-vit-b32 --version img-clip
  ITEMVEC_IMAGE_ALLOW_HOSTS=cdn.internal:8080 itemvec run --catalog items.jsonl --modality image   # open one internal host
${EXIT_CODES}`,
    )
    .action(async (opts: RunFlags) => {
      const source = sourceFromFlags(opts);
      const config = configFrom(opts, io.env);
      // On a terminal the progress bar and summary say what info lines would; schedulers (no TTY) get them all.
      const logger = cliLogger(io);
      const progress = createProgressReporter(logger, opts.progress && !opts.json, {
        intervalSeconds: config.run.progressIntervalSeconds,
        tty: io.stderrIsTTY,
      });
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
      print(io, opts.json, summary, () => formatSummary(summary));
      if (summary.alert) io.exitCode = ExitCode.failureRate;
      await reportRunEnd(config, summary, logger, { namespace: config.namespace });
      if (!summary.dry_run) await pushRunMetrics(config, logger);
    });
}
