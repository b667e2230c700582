/**
 * The weekly image job (CLI: `itemvec run --modality image`):
 *   extract → fetch each item's image_url (guarded, conditional) → decode with sharp → embed in
 *   small batches → load into `item_embeddings` (modality `image`) and Parquet, like text vectors.
 *
 * What is embedded again: an item's image vector is current when its metadata_hash equals
 * hash(provider, model, dims, SHA-256 of the image bytes) stored in `image_sources`. A current item
 * is fetched with If-None-Match / If-Modified-Since: a 304 costs no download and no model call;
 * a 200 whose bytes hash the same costs no model call either. `metadata_version` does not force a
 * refresh here: the bytes are the truth about an image.
 *
 * A dry run fetches nothing: an item whose vector is current counts as unchanged (a real run
 * confirms it with a conditional request), every other item with an image_url as one to embed.
 *
 * Every bad image (refused by the SSRF guard, 404, HTML, too large, too slow, undecodable) is one
 * dead letter in `embedding_failures` (stage `transform`, error_class from images/errors.ts) and the
 * run goes on. A previously embedded item whose image now fails keeps its last vector.
 */
import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import type { CatalogItem } from '../catalog/item.js';
import { createImageProvider } from '../embed/create-image-provider.js';
import type { ImageEmbeddingProvider } from '../embed/image-provider.js';
import { ConfigError, errorMessage, ProviderError } from '../errors.js';
import { type DecodedImage, decodeImage } from '../images/decode.js';
import { ImageError } from '../images/errors.js';
import { type FetchPolicy, type FetchResult, fetchImage } from '../images/fetch.js';
import { redactImageUrl } from '../images/url.js';
import { type CatalogRow, type ExistingState, lookupExisting, upsertCatalogItems } from '../store/embeddings.js';
import { getImageSources, type ImageSource, type ImageSourceUpdate, recordImageSources } from '../store/image-sources.js';
import type { VersionKey } from '../store/keys.js';
import { groupByTenant } from './group.js';
import { attributesHash } from './hash.js';
import { type RunOptions, runJob } from './job.js';
import { inSample } from './sample.js';
import type { RunSummary } from './summary.js';
import { poolChunkVectors } from './vectors.js';

export interface ImageRunSummary extends RunSummary {
  images: {
    /** 200 responses whose body was read. */
    fetched: number;
    /** 304 answers to our validators: no body, no model call. */
    not_modified: number;
    /** 200 with the same bytes as the stored vector's: no model call. */
    same_bytes: number;
    bytes_downloaded: number;
    /** Dead letters by error_class (SSRF_REFUSED, HTTP_STATUS, NOT_AN_IMAGE, TOO_LARGE, TIMEOUT…). */
    failures_by_class: Record<string, number>;
  };
}

/** The change key of an image vector: which model saw which bytes. */
export function imageMetadataHash(provider: Pick<ImageEmbeddingProvider, 'name' | 'model' | 'dims'>, sha256: string): string {
  return createHash('sha256')
    .update(JSON.stringify([provider.name, provider.model, provider.dims, 'image', sha256]))
    .digest('hex');
}

interface PendingImage {
  key: VersionKey;
  item: CatalogItem;
  decoded: DecodedImage;
  metadataHash: string;
  attributesHash: string;
  source: ImageSource;
}

/**
 * Collects decoded images into model batches and runs them one batch at a time (one in-process
 * model uses every core; parallel calls would only queue). Fetchers wait in `add` once two batches
 * are queued, which bounds the decoded pixels held in memory. A batch that fails is retried image
 * by image so one bad input fails alone; a fatal error stops the run.
 */
class ImageBatcher {
  private queue: PendingImage[] = [];
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;
  private fatal: unknown;

  constructor(
    private readonly provider: ImageEmbeddingProvider,
    private readonly batchSize: number,
    private readonly hooks: {
      onCall(latencyMs: number, inputs: number): void;
      onVector(p: PendingImage, vector: Float32Array): void;
      onFailed(p: PendingImage, error: unknown): void;
    },
  ) {}

  async add(p: PendingImage): Promise<void> {
    this.throwIfFatal();
    this.queue.push(p);
    if (this.queue.length >= this.batchSize) this.dispatch();
    if (this.queued > 2) await this.chain;
    this.throwIfFatal();
  }

  async drain(): Promise<void> {
    if (this.queue.length > 0) this.dispatch();
    await this.chain;
    this.throwIfFatal();
  }

  private dispatch(): void {
    const batch = this.queue.splice(0);
    this.queued += 1;
    // `run` never rejects, so the chain never holds an unhandled rejection.
    this.chain = this.chain.then(() => this.run(batch)).finally(() => (this.queued -= 1));
  }

  private throwIfFatal(): void {
    if (this.fatal) throw this.fatal;
  }

  private async run(batch: PendingImage[]): Promise<void> {
    if (this.fatal) return;
    const started = performance.now();
    try {
      const vectors = await this.provider.embedImages(batch.map((b) => b.decoded));
      this.hooks.onCall(performance.now() - started, batch.length);
      for (const [i, b] of batch.entries()) this.hooks.onVector(b, vectors[i]!);
    } catch (err) {
      this.hooks.onCall(performance.now() - started, batch.length);
      if (err instanceof ProviderError && err.fatal) {
        this.fatal = err;
        return;
      }
      if (batch.length > 1) {
        for (const b of batch) await this.run([b]);
        return;
      }
      this.hooks.onFailed(batch[0]!, err);
    }
  }
}

/**
 * Run the image job: the same options and summary as the text job (`runEmbeddingJob` dispatches
 * here for `config.modality === 'image'`), plus the `images` counters.
 *
 *   const summary = await runImageJob({ config: loadConfig({ overrides: { modality: 'image' } }), source: { kind: 'file', path: 'catalog.jsonl' } });
 */
export async function runImageJob(options: RunOptions): Promise<ImageRunSummary> {
  const { config } = options;
  if (config.modality !== 'image') throw new ConfigError(`runImageJob embeds images; config.modality is "${config.modality}"`);
  if (config.run.mode === 'batch') throw new ConfigError('--mode batch is for text through the OpenAI Batch API; the image model runs in-process');
  const counters: ImageRunSummary['images'] = { fetched: 0, not_modified: 0, same_bytes: 0, bytes_downloaded: 0, failures_by_class: {} };
  let provider: ImageEmbeddingProvider;

  return runJob(options, {
    async open({ own }) {
      provider =
        options.imageProvider ??
        (await createImageProvider({ provider: config.images.provider, modelDir: config.images.modelDir, maxBatchInputs: config.images.batchSize }));
      if (!options.imageProvider) own(() => provider.close());
      // In-process models: no bill.
      return { job: 'embed-image', name: provider.name, model: provider.model, dims: provider.dims, inputSettings: provider.preprocessing, cost: () => 0 };
    },

    async stages({ db, stats, dryRun, metrics, loader, deadLetters, versionFor, fail: failItem, report }) {
      const fail = (key: VersionKey, item: CatalogItem, stage: 'transform' | 'embed', code: string, message: string) => {
        counters.failures_by_class[code] = (counters.failures_by_class[code] ?? 0) + 1;
        failItem(key, item, stage, code, message);
      };
      const policy: FetchPolicy = {
        timeoutMs: config.images.timeoutMs,
        idleTimeoutMs: config.images.idleTimeoutMs,
        maxBytes: config.images.maxBytes,
        maxRedirects: config.images.maxRedirects,
        allowHosts: config.images.allowHosts,
        userAgent: config.images.userAgent,
      };

      const failImage = (key: VersionKey, item: CatalogItem, err: unknown) => {
        if (err instanceof ImageError) fail(key, item, 'transform', err.code, err.message);
        else fail(key, item, 'transform', 'IMAGE_FETCH', `unexpected error on ${redactImageUrl(item.imageUrl)}: ${errorMessage(err)}`);
      };

      /** Fetch results to write to image_sources, per tenant, at the end of each read batch. */
      const sourceUpdates = new Map<string, { orgId: string; namespace: string; list: ImageSourceUpdate[] }>();
      const noteSource = (key: VersionKey, update: ImageSourceUpdate) => {
        const id = `${key.orgId}|${key.namespace}`;
        const entry = sourceUpdates.get(id) ?? { orgId: key.orgId, namespace: key.namespace, list: [] };
        entry.list.push(update);
        sourceUpdates.set(id, entry);
      };
      const flushSources = async () => {
        for (const { orgId, namespace, list } of sourceUpdates.values()) await recordImageSources(db, orgId, namespace, list);
        sourceUpdates.clear();
      };

      const batcher = new ImageBatcher(provider, provider.maxBatchInputs, {
        onCall(latencyMs, inputs) {
          stats.recordCall(latencyMs);
          metrics?.request(latencyMs, inputs);
        },
        onVector(p, raw) {
          let vector: Float32Array;
          try {
            if (raw.length !== provider.dims) throw new Error(`${raw.length}-d, expected ${provider.dims}-d`);
            vector = poolChunkVectors([raw], [1]);
          } catch (err) {
            fail(p.key, p.item, 'embed', 'BAD_VECTOR', `the image model returned an unusable vector: ${errorMessage(err)}`);
            return;
          }
          stats.vectorsReady += 1;
          stats.chunks += 1;
          // One image is one "chunk" of one "token": the Parquet layout and columns stay the text job's.
          loader.add({
            item: p.item,
            vector,
            chunkVectors: [vector],
            chunkTokens: [1],
            metadataHash: p.metadataHash,
            attributesHash: p.attributesHash,
            generatedAt: new Date(),
          });
          noteSource(p.key, { itemId: p.item.itemId, source: p.source });
        },
        onFailed(p, err) {
          const code = err instanceof ProviderError ? err.code : 'IMAGE_MODEL';
          fail(p.key, p.item, 'embed', code, `${redactImageUrl(p.item.imageUrl)}: ${errorMessage(err)}`);
        },
      });

      const limit = pLimit(config.images.concurrency);

      /** Whether the stored vector was made from the bytes behind this URL, as far as the record tells without a fetch. */
      const isCurrent = (item: CatalogItem, state: ExistingState | undefined, stored: ImageSource | undefined): stored is ImageSource =>
        stored !== undefined &&
        stored.url === item.imageUrl &&
        state?.metadataHash != null &&
        state.metadataHash === imageMetadataHash(provider, stored.sha256);

      /** One item: fetch (conditionally when its vector is current), decide, decode, queue for the model. */
      const handle = async (
        key: VersionKey,
        item: CatalogItem,
        state: ExistingState | undefined,
        stored: ImageSource | undefined,
        attributesOnly: CatalogRow[],
      ) => {
        const attrs = attributesHash(item);
        const unchanged = () => {
          stats.skippedUnchanged += 1;
          if (state?.attributesHash !== attrs) attributesOnly.push({ item, attributesHash: attrs });
        };
        if (item.imageUrl === '') {
          fail(key, item, 'transform', 'NO_IMAGE_URL', 'the item has no image_url: nothing to fetch');
          return;
        }
        // Validators are sent only when they describe the bytes this version's vector was made from.
        const current = isCurrent(item, state, stored);
        if (dryRun) {
          if (current) {
            stats.skippedUnchanged += 1;
          } else {
            stats.vectorsReady += 1;
            stats.embedded += 1;
          }
          return;
        }
        let result: FetchResult;
        try {
          result = await fetchImage(item.imageUrl, policy, {
            validators: current ? { etag: stored.etag, lastModified: stored.lastModified } : null,
            resolve: options.resolve,
          });
        } catch (err) {
          failImage(key, item, err);
          return;
        }
        if (result.kind === 'not-modified') {
          counters.not_modified += 1;
          noteSource(key, { itemId: item.itemId, source: null });
          unchanged();
          return;
        }
        counters.fetched += 1;
        counters.bytes_downloaded += result.bytes.length;
        const source: ImageSource = {
          url: item.imageUrl,
          etag: result.etag,
          lastModified: result.lastModified,
          sha256: result.sha256,
          bytes: result.bytes.length,
          contentType: result.contentType,
        };
        const hash = imageMetadataHash(provider, result.sha256);
        if (state?.metadataHash === hash) {
          // Same bytes (perhaps under a new URL or new validators): keep the vector, refresh the record.
          counters.same_bytes += 1;
          noteSource(key, { itemId: item.itemId, source });
          unchanged();
          return;
        }
        let decoded: DecodedImage;
        try {
          decoded = await decodeImage(result.bytes, { size: provider.inputSize, maxPixels: config.images.maxPixels, url: redactImageUrl(item.imageUrl) });
        } catch (err) {
          failImage(key, item, err);
          return;
        }
        await batcher.add({ key, item, decoded, metadataHash: hash, attributesHash: attrs, source });
      };

      const processBatch = async (all: CatalogItem[]) => {
        // --sample: the same stable share of items as the text job takes.
        const items = config.run.sample < 1 ? all.filter((i) => inSample(i.orgId, i.itemId, config.run.sample)) : all;
        stats.sampledOut += all.length - items.length;
        const { groups, duplicates } = groupByTenant(items, (i) => i);
        stats.duplicates += duplicates;
        const tasks: Array<Promise<void>> = [];
        const catalogUpdates: Array<{ key: VersionKey; rows: CatalogRow[] }> = [];
        for (const group of groups) {
          const key = await versionFor(group[0]!.orgId, group[0]!.namespace);
          const ids = group.map((i) => i.itemId);
          const [existing, sources] = await Promise.all([lookupExisting(db, key, ids), getImageSources(db, key.orgId, key.namespace, ids)]);
          const rows: CatalogRow[] = [];
          catalogUpdates.push({ key, rows });
          for (const item of group) tasks.push(limit(() => handle(key, item, existing.get(item.itemId), sources.get(item.itemId), rows)));
        }
        // allSettled: a fatal model error must not leave other fetches running unobserved.
        const settled = await Promise.allSettled(tasks);
        await batcher.drain();
        const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (rejected) throw rejected.reason;
        if (!dryRun) for (const { key, rows } of catalogUpdates) await upsertCatalogItems(db, key.orgId, key.namespace, rows);
      };

      const flushAll = async (all: boolean) => {
        await loader.flush(all);
        await flushSources();
        await deadLetters.flush();
        report();
      };
      return {
        processBatch,
        afterBatch: () => flushAll(false),
        // Each batch drains the model before the next is read.
        drain: async () => {},
        settle: () => flushAll(true),
        summary: () => ({ images: counters }),
      };
    },
  });
}
