/**
 * The load stage: buffers embedded items and writes them in batches, first the raw chunk vectors
 * as one Parquet part, then the pooled item vectors, catalog attributes, resolved dead letters and
 * (text) lexical documents in one Postgres transaction. A crash between the two leaves an extra
 * Parquet part and no row, so the next run embeds those items again; never a row without its raw
 * vectors, never a vector without its words.
 */
import type { CatalogItem } from '../catalog/item.js';
import { type ChunkVectorRow, chunkVectorPartKey, encodeChunkVectors } from '../objects/parquet.js';
import type { ObjectStore } from '../objects/store.js';
import type { Db } from '../store/db.js';
import { upsertCatalogItems, upsertItemVectors } from '../store/embeddings.js';
import { clearFailures } from '../store/failures.js';
import type { Modality, VersionKey } from '../store/keys.js';
import { type LexicalDocument, writeLexicalDocuments } from '../store/lexical.js';
import { groupByTenant } from './group.js';
import type { RunStats } from './stats.js';

export interface EmbeddedItem {
  item: CatalogItem;
  vector: Float32Array;
  chunkVectors: Float32Array[];
  chunkTokens: number[];
  metadataHash: string;
  attributesHash: string;
  generatedAt: Date;
}

export interface LoaderOptions {
  db: Db;
  objects: ObjectStore;
  runId: string;
  version: string;
  modality: Modality;
  model: string;
  batchSize: number;
  /**
   * Slices written at once, each in its own transaction (on a server, its own connection): a server
   * takes COPY on several connections faster than on one (bench:load). PGlite runs one at a time.
   */
  connections?: number;
  stats: RunStats;
  /** Text versions: how an item's lexical document is made, written with its vector. */
  lexical?: LexicalIndexing;
}

export interface LexicalIndexing {
  textSearchConfig: string;
  documents(items: Array<{ item: CatalogItem; metadataHash: string }>): LexicalDocument[];
}

export class Loader {
  private buffer: EmbeddedItem[] = [];
  private part = 0;
  /** Items taken from the buffer by a flush whose rows are not committed yet. */
  private taken = 0;
  /** Producers held back by `room`, woken whenever a slice's write ends or a flush ends. */
  private readonly waiting = new Set<() => void>();
  /** The first failed write of any flush, for `room`. */
  private failure: { error: unknown } | undefined;

  constructor(private readonly o: LoaderOptions) {}

  /** Slices written at once. */
  get connections(): number {
    return this.o.connections ?? 1;
  }

  add(embedded: EmbeddedItem): void {
    this.buffer.push(embedded);
  }

  /**
   * Back-pressure for a producer: resolves once fewer than `limit` items are unwritten (buffered, or
   * in a slice not committed yet), and throws if a write failed meanwhile. That bounds both memory
   * and what a crash can lose to `limit` plus the requests in flight. It wakes as soon as one slice
   * commits, not when the whole backlog is written: waiting for that would leave the producer's
   * requests idle behind a busy loader and the loader idle behind them after. A flush must be under
   * way or asked for (the job asks for one whenever it adds items).
   */
  async room(limit: number): Promise<void> {
    for (;;) {
      // Checked first: a failed write's release frees room, and the producer must not take that as a go.
      if (this.failure) throw this.failure.error;
      if (this.buffer.length + this.taken < limit) return;
      await new Promise<void>((resolve) => this.waiting.add(resolve));
    }
  }

  private wake(): void {
    for (const resolve of this.waiting) resolve();
    this.waiting.clear();
  }

  /**
   * Write full batches; with `all`, the remainder too. A finished request can hand over far more
   * items than a batch (2,048 inputs per OpenAI call): writing in batch-sized slices keeps every
   * statement and Parquet part bounded, and keeping partial slices back avoids tiny parts.
   */
  async flush(all = false): Promise<void> {
    // A pipeline: the next slice's Parquet part is encoded (CPU, here) while earlier slices' rows
    // travel to Postgres (I/O, there), up to `connections` of them at once. Each slice still writes
    // its part before its rows, and no write is left running when flush returns or throws.
    const connections = this.connections;
    const writing = new Set<Promise<void>>();
    // The first failed write; the writes still running are waited for before it is thrown. Recorded
    // for `room` at once, before the failed slice's release wakes a held-back producer.
    let failure: { error: unknown } | undefined;
    const fail = (error: unknown) => {
      failure ??= { error };
      this.failure ??= failure;
    };
    // This flush's share of `taken`: a slice's items leave it when its write ends; in `finally`, the
    // rest (groups a failure left unwritten).
    let held = 0;
    const release = (items: number) => {
      held -= items;
      this.taken -= items;
      this.wake();
    };
    try {
      while (!failure && (this.buffer.length >= this.o.batchSize || (all && this.buffer.length > 0))) {
        const slice = this.buffer.splice(0, this.o.batchSize);
        held += slice.length;
        this.taken += slice.length;
        for (const group of groupByTenant(slice, (e) => e.item).groups) {
          const key = await this.writeParquet(group);
          while (writing.size >= connections) await Promise.race(writing);
          if (failure) break;
          const rows: Promise<void> = this.writeRows(group, key).then(
            () => {
              writing.delete(rows);
              release(group.length);
            },
            (error: unknown) => {
              writing.delete(rows);
              fail(error);
              release(group.length);
            },
          );
          writing.add(rows);
        }
      }
    } catch (error) {
      fail(error);
    } finally {
      await Promise.all(writing);
      release(held);
    }
    if (failure) throw failure.error;
  }

  private async writeParquet(items: EmbeddedItem[]): Promise<VersionKey> {
    const { orgId, namespace } = items[0]!.item;
    const key: VersionKey = { orgId, namespace, modality: this.o.modality, version: this.o.version };
    const rows: ChunkVectorRow[] = items.flatMap((e) =>
      e.chunkVectors.map((vector, chunkIndex) => ({
        orgId,
        itemId: e.item.itemId,
        namespace,
        version: key.version,
        modality: key.modality,
        chunkIndex,
        tokenCount: e.chunkTokens[chunkIndex] ?? 0,
        metadataHash: e.metadataHash,
        generatedAt: e.generatedAt,
        vector,
      })),
    );
    const partKey = chunkVectorPartKey({ ...key, runId: this.o.runId, part: this.part++ });
    await this.o.objects.put(partKey, encodeChunkVectors(rows));
    this.o.stats.parquetParts += 1;
    return key;
  }

  private async writeRows(items: EmbeddedItem[], key: VersionKey): Promise<void> {
    const { orgId, namespace } = key;
    await this.o.db.transaction(async (tx) => {
      await upsertItemVectors(
        tx,
        key,
        this.o.model,
        items.map((e) => ({
          itemId: e.item.itemId,
          vector: e.vector,
          metadataHash: e.metadataHash,
          metadataVersion: e.item.metadataVersion,
          chunkCount: e.chunkVectors.length,
          tokenCount: e.chunkTokens.reduce((s, n) => s + n, 0),
          generatedAt: e.generatedAt,
        })),
      );
      await upsertCatalogItems(
        tx,
        orgId,
        namespace,
        items.map((e) => ({ item: e.item, attributesHash: e.attributesHash })),
      );
      await clearFailures(
        tx,
        key,
        items.map((e) => e.item.itemId),
      );
      // Last: it locks the version's corpus statistics, which concurrent loads wait for until commit.
      const lexical = this.o.lexical;
      if (lexical) await writeLexicalDocuments(tx, key, lexical.textSearchConfig, lexical.documents(items));
    });
    this.o.stats.embedded += items.length;
  }
}
