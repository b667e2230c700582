/**
 * `itemvec run --mode batch`: the embed stage through OpenAI's Batch API. Changed items are
 * written as request files (one request per item, its chunks as inputs; at most
 * `batch.maxRequestsPerFile` requests and 190 MB per file), each with a manifest of its items in
 * object storage, uploaded, submitted, polled, and their results loaded by the same loader as a
 * synchronous run. Failed lines become dead letters.
 *
 * Resumable: each step is recorded in `embedding_batches` before the next starts, and a batch is
 * created with a tag naming its row, so a run killed at any point and started again uploads,
 * creates or polls only what is missing and never pays for a batch twice. With `batch.wait`
 * false a run submits and exits; the next run loads whatever has finished.
 */
import type { CatalogItem } from '../catalog/item.js';
import type { Config } from '../config.js';
import type { Batch, OpenAIBatchClient } from '../embed/openai-batch.js';
import type { ChunkInput } from '../embed/scheduler.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { ObjectStore } from '../objects/store.js';
import { sleep } from '../retry.js';
import { type BatchRow, insertBatch, openBatches, updateBatch } from '../store/batches.js';
import type { Db } from '../store/db.js';
import type { VersionKey } from '../store/keys.js';
import type { ChangedItem } from './changes.js';
import type { RunStats } from './stats.js';

/** What a manifest line holds: enough to load the item once its vectors arrive, in any later run. */
export interface ManifestEntry {
  id: string;
  item: CatalogItem;
  metadataHash: string;
  attributesHash: string;
  chunks: ChunkInput[];
}

export type BatchedItem = ChangedItem & { key: VersionKey };

export interface BatchHooks {
  deliver(item: BatchedItem, chunkTokens: number[], vectors: Float32Array[]): void;
  fail(item: BatchedItem, code: string, message: string): void;
  /** Write what has been delivered so far (loads and dead letters). */
  flush(all: boolean): Promise<void>;
}

export interface BatchJobsOptions {
  db: Db;
  objects: ObjectStore;
  client: OpenAIBatchClient;
  config: Config;
  runId: string;
  provider: { name: string; model: string; dims: number };
  logger: Logger;
  stats: RunStats;
  hooks: BatchHooks;
}

/** The API takes files up to 200 MB; stay clear of it. */
const MAX_FILE_BYTES = 190 * 1024 * 1024;

/** Statuses after which a batch changes no more. */
const FINAL_BATCH_STATUSES: ReadonlySet<string> = new Set(['completed', 'failed', 'expired', 'cancelled']);

const pendingKey = (item: CatalogItem, metadataHash: string) => `${item.orgId}|${item.namespace}|${item.itemId}|${metadataHash}`;

export class BatchJobs {
  private entries: ManifestEntry[] = [];
  private bytes = 0;
  private part = 0;
  private readonly submitted: BatchRow[] = [];
  /** Items in batches still running (when not waiting): a new run must not submit them again. */
  private readonly pending = new Set<string>();

  constructor(private readonly o: BatchJobsOptions) {}

  /** Carry every unfinished batch of this version forward; with `wait`, to the end. */
  async resume(): Promise<void> {
    const { config, provider } = this.o;
    const open = await openBatches(this.o.db, {
      version: config.version,
      modality: config.modality,
      provider: provider.name,
      model: provider.model,
      dims: provider.dims,
    });
    if (open.length === 0) return;
    this.o.logger.info({ batches: open.map((b) => b.batch_key) }, `resuming ${open.length} unfinished batch(es)`);
    const rows: BatchRow[] = [];
    for (const row of open) rows.push(await this.submit(row));
    if (config.batch.wait) {
      await this.waitFor(rows);
    } else {
      const still = await this.pollOnce(rows);
      for (const row of still) {
        for (const entry of (await this.manifest(row)).values()) this.pending.add(pendingKey(entry.item, entry.metadataHash));
      }
      this.o.stats.batchesPending += still.length;
    }
  }

  /** True when the item, with this content, is already in a batch that has not finished. */
  isPending(item: CatalogItem, metadataHash: string): boolean {
    return this.pending.has(pendingKey(item, metadataHash));
  }

  async add(item: BatchedItem, chunks: ChunkInput[]): Promise<void> {
    const size =
      Buffer.byteLength(
        this.o.client.requestLine(
          `i${this.entries.length}`,
          chunks.map((c) => c.text),
        ),
      ) + 1;
    if (this.entries.length > 0 && (this.entries.length >= this.o.config.batch.maxRequestsPerFile || this.bytes + size > MAX_FILE_BYTES)) {
      await this.writePart();
    }
    this.entries.push({ id: `i${this.entries.length}`, item: item.item, metadataHash: item.metadataHash, attributesHash: item.attributesHash, chunks });
    this.bytes += size;
  }

  /** Submit the last partial file; with `wait`, poll every batch of this run and load the results. */
  async finish(): Promise<void> {
    if (this.entries.length > 0) await this.writePart();
    if (this.o.config.batch.wait) await this.waitFor(this.submitted);
    else this.o.stats.batchesPending += this.submitted.length;
  }

  private async writePart(): Promise<void> {
    const entries = this.entries;
    this.entries = [];
    this.bytes = 0;
    const { config, provider, runId } = this.o;
    const part = String(++this.part).padStart(5, '0');
    const batchKey = `${runId}/part-${part}`;
    const manifestKey = `batches/version=${config.version}/modality=${config.modality}/run=${runId}/part-${part}.jsonl`;
    await this.o.objects.put(manifestKey, Buffer.from(`${entries.map((e) => JSON.stringify(e)).join('\n')}\n`));
    const tokens = entries.reduce((n, e) => n + e.chunks.reduce((m, c) => m + c.tokens, 0), 0);
    const row = await insertBatch(this.o.db, {
      batch_key: batchKey,
      run_id: runId,
      modality: config.modality,
      version: config.version,
      provider: provider.name,
      model: provider.model,
      dims: provider.dims,
      manifest_key: manifestKey,
      requests: entries.length,
      tokens,
    });
    this.submitted.push(await this.submit(row, entries));
    this.o.stats.batchesSubmitted += 1;
  }

  /** Take a recorded batch as far as `submitted`, each remote step recorded before the next. */
  private async submit(row: BatchRow, entries?: ManifestEntry[]): Promise<BatchRow> {
    const { client, db, logger } = this.o;
    if (row.status === 'written') {
      const list = entries ?? [...(await this.manifest(row)).values()];
      const body = Buffer.from(
        `${list
          .map((e) =>
            client.requestLine(
              e.id,
              e.chunks.map((c) => c.text),
            ),
          )
          .join('\n')}\n`,
      );
      const fileId = await client.upload(`itemvec-${row.batch_key.replace('/', '-')}.jsonl`, body);
      row = await updateBatch(db, row.batch_key, { status: 'uploaded', input_file_id: fileId });
    }
    if (row.status === 'uploaded') {
      // A run killed between creating the batch and recording its id finds it by its tag.
      const batch = await client.findOrCreate(row.input_file_id!, row.batch_key);
      row = await updateBatch(db, row.batch_key, { status: 'submitted', batch_id: batch.id, remote_status: batch.status });
      logger.info({ batch_key: row.batch_key, batch_id: batch.id, requests: row.requests, tokens: row.tokens }, 'batch submitted');
    }
    return row;
  }

  /** Poll until every batch is final, loading each as soon as it is. */
  private async waitFor(rows: BatchRow[]): Promise<void> {
    let open = rows;
    for (;;) {
      open = await this.pollOnce(open);
      if (open.length === 0) return;
      await sleep(this.o.config.batch.pollIntervalMs);
    }
  }

  /** One status check per batch; finished ones are loaded. Returns those still running. */
  private async pollOnce(rows: BatchRow[]): Promise<BatchRow[]> {
    const still: BatchRow[] = [];
    for (const row of rows) {
      const batch = await this.o.client.retrieve(row.batch_id!);
      if (FINAL_BATCH_STATUSES.has(batch.status)) {
        await this.load(row, batch);
      } else {
        if (batch.status !== row.remote_status) {
          await updateBatch(this.o.db, row.batch_key, { remote_status: batch.status });
          row.remote_status = batch.status;
        }
        this.o.logger.info({ batch_key: row.batch_key, batch_id: batch.id, status: batch.status, ...batch.request_counts }, 'batch running');
        still.push(row);
      }
    }
    return still;
  }

  private async load(row: BatchRow, batch: Batch): Promise<void> {
    const { client, hooks, logger, stats, config } = this.o;
    const manifest = await this.manifest(row);
    const itemOf = (entry: ManifestEntry): BatchedItem => ({
      item: entry.item,
      prompt: '',
      metadataHash: entry.metadataHash,
      attributesHash: entry.attributesHash,
      key: { orgId: entry.item.orgId, namespace: entry.item.namespace, modality: config.modality, version: config.version },
    });
    const seen = new Set<string>();
    let lines = 0;
    for (const fileId of [batch.output_file_id, batch.error_file_id]) {
      if (!fileId) continue;
      for await (const result of client.results(fileId, (id) => manifest.get(id)?.chunks.length)) {
        const entry = manifest.get(result.customId);
        if (!entry || seen.has(result.customId)) continue;
        seen.add(result.customId);
        if (result.ok) {
          stats.tokens += result.tokens;
          hooks.deliver(
            itemOf(entry),
            entry.chunks.map((c) => c.tokens),
            result.vectors,
          );
        } else {
          hooks.fail(itemOf(entry), result.code, result.message);
        }
        if (++lines % config.run.loadBatchSize === 0) await hooks.flush(false);
      }
    }
    const missing = [...manifest.values()].filter((e) => !seen.has(e.id));
    let error: string | undefined;
    if (batch.status === 'failed') {
      // The file itself was refused (validation): retrying it as is would fail again.
      error = batch.errors?.data?.map((e) => `${e.line ? `line ${e.line}: ` : ''}${e.message ?? e.code}`).join('; ') || 'batch failed';
      for (const entry of missing) hooks.fail(itemOf(entry), 'BATCH_FAILED', `batch ${batch.id} failed: ${error}`);
    } else if (missing.length > 0) {
      // Expired or cancelled: those items have no vector, so the next run's change detection submits them again.
      logger.warn(
        { batch_id: batch.id, status: batch.status, missing: missing.length },
        `batch ${batch.status}: ${missing.length} item(s) left for the next run`,
      );
    }
    await hooks.flush(true);
    await updateBatch(this.o.db, row.batch_key, {
      status: batch.status === 'failed' ? 'failed' : 'loaded',
      remote_status: batch.status,
      ...(error ? { error } : {}),
    });
    stats.batchesLoaded += 1;
    logger.info({ batch_key: row.batch_key, batch_id: batch.id, status: batch.status, results: seen.size, missing: missing.length }, 'batch loaded');
  }

  private async manifest(row: BatchRow): Promise<Map<string, ManifestEntry>> {
    let text: string;
    try {
      text = Buffer.from(await this.o.objects.get(row.manifest_key)).toString('utf8');
    } catch (err) {
      throw new Error(`the manifest of batch ${row.batch_key} (${row.manifest_key}) cannot be read: ${errorMessage(err)}`, { cause: err });
    }
    const entries = text
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as ManifestEntry);
    return new Map(entries.map((e) => [e.id, e]));
  }
}
