/**
 * The loader writes slices on several connections at once (run.loadConnections) without losing,
 * repeating or leaving behind a write. Real PGlite underneath; the handle only counts how many
 * transactions are open at once, and can be told to fail one.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { CatalogItem } from '../src/catalog/item.js';
import { createLocalObjectStore } from '../src/objects/local.js';
import { Loader } from '../src/pipeline/loader.js';
import { RunStats } from '../src/pipeline/stats.js';
import type { Db } from '../src/store/db.js';
import { ensureVersion } from '../src/store/versions.js';
import { tempDir } from '../testkit/fixtures.js';
import { useTestDb } from '../testkit/test-db.js';

const { db } = useTestDb();
const orgId = '00000000-0000-0000-0000-000000000001';

function counting(inner: Db, failOn?: number) {
  const seen = { open: 0, most: 0, started: 0 };
  const counted: Db = Object.create(inner);
  counted.transaction = async (fn) => {
    seen.started += 1;
    const n = seen.started;
    seen.open += 1;
    seen.most = Math.max(seen.most, seen.open);
    try {
      // I/O time, so that slices really overlap: long enough that the next slices' Parquet parts
      // (encoded and fsynced between writes) are ready before this write ends, on a busy machine too.
      await new Promise((resolve) => setTimeout(resolve, 200));
      if (n === failOn) throw new Error(`transaction ${n} failed`);
      return await inner.transaction(fn);
    } finally {
      seen.open -= 1;
    }
  };
  return { counted, seen };
}

const item = (namespace: string, i: number): CatalogItem => ({
  itemId: `i-${i}`,
  title: null,
  description: `item ${i}`,
  brand: 'b',
  category: 'c',
  imageUrl: '',
  tags: [],
  metadataVersion: null,
  orgId,
  namespace,
});

async function load(namespace: string, connections: number, handle: Db) {
  await ensureVersion(db, {
    orgId,
    namespace,
    modality: 'text',
    version: 'v1',
    provider: 'x',
    model: 'm',
    dims: 3,
    promptTemplate: 't',
    textSearchConfig: 'english',
  });
  const stats = new RunStats();
  const objects = createLocalObjectStore(path.join(await tempDir(), 'objects'));
  const loader = new Loader({
    db: handle,
    objects,
    runId: crypto.randomUUID(),
    version: 'v1',
    modality: 'text',
    model: 'm',
    batchSize: 10,
    connections,
    stats,
  });
  for (let i = 0; i < 95; i++) {
    const vector = Float32Array.from([1, i + 1, 0]).map((x, _, v) => x / Math.hypot(...v));
    loader.add({
      item: item(namespace, i),
      vector,
      chunkVectors: [vector],
      chunkTokens: [3],
      metadataHash: `h${i}`,
      attributesHash: 'a',
      generatedAt: new Date(),
    });
  }
  return { flush: () => loader.flush(true), loader, stats };
}

const count = async (namespace: string) =>
  Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM item_embeddings WHERE namespace = $1', [namespace]))[0]!.n);

describe('loader connections', () => {
  test('three connections: three slices in flight at most, every item loaded once, a Parquet part per slice', async () => {
    const { counted, seen } = counting(db);
    const { flush, stats } = await load('three', 3, counted);
    await flush();
    assert.equal(seen.most, 3);
    assert.equal(await count('three'), 95);
    assert.deepEqual([stats.embedded, stats.parquetParts], [95, 10]);
  });

  test('one connection writes one slice at a time', async () => {
    const { counted, seen } = counting(db);
    const { flush } = await load('one', 1, counted);
    await flush();
    assert.equal(seen.most, 1);
    assert.equal(await count('one'), 95);
  });

  test('a failed slice fails the flush, and no write is still running when it does', async () => {
    const { counted, seen } = counting(db, 4);
    const { flush, stats } = await load('failing', 3, counted);
    await assert.rejects(flush(), /transaction 4 failed/);
    assert.equal(seen.open, 0, 'every write had settled before flush threw');
    // Whole slices only (each is one transaction), never the failed one, and the counts say so.
    const loaded = await count('failing');
    assert.ok(loaded <= 85 && loaded % 10 === 0, `${loaded} rows`);
    assert.equal(stats.embedded, loaded);
  });

  test('room: a held-back producer resumes once the first slice is written, long before the backlog is', async () => {
    const { counted } = counting(db);
    const { flush, loader, stats } = await load('room', 1, counted);
    let loadedWhenResumed: number | undefined;
    // 95 unwritten, room below 90: the first slice written (10 items) is enough, a slice merely taken is not.
    const waiting = loader.room(90).then(() => {
      loadedWhenResumed = stats.embedded;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(loadedWhenResumed, undefined, 'no room before a flush takes anything');
    const flushed = flush();
    await waiting;
    assert.equal(loadedWhenResumed, 10, 'the producer goes on after the first slice, not before it or after the backlog');
    await flushed;
    assert.equal(await count('room'), 95);
  });

  // A failed write stops a held-back producer with its error, whether the backlog stays above the
  // limit (nothing else would wake it) or the failed slice's release frees room (that is no go).
  // 95 unwritten; the failed first slice (10 items) leaves 85: still above 10, under 90.
  for (const [namespace, limit, title] of [
    ['room-failing', 10, 'a write that fails wakes a held-back producer with its error instead of leaving it waiting'],
    ['room-freed', 90, 'a failed write that frees room still stops the producer with its error'],
  ] as const) {
    test(`room: ${title}`, async () => {
      const { counted } = counting(db, 1);
      const { flush, loader } = await load(namespace, 1, counted);
      const waiting = loader.room(limit);
      await assert.rejects(flush(), /transaction 1 failed/);
      await assert.rejects(waiting, /transaction 1 failed/);
    });
  }
});
