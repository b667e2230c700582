/** `itemvec eval`: offline retrieval evaluation of versions (dense, lexical, fused as served) against each other and tags alone (src/eval). */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { createVersionProvider } from '../../embed/version-embedder.js';
import { ConfigError } from '../../errors.js';
import { type JudgementSet, REVIEW_JUDGEMENTS, readJudgements, readReviewJudgements } from '../../eval/judgements.js';
import { runEval } from '../../eval/run.js';
import { fusionFor, retrieveOptions } from '../../retrieve/options.js';
import { cliLogger, print, withDb } from '../common.js';
import { formatEval } from '../format-eval.js';
import type { CliIO } from '../io.js';
import { type ConfigFlags, configFrom, EXIT_CODES, positiveInt, withCommon } from '../options.js';

interface EvalFlags {
  versions?: string;
  tags: boolean;
  category: boolean;
  tune?: boolean;
  tuneOut?: string;
  k: number;
  sample?: number;
  judgements?: string;
  baseUrl?: string;
  json?: boolean;
}

export function addEvalCommand(program: Command, io: CliIO): void {
  withCommon(program.command('eval'))
    .description('measure offline what each version retrieves: dense, lexical and fused (as served) side by side, and tags alone')
    .option('--versions <list>', 'comma-separated versions to compare, e.g. v1,v2 (default: the version reads use)')
    .option('--tags', 'include the tags-only retriever', true)
    .option('--no-tags', 'leave the tags-only retriever out')
    .option('--no-category', 'skip the category-agreement task (e.g. with --judgements only)')
    .option('--tune', 'search the fusion weights on half the category queries, report them on the other half, print the config that wins')
    .option('--tune-out <file>', 'with --tune: also write the winning config (retrieve.namespaces.<ns>.fusion) to this JSON file')
    .option('--k <n>', 'list length scored', positiveInt('--k'), 10)
    .option('--sample <n>', 'category task: a deterministic sample of N query items instead of all', positiveInt('--sample'))
    .option(
      '--judgements <file|review>',
      'relevance judgements: a file (.jsonl or .csv: query_item_id or query, item_id, grade), or "review" for the marks set in the review console (/ui)',
    )
    .option('--base-url <url>', 'OpenAI-compatible server for embedding text queries of openai versions (also OPENAI_BASE_URL)')
    .addHelpText(
      'after',
      `
Systems: per version, v/fused (as served: dense, lexical and tag evidence fused with the namespace's
retrieve.fusion), v/dense and v/lexical alone; and the tag retriever alone (tag overlap only, no
category or brand bonus). All rank the same corpus: catalog items with a vector in every version.

Tasks and metrics (means over queries with at least one relevant item):
  category agreement  relevant = the other items of the query item's category: precision@k, nDCG@k
  judgements          item→item (similar) and text (search; tags cannot answer: n/a):
                      recall@k, MRR (first item with grade > 0), nDCG@k with gain 2^grade − 1
Each fused system is compared with each of its signals and with tags; each further version with the
first: mean difference, 95% interval over queries, and on how many queries it was higher / lower.
Notes before the tables flag a label leak (the category in the prompt template or in the items' own
words), a catalog without tags, and a version without a lexical index.

Judgement file lines (JSON Lines, or CSV with these column names):
  {"query_item_id": "sku-00001", "item_id": "sku-00546", "grade": 2}
  {"query": "waterproof hiking boots", "item_id": "sku-00080", "grade": 1}
--judgements review reads instead the Good (grade 1) / Bad (grade 0) marks reviewers set in the
review console (itemvec serve, /ui) for --org and --namespace; a pair marked under several versions
counts once, with its latest mark. The output names the source: "judgements: review table (N marks)".

Examples:
  itemvec eval
  itemvec eval --versions v1,v2 --k 10 --json
  itemvec eval --sample 300
  itemvec eval --tune --tune-out fusion.json          # then: itemvec serve --config fusion.json
  itemvec eval --judgements samples/judgements.jsonl --no-category
  itemvec eval --judgements review --no-category --org 00000000-0000-0000-0000-000000000001
  itemvec eval --namespace electronics --versions v2,v3 --judgements judged.csv
${EXIT_CODES}`,
    )
    .action(async (opts: EvalFlags & ConfigFlags) => {
      // --sample here counts query items; configFrom would read it as run --sample's share.
      const config = configFrom({ ...opts, sample: undefined }, io.env);
      const versions = opts.versions
        ?.split(',')
        .map((v) => v.trim())
        .filter(Boolean);
      if (opts.versions !== undefined && !versions?.length) throw new ConfigError('--versions needs at least one version name, e.g. v1,v2');
      const fromReview = opts.judgements === REVIEW_JUDGEMENTS;
      let judgements: JudgementSet | undefined = opts.judgements && !fromReview ? await readJudgements(opts.judgements) : undefined;
      if (opts.tuneOut && !opts.tune) throw new ConfigError('--tune-out needs --tune');
      const retrieve = retrieveOptions(config.retrieve);
      if (!opts.category && !opts.judgements) throw new ConfigError('nothing to evaluate: --no-category needs --judgements FILE (or review)');
      const logger = cliLogger(io);
      let lastLog = performance.now();
      await withDb(config, async (db) => {
        if (fromReview) {
          judgements = await readReviewJudgements(db, config.orgId, config.namespace);
          if (judgements.judgements === 0) {
            throw new ConfigError(
              `the review table has no marks for org ${config.orgId}, namespace "${config.namespace}": mark neighbours Good or Bad in the review console (/ui/compare), or check --org and --namespace`,
            );
          }
        }
        const report = await runEval({
          db,
          orgId: config.orgId,
          namespace: config.namespace,
          versions,
          tags: opts.tags,
          category: opts.category,
          tune: opts.tune,
          k: opts.k,
          sample: opts.sample,
          judgements,
          provider: (version) => createVersionProvider(config.embed, version),
          retrieve: { ...retrieve, fusion: fusionFor(retrieve, config.namespace) },
          onProgress: (p) => {
            if (performance.now() - lastLog < 10_000 && p.done < p.total) return;
            lastLog = performance.now();
            logger.info(p, 'eval progress');
          },
        });
        if (opts.tuneOut && report.tune) await writeFile(opts.tuneOut, `${JSON.stringify(report.tune.config, null, 2)}\n`);
        print(io, opts.json, report, () => formatEval(report));
      });
    });
}
