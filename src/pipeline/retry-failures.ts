/**
 * `itemvec failures retry`: replay dead letters through the normal job. Each failure's payload
 * (the item as it was read, or the raw row that was rejected) becomes a catalog row again, and is
 * embedded with the settings of the version it failed in, so an operator needs no flags beyond
 * the filter. Failures that fail again stay, with their attempts counted; the rest are resolved.
 */
import type { CatalogItem } from '../catalog/item.js';
import type { SourceRecord } from '../catalog/records.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import { type FailureFilter, failureGroups, replayableFailures, resolveReplayed } from '../store/failures.js';
import type { VersionKey } from '../store/keys.js';
import { getVersion, type VersionRecord } from '../store/versions.js';
import { type RunOptions, type RunSummary, runEmbeddingJob } from './run.js';

export interface RetryResult {
  key: VersionKey;
  replayed: number;
  resolved: number;
  summary: RunSummary;
}

export interface RetryOptions extends Omit<RunOptions, 'source' | 'config' | 'db'> {
  config: Config;
  db: Db;
  filter: Omit<FailureFilter, 'orgId'>;
  logger?: Logger;
}

export async function retryFailures(options: RetryOptions): Promise<RetryResult[]> {
  const { config, db, filter } = options;
  const results: RetryResult[] = [];
  for (const group of await failureGroups(db, { ...filter, orgId: config.orgId })) {
    const { failures, ...key } = group;
    const version = await getVersion(db, key);
    // A rejected row may belong to a version that was never created (nothing loaded yet): the
    // current config's settings then apply, exactly as for the run that rejected it.
    const settings = version ? versionSettings(config, version) : {};
    const runConfig: Config = { ...config, ...settings, namespace: key.namespace, version: key.version, modality: key.modality };
    const failureKeys: string[] = [];
    async function* records(): AsyncGenerator<SourceRecord> {
      for await (const f of replayableFailures(db, key, { ...filter, orgId: config.orgId })) {
        failureKeys.push(f.failureKey);
        yield { raw: asCatalogRow(f.payload), ref: { source: `embedding_failures:${f.sourceRef ?? f.failureKey}`, line: failureKeys.length } };
      }
    }
    const summary = await runEmbeddingJob({ ...options, config: runConfig, db, source: { kind: 'records', records: records(), total: failures } });
    const resolved = summary.dry_run ? 0 : await resolveReplayed(db, key, failureKeys, summary.run_id);
    options.logger?.info({ ...key, replayed: failureKeys.length, resolved, still_failing: summary.failed + summary.rejected }, 'failures replayed');
    results.push({ key, replayed: failureKeys.length, resolved, summary });
  }
  return results;
}

/** The settings a version was embedded with: its text model and prompt, or its image model. */
function versionSettings(config: Config, version: VersionRecord): Partial<Config> {
  if (version.modality === 'image') {
    return { images: { ...config.images, provider: version.provider as Config['images']['provider'] }, embed: { ...config.embed, storage: version.storage } };
  }
  return {
    embed: { ...config.embed, provider: version.provider as Config['embed']['provider'], model: version.model, dims: version.dims, storage: version.storage },
    prompt: { template: version.promptTemplate, textSearchConfig: version.textSearchConfig },
  };
}

/** An item failed after validation is stored as a CatalogItem; a rejected row as read. Both become a row again. */
function asCatalogRow(payload: unknown): unknown {
  if (payload === null || typeof payload !== 'object' || !('itemId' in payload)) return payload;
  const item = payload as CatalogItem;
  return {
    item_id: item.itemId,
    org_id: item.orgId,
    namespace: item.namespace,
    title: item.title,
    description: item.description,
    brand: item.brand,
    category: item.category,
    image_url: item.imageUrl,
    tags: item.tags,
    metadata_version: item.metadataVersion,
  };
}
