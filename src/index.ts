/**
 * itemvec as a library: everything the CLI does, a program can do.
 *
 *   import { loadConfig, runEmbeddingJob, openDb, similar } from 'itemvec';
 *   const config = loadConfig();
 *   const summary = await runEmbeddingJob({ config, source: { kind: 'file', path: 'catalog.jsonl' } });
 */

export { failureRateAlert, runFailedAlert, type SlackMessage, sendAlert } from './alert.js';
export type { CatalogItem, RowRejection, RowResult } from './catalog/item.js';
export { type CatalogSource, openCatalog } from './catalog/open.js';
export type { CatalogReader } from './catalog/reader.js';
export { type Config, type ConfigInput, DEFAULT_ORG_ID, DEFAULT_PROMPT_TEMPLATE, loadConfig } from './config.js';
export { RETRIEVE_DEFAULTS } from './defaults.js';
export { createImageProvider } from './embed/create-image-provider.js';
export type { ImageEmbeddingProvider, ImageProviderName, ImageProviderOptions } from './embed/image-provider.js';
export { imageProviderForTextSearch, imageQueryVector } from './embed/image-text-query.js';
export { createProvider } from './embed/index.js';
export { BATCH_DISCOUNT, costUsd, MODEL_PRICES_PER_MILLION, pricePerMillion } from './embed/prices.js';
export type { EmbeddingProvider, ProviderName, ProviderOptions, Tokenizer } from './embed/provider.js';
export { createVersionProvider, type QueryEmbedSettings, type VersionEmbedder, versionEmbedder } from './embed/version-embedder.js';
export * from './errors.js';
export { type JudgedQuery, JudgementError, type JudgementSet, parseJudgements, readJudgements } from './eval/judgements.js';
export {
  binaryGrades,
  dcg,
  type Grades,
  gain,
  ndcgAtK,
  type PairedDifference,
  pairedDifference,
  precisionAtK,
  recallAtK,
  reciprocalRank,
} from './eval/metrics.js';
// Offline evaluation (`itemvec eval`): versions vs each other and vs tags alone.
export {
  type Comparison,
  type EvalOptions,
  type EvalReport,
  type EvalSystem,
  type MetricName,
  runEval,
  type SystemScores,
  type TaskResult,
} from './eval/run.js';
export { type DecodedImage, decodeImage } from './images/decode.js';
export { IMAGE_ERROR_CODES, ImageError, type ImageErrorCode } from './images/errors.js';
export { type FetchedImage, type FetchPolicy, type FetchResult, fetchImage, type Validators } from './images/fetch.js';
export { blockedReason, isAllowlisted, type Resolver, resolveChecked } from './images/ssrf.js';
export { redactImageUrl } from './images/url.js';
export { createLogger, type Logger, redactUrl } from './log.js';
export { pushMetrics, registry as metricsRegistry, runMetrics } from './metrics.js';
export { openObjectStore } from './objects/open.js';
export type { ObjectStore } from './objects/store.js';
export { aggregateSummaries, type DistributedSummary } from './orchestrate/aggregate.js';
export { type PlannedRun, planRun } from './orchestrate/plan.js';
export { openQueue, QUEUES, type Queue } from './orchestrate/queue.js';
export { listSchedules, registerSchedules, removeSchedule, type ScheduleEntry } from './orchestrate/schedule.js';
export { type RunSpec, runSpec, shardRanges } from './orchestrate/spec.js';
export { startWorker, type Worker, type WorkerOptions } from './orchestrate/worker.js';
// Images (`run --modality image`): the job, the guarded fetcher, decoding and image models.
export { type ImageRunSummary, imageMetadataHash, runImageJob } from './pipeline/image-job.js';
export type { RunCounts, RunMetrics } from './pipeline/meter.js';
export { type RetryOptions, type RetryResult, retryFailures } from './pipeline/retry-failures.js';
export { type RunOptions, type RunProgress, type RunSummary, runEmbeddingJob } from './pipeline/run.js';
export { chunkText, type TextChunk } from './prompt/chunk.js';
export { compileTemplate } from './prompt/template.js';
export { type FusedItem, type FusionSettings, fuse, type RankedList, SIGNALS, type Signal } from './retrieve/fusion.js';
export { fusionFor, queryOptions, type RetrieveOptions, retrieveOptions } from './retrieve/options.js';
export { type Candidate, RETRIEVAL_MODES, type RetrievalMode, type SimilarQuery, type SimilarResult, search, similar } from './retrieve/similar.js';
export { type BlendVersions, parseBlendEmbeddingVersion, resolveVersion } from './retrieve/version.js';
export { DEFAULT_RETRY_POLICY, QUERY_RETRY_POLICY, type RetryPolicy } from './retry.js';
export { runService, type ServiceOptions } from './serve/run.js';
export { buildServer, type ItemvecServer, type ServerOptions } from './serve/server.js';
export { type ServeSettings, serveSettings } from './serve/settings.js';
export { type ApiKeyRow, createApiKey, hashApiKey, listApiKeys, revokeApiKey } from './store/api-keys.js';
export { type Db, openConfiguredDb, openDb } from './store/db.js';
export { type FailureRow, listFailures } from './store/failures.js';
export { type Bm25Settings, bm25Sql, type LexicalDocument, type LexicalQuery, lexicalScores, lexicalSearch, writeLexicalDocuments } from './store/lexical.js';
export { migrate } from './store/migrations.js';
// Operations: run records, status, alerts, and the distributed mode on pg-boss (src/orchestrate).
export { getRun, listRuns, type RunDetail, type RunRow, type RunStatus } from './store/runs.js';
export { type VersionStatus, versionStatus } from './store/status.js';
export { getActiveVersion, listVersions, type VersionRecord } from './store/versions.js';
