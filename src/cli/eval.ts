/** `itemvec eval`: offline retrieval evaluation of embedding versions against each other and tags alone (src/eval). */
import type { Command } from 'commander';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import { readJudgements } from '../eval/judgements.js';
import { runEval } from '../eval/run.js';
import { createLogger } from '../log.js';
import { retrieveOptions } from '../retrieve/options.js';
import { providerFactory } from '../serve/providers.js';
import { print, withDb } from './common.js';
import { formatEval } from './format-eval.js';
import type { ConfigFlags } from './main.js';

/** What main.ts shares with this command (main.ts cannot be imported: it runs the program). */
export interface EvalHelpers {
  exitCodes: string;
  withCommon(cmd: Command): Command;
  configFrom(opts: ConfigFlags): Config;
  positiveInt(name: string): (value: string) => number;
}

interface EvalFlags {
  versions?: string;
  tags: boolean;
  blend?: boolean;
  category: boolean;
  k: number;
  sample?: number;
  judgements?: string;
  baseUrl?: string;
  json?: boolean;
}

export function addEvalCommand(program: Command, h: EvalHelpers): void {
  h.withCommon(program.command('eval'))
    .description('measure offline whether an embedding version retrieves better than another, and than tags alone')
    .option('--versions <list>', 'comma-separated versions to compare, e.g. v1,v2 (default: the version reads use)')
    .option('--tags', 'include the tags-only retriever', true)
    .option('--no-tags', 'leave the tags-only retriever out')
    .option('--blend', 'also evaluate each version as served: tags blended with embeddings (ITEMVEC_MIN_TAGS, ITEMVEC_EMBEDDING_WEIGHT)')
    .option('--no-category', 'skip the category-agreement task (e.g. with --judgements only)')
    .option('--k <n>', 'list length scored', h.positiveInt('--k'), 10)
    .option('--sample <n>', 'category task: a deterministic sample of N query items instead of all', h.positiveInt('--sample'))
    .option('--judgements <file>', 'relevance judgements (.jsonl or .csv): query_item_id or query, item_id, grade')
    .option('--base-url <url>', 'OpenAI-compatible server for embedding text queries of openai versions (also OPENAI_BASE_URL)')
    .addHelpText(
      'after',
      `
Systems: each version's embeddings alone (similar, embedding mode), each version as served (--blend),
and the tag retriever alone. All rank the same corpus: catalog items with a vector in every version.

Tasks and metrics (means over queries with at least one relevant item):
  category agreement  relevant = the other items of the query item's leaf category: precision@k, nDCG@k
  judgements          item→item (similar) and text (search; tags cannot answer: n/a):
                      recall@k, MRR (first item with grade > 0), nDCG@k with gain 2^grade − 1
Each version is compared with tags and with the first version: mean difference, 95% interval
over queries, and on how many queries it was higher / lower.

Judgement file lines (JSON Lines, or CSV with these column names):
  {"query_item_id": "sku-00001", "item_id": "sku-00546", "grade": 2}
  {"query": "waterproof hiking boots", "item_id": "sku-00080", "grade": 1}

Examples:
  itemvec eval
  itemvec eval --versions v1,v2 --k 10 --json
  itemvec eval --sample 300 --blend
  itemvec eval --judgements samples/judgements.jsonl --no-category
  itemvec eval --namespace electronics --versions v2,v3 --judgements judged.csv
${h.exitCodes}`,
    )
    .action(async (opts: EvalFlags & ConfigFlags) => {
      // --sample here counts query items; configFrom would read it as run --sample's share.
      const config = h.configFrom({ ...opts, sample: undefined });
      const versions = opts.versions?.split(',').map((v) => v.trim()).filter(Boolean);
      if (opts.versions !== undefined && !versions?.length) throw new ConfigError('--versions needs at least one version name, e.g. v1,v2');
      const judgements = opts.judgements ? await readJudgements(opts.judgements) : undefined;
      if (!opts.category && !judgements) throw new ConfigError('nothing to evaluate: --no-category needs --judgements FILE');
      const logger = createLogger({ level: process.env.ITEMVEC_LOG_LEVEL ?? (process.stderr.isTTY ? 'warn' : 'info') });
      let lastLog = performance.now();
      await withDb(config, async (db) => {
        const report = await runEval({
          db,
          orgId: config.orgId,
          namespace: config.namespace,
          versions,
          tags: opts.tags,
          blend: opts.blend,
          category: opts.category,
          k: opts.k,
          sample: opts.sample,
          judgements,
          provider: providerFactory(config.embed),
          retrieve: retrieveOptions(config.retrieve),
          onProgress: (p) => {
            if (performance.now() - lastLog < 10_000 && p.done < p.total) return;
            lastLog = performance.now();
            logger.info(p, 'eval progress');
          },
        });
        print(opts.json, report, () => formatEval(report));
      });
    });
}
