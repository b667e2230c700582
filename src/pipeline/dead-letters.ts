/**
 * A run's failures on their way to `embedding_failures`: collected as they happen, written in
 * batches, each under the org and namespace it belongs to, so an operator finds every one of them
 * with `itemvec failures list`. The first rejections are also logged one by one.
 */
import type { CatalogItem, RowRejection } from '../catalog/item.js';
import { UUID_PATTERN } from '../catalog/validate.js';
import { DatabaseError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { NAME_PATTERN } from '../names.js';
import type { Queryable } from '../store/db.js';
import { type FailureRecord, type FailureStage, recordFailures } from '../store/failures.js';
import type { VersionKey } from '../store/keys.js';

/** How many rejections are logged one by one before the rest go only to the table. */
const LOGGED_REJECTIONS = 50;

export class DeadLetters {
  private pending: Array<{ key: VersionKey; failure: FailureRecord }> = [];
  private rejections = 0;
  /** Failures whose dead-letter write failed: logged one by one instead (the summary's dead_letters_unwritten). */
  unwritten = 0;

  constructor(
    /** null: count and log only (a dry run writes nothing). */
    private readonly db: Queryable | null,
    private readonly runId: string,
    private readonly logger: Logger,
    /** Where a row goes when it does not name a valid org and namespace of its own. */
    private readonly fallback: VersionKey,
  ) {}

  rejectRow(r: RowRejection): void {
    this.rejections += 1;
    const where = r.itemId ? `item ${r.itemId} (${r.ref.source}:${r.ref.line})` : `${r.ref.source}:${r.ref.line}`;
    if (this.rejections <= LOGGED_REJECTIONS) {
      this.logger.warn({ item_id: r.itemId, source: r.ref.source, line: r.ref.line, field: r.field, reason: r.reason }, `row rejected: ${where}: ${r.reason}`);
    } else if (this.rejections === LOGGED_REJECTIONS + 1) {
      this.logger.warn('more rows rejected; see `itemvec failures list` for all of them');
    }
    const raw = r.raw as Record<string, unknown> | null;
    const orgId = typeof raw?.org_id === 'string' && UUID_PATTERN.test(raw.org_id) ? raw.org_id.toLowerCase() : this.fallback.orgId;
    const namespace = typeof raw?.namespace === 'string' && NAME_PATTERN.test(raw.namespace) ? raw.namespace : this.fallback.namespace;
    this.pending.push({
      key: { ...this.fallback, orgId, namespace },
      failure: {
        itemId: r.itemId,
        sourceRef: `${r.ref.source}:${r.ref.line}`,
        stage: 'extract',
        errorClass: 'ROW_REJECTED',
        field: r.field,
        message: r.reason,
        payload: r.raw,
      },
    });
  }

  failItem(key: VersionKey, item: CatalogItem, stage: FailureStage, errorClass: string, message: string): void {
    this.logger.error({ item_id: item.itemId, stage, code: errorClass, err: message }, 'item could not be embedded');
    this.pending.push({ key, failure: { itemId: item.itemId, sourceRef: null, stage, errorClass, field: null, message, payload: item } });
  }

  async flush(): Promise<void> {
    if (!this.db) {
      this.pending = [];
      return;
    }
    const byKey = new Map<string, { key: VersionKey; list: FailureRecord[] }>();
    for (const { key, failure } of this.pending.splice(0)) {
      const id = `${key.orgId}|${key.namespace}`;
      const entry = byKey.get(id) ?? { key, list: [] };
      entry.list.push(failure);
      byKey.set(id, entry);
    }
    for (const { key, list } of byKey.values()) {
      try {
        await recordFailures(this.db, key, this.runId, list);
      } catch (err) {
        // The database itself failing stops the run (exit 4); anything else about these rows must
        // not: the log keeps what the table could not.
        if (err instanceof DatabaseError) throw err;
        this.unwritten += list.length;
        for (const f of list) {
          this.logger.error(
            { item_id: f.itemId, source: f.sourceRef, stage: f.stage, code: f.errorClass, field: f.field, reason: f.message, err: errorMessage(err) },
            'dead letter could not be written; it is only in this log',
          );
        }
      }
    }
  }
}
