/**
 * The text stages of the job `generate_product_embeddings` (CLI: `itemvec run`):
 *   keep new or changed items → render prompt, count tokens, chunk → embed → load.
 * Everything streams: rows are read in small batches, requests are bounded by the scheduler, and
 * each finished request is loaded at once (in slices of `run.loadBatchSize`), so memory does not
 * grow with the catalog and a crash costs at most the requests in flight. The shared part of the
 * run (run record, versions, dead letters, read loop, summary) is the skeleton in job.ts.
 */
import type { CatalogItem } from '../catalog/item.js';
import { createProvider } from '../embed/index.js';
import { costUsd, pricePerMillion } from '../embed/prices.js';
import type { EmbeddingProvider } from '../embed/provider.js';
import { EmbedScheduler } from '../embed/scheduler.js';
import { ConfigError, errorMessage } from '../errors.js';
import { chunkText } from '../prompt/chunk.js';
import { compileTemplate } from '../prompt/template.js';
import { reusableHashes, reuseVectors, upsertCatalogItems } from '../store/embeddings.js';
import { clearFailures } from '../store/failures.js';
import type { VersionKey } from '../store/keys.js';
import { writeLexicalDocuments } from '../store/lexical.js';
import { BatchJobs } from './batch.js';
import { type ChangedItem, findChanges, staleAttributes } from './changes.js';
import { Flusher } from './flusher.js';
import { groupByTenant } from './group.js';
import { type RunOptions, runJob } from './job.js';
import type { LexicalIndexing } from './loader.js';
import { inSample } from './sample.js';
import type { RunSummary } from './summary.js';
import { poolChunkVectors } from './vectors.js';

/** Run the text job. Checks that need no database (template, mode) fail before anything opens. */
export async function runTextJob(options: RunOptions): Promise<RunSummary> {
  const { config } = options;
  const template = compileTemplate(config.prompt.template);
  const dryRun = options.dryRun ?? false;
  const batchMode = config.run.mode === 'batch' && !dryRun;
  if (config.run.mode === 'batch' && config.embed.provider !== 'openai') {
    throw new ConfigError(`--mode batch needs --provider openai (the Batch API is OpenAI's); provider is ${config.embed.provider}`);
  }
  // A dry run only tokenizes, so it needs no API key.
  const providerOptions = { ...config.embed, apiKey: config.embed.apiKey ?? (dryRun ? 'dry-run' : undefined) };
  let provider: EmbeddingProvider;
  const lexical: LexicalIndexing = {
    textSearchConfig: config.prompt.textSearchConfig,
    documents: (items) => items.map((c) => ({ itemId: c.item.itemId, text: template.lexicalText(c.item), metadataHash: c.metadataHash })),
  };

  return runJob(options, {
    async open({ own }) {
      provider = options.provider ?? (await createProvider(config.embed.provider, providerOptions));
      if (!options.provider) own(() => provider.close());
      const price = pricePerMillion(provider.name, provider.model, config.prices);
      return {
        job: 'embed-text',
        name: provider.name,
        model: provider.model,
        dims: provider.dims,
        inputSettings: config.prompt.template,
        lexical,
        cost: (tokens) => costUsd(tokens, price, config.run.mode),
      };
    },

    async stages({ db, objects, logger, runId, stats, dryRun, metrics, loader, deadLetters, versionFor, fail, report }) {
      /** An item's chunk vectors have arrived (from a request or a batch file): pool them and queue the load. */
      const deliver = (change: ChangedItem & { key: VersionKey }, tokenCounts: number[], vectors: Float32Array[]) => {
        const { item, key, metadataHash, attributesHash } = change;
        let vector: Float32Array;
        try {
          vector = poolChunkVectors(vectors, tokenCounts);
        } catch (err) {
          // A zero or non-finite vector from the model: this item fails, its neighbours do not.
          fail(key, item, 'embed', 'BAD_VECTOR', `the model returned an unusable vector: ${errorMessage(err)}`);
          return;
        }
        stats.vectorsReady += 1;
        loader.add({ item, vector, chunkVectors: vectors, chunkTokens: tokenCounts, metadataHash, attributesHash, generatedAt: new Date() });
      };
      // Each finished request is loaded at once, in the background, one load at a time: a crash then
      // re-embeds at most the requests in flight, and loading overlaps the requests still on the wire.
      const loads = new Flusher(async () => {
        await loader.flush(true);
        await deadLetters.flush();
        report();
      });
      const retryPolicy = { maxRetries: config.embed.maxRetries, baseDelayMs: config.embed.retryBaseDelayMs, maxDelayMs: config.embed.retryMaxDelayMs };
      const scheduler = new EmbedScheduler<ChangedItem & { key: VersionKey }>(
        dryRun ? planningProvider(provider) : provider,
        {
          onCall(latencyMs, tokens, inputs) {
            stats.recordCall(latencyMs);
            metrics?.request(latencyMs, inputs);
            stats.tokens += tokens;
            report();
          },
          onRequestDone: () => loads.kick(),
          onRetry(error, retry, delayMs, inputs) {
            stats.recordRetry(error.code);
            metrics?.retry(error.code);
            logger.warn(
              { code: error.code, retry, delay_ms: delayMs, inputs, status: error.context.status },
              `embedding request failed (${error.code}); retry ${retry} in ${delayMs} ms`,
            );
          },
          onEmbedded(p) {
            if (dryRun) {
              stats.vectorsReady += 1;
              stats.embedded += 1;
              return;
            }
            deliver(
              p.item,
              p.chunks.map((c) => c.tokens),
              p.vectors as Float32Array[],
            );
          },
          onFailed(p, error) {
            const attempts = typeof error.context.attempt === 'number' && error.context.attempt > 1 ? ` (after ${error.context.attempt} attempts)` : '';
            fail(p.item.key, p.item.item, 'embed', error.code, `${error.message}${attempts}`);
          },
        },
        provider.concurrency,
        retryPolicy,
      );

      // --mode batch: the same extract, change detection and load; the embed stage goes through files.
      const batchJobs = batchMode
        ? new BatchJobs({
            db,
            objects,
            // Imported only in batch mode, like every backend (src/embed/index.ts).
            client: (await import('../embed/openai-batch.js')).createOpenAIBatchClient(providerOptions, retryPolicy),
            config,
            runId,
            provider,
            logger,
            stats,
            hooks: {
              deliver,
              fail: (change, code, message) => fail(change.key, change.item, 'embed', code, message),
              flush: async () => {
                loads.kick();
                await loads.idle();
              },
            },
          })
        : null;
      await batchJobs?.resume();

      /**
       * The content cache: changed items whose exact prompt this model already embedded anywhere in
       * the org (another version, another namespace) get that vector copied instead of a model call.
       */
      const fromCache = async (key: VersionKey, changed: ChangedItem[]): Promise<ChangedItem[]> => {
        const candidates = changed.filter((c) => !c.forced);
        if (!config.run.cache || candidates.length === 0) return changed;
        // One read first: a cold run of a new model finds nothing and pays one query, not a transaction.
        const hashes = await reusableHashes(
          db,
          key,
          candidates.map((c) => c.metadataHash),
        );
        const reusable = candidates.filter((c) => hashes.has(c.metadataHash));
        let hits: Set<string>;
        if (dryRun || reusable.length === 0) {
          hits = new Set(reusable.map((c) => c.item.itemId));
        } else {
          hits = await db.transaction(async (tx) => {
            const ids = new Set(
              await reuseVectors(
                tx,
                key,
                reusable.map((c) => ({ itemId: c.item.itemId, metadataHash: c.metadataHash, metadataVersion: c.item.metadataVersion })),
              ),
            );
            const served = reusable.filter((c) => ids.has(c.item.itemId));
            await upsertCatalogItems(
              tx,
              key.orgId,
              key.namespace,
              served.map((c) => ({ item: c.item, attributesHash: c.attributesHash })),
            );
            await clearFailures(tx, key, [...ids]);
            await writeLexicalDocuments(tx, key, lexical.textSearchConfig, lexical.documents(served));
            return ids;
          });
        }
        stats.cacheHits += hits.size;
        return hits.size === 0 ? changed : changed.filter((c) => !hits.has(c.item.itemId));
      };

      const processBatch = async (items: CatalogItem[]) => {
        const { groups, duplicates } = groupByTenant(items, (i) => i);
        stats.duplicates += duplicates;
        for (const all of groups) {
          const key = await versionFor(all[0]!.orgId, all[0]!.namespace);
          // Staged rollout: only items whose stable bucket falls in the sample are embedded; the
          // others still update catalog_items, so coverage is measured against the whole catalog.
          const group = config.run.sample < 1 ? all.filter((i) => inSample(i.orgId, i.itemId, config.run.sample)) : all;
          if (group.length < all.length) {
            const outside = all.filter((i) => !inSample(i.orgId, i.itemId, config.run.sample));
            stats.sampledOut += outside.length;
            if (!dryRun) await upsertCatalogItems(db, key.orgId, key.namespace, await staleAttributes(db, key, outside));
            if (group.length === 0) continue;
          }
          const detected = await findChanges(db, key, group, template, provider);
          stats.skippedUnchanged += detected.unchanged;
          if (!dryRun) {
            await upsertCatalogItems(db, key.orgId, key.namespace, detected.attributesOnly);
            if (detected.lexicalOnly.length > 0) {
              await db.transaction((tx) => writeLexicalDocuments(tx, key, lexical.textSearchConfig, lexical.documents(detected.lexicalOnly)));
              stats.lexicalIndexed += detected.lexicalOnly.length;
            }
          }
          // An item with no text would be embedded as the template's own words, the same vector for all of them.
          const empty = detected.changed.filter((c) => template.isEmpty(c.item));
          for (const c of empty)
            fail(
              key,
              c.item,
              'transform',
              'EMPTY_TEXT',
              `no text to embed: every field the prompt template uses is empty (${template.contentFields.map((f) => `{${f}}`).join(' ')})`,
            );
          const changed = await fromCache(key, empty.length ? detected.changed.filter((c) => !template.isEmpty(c.item)) : detected.changed);
          for (const change of changed) {
            let chunks = chunkText(change.prompt, provider.tokenizer, provider.maxInputTokens);
            if (chunks.some((c) => c.tokens === 0)) {
              fail(key, change.item, 'transform', 'EMPTY_PROMPT', 'the rendered prompt has no tokens');
              continue;
            }
            const tokens = chunks.reduce((n, c) => n + c.tokens, 0);
            const cap = config.embed.maxTokensPerItem;
            if (tokens > cap && config.embed.tooLong === 'dead-letter') {
              fail(
                key,
                change.item,
                'transform',
                'TEXT_TOO_LONG',
                `the prompt has ${tokens} tokens, above embed.maxTokensPerItem (${cap}; ITEMVEC_MAX_TOKENS_PER_ITEM): shorten the text, raise the cap, or set embed.tooLong to "truncate"`,
              );
              continue;
            }
            if (tokens > cap) {
              // The head of a product's text carries its name and kind; the tail of a 2-million-token description adds little.
              chunks = chunkText(
                provider.tokenizer.decode(provider.tokenizer.encode(change.prompt).slice(0, cap)),
                provider.tokenizer,
                provider.maxInputTokens,
              );
              stats.truncated += 1;
              logger.warn(
                { item_id: change.item.itemId, tokens, kept: cap },
                `item ${change.item.itemId}: prompt of ${tokens} tokens cut to its first ${cap} (embed.maxTokensPerItem, embed.tooLong "truncate")`,
              );
            }
            if (batchJobs?.isPending(change.item, change.metadataHash)) {
              stats.inOpenBatches += 1;
              continue;
            }
            stats.chunks += chunks.length;
            if (batchJobs) {
              await batchJobs.add({ ...change, key }, chunks);
              continue;
            }
            // Back-pressure: no new request while two finished ones per load connection are unwritten,
            // so vectors never pile up in memory and a crash re-embeds little more than the requests in
            // flight. Per load connection: two requests' worth in all left the second connection short of
            // work (a cold 5,000-item run ~0.2 s slower on a server, bench/README.md).
            await loader.room(2 * provider.maxBatchInputs * loader.connections);
            await scheduler.add({ ...change, key }, chunks);
          }
        }
      };

      return {
        processBatch,
        async afterBatch() {
          loads.kick();
          loads.check();
        },
        async drain() {
          await scheduler.drain();
          await batchJobs?.finish();
        },
        async settle() {
          // Whatever happened, keep what was embedded and what failed: nothing is lost.
          loads.kick();
          await loads.idle();
        },
      };
    },
  });
}

/**
 * For --dry-run: the real provider's name, limits and tokenizer, but an `embed` that answers
 * with empty vectors and the token count it would bill, so the scheduler packs exactly as a real
 * run would (and counts its requests) without sending anything.
 */
function planningProvider(provider: EmbeddingProvider): EmbeddingProvider {
  return {
    ...provider,
    embed: async (texts, options) => ({
      vectors: texts.map(() => new Float32Array(0)),
      tokens: options?.tokens ?? texts.reduce((n, t) => n + provider.tokenizer.encode(t).length, 0),
    }),
    close: async () => {},
  };
}
