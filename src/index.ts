/**
 * itemvec as a library: everything the CLI does, a program can do.
 *
 *   import { loadConfig, runEmbeddingJob, openDb, similar } from 'itemvec';
 *   const config = loadConfig();
 *   const summary = await runEmbeddingJob({ config, source: { kind: 'file', path: 'catalog.jsonl' } });
 */
export { loadConfig, DEFAULT_PROMPT_TEMPLATE, DEFAULT_ORG_ID, type Config, type ConfigInput } from './config.js';
export * from './errors.js';
export { createLogger, redactUrl, type Logger } from './log.js';
export type { CatalogItem, RowRejection, RowResult } from './catalog/item.js';
export { openCatalog, type CatalogSource, type CatalogReader } from './catalog/open.js';
export { compileTemplate } from './prompt/template.js';
export { chunkText, type TextChunk } from './prompt/chunk.js';
export { createProvider, type EmbeddingProvider, type ProviderName, type ProviderOptions, type Tokenizer } from './embed/index.js';
export { openDb, openConfiguredDb, type Db } from './store/db.js';
export { migrate } from './store/migrations.js';
export { listVersions, getActiveVersion, type VersionRecord } from './store/versions.js';
export { listFailures, type FailureRow } from './store/failures.js';
export { openObjectStore } from './objects/open.js';
export type { ObjectStore } from './objects/store.js';
export { runEmbeddingJob, type RunOptions, type RunSummary, type RunProgress } from './pipeline/run.js';
export { retryFailures, type RetryOptions, type RetryResult } from './pipeline/retry-failures.js';
export { MODEL_PRICES_PER_MILLION, BATCH_DISCOUNT, pricePerMillion, costUsd } from './embed/prices.js';
export { DEFAULT_RETRY_POLICY, QUERY_RETRY_POLICY, type RetryPolicy } from './embed/retry.js';
export { similar, search, RETRIEVAL_MODES, type Candidate, type RetrievalMode, type SimilarQuery, type SimilarResult } from './retrieve/similar.js';
export { parseBlendEmbeddingVersion, resolveVersion, type BlendVersions } from './retrieve/version.js';
export { fuse, SIGNALS, type Signal, type FusionSettings, type RankedList, type FusedItem } from './retrieve/fusion.js';
export { RETRIEVE_DEFAULTS } from './retrieve/defaults.js';
export { retrieveOptions, fusionFor, queryOptions, type RetrieveOptions } from './retrieve/options.js';
export { writeLexicalDocuments, lexicalSearch, lexicalScores, bm25Sql, type Bm25Settings, type LexicalDocument, type LexicalQuery } from './store/lexical.js';
// Offline evaluation (`itemvec eval`): versions vs each other and vs tags alone.
export { runEval, type EvalOptions, type EvalReport, type EvalSystem, type TaskResult, type SystemScores, type Comparison, type MetricName } from './eval/run.js';
export { readJudgements, parseJudgements, JudgementError, type JudgedQuery, type JudgementSet } from './eval/judgements.js';
export { precisionAtK, recallAtK, reciprocalRank, dcg, ndcgAtK, gain, binaryGrades, pairedDifference, type Grades, type PairedDifference } from './eval/metrics.js';
export { buildServer, type ItemvecServer, type ServerOptions } from './serve/server.js';
export { serveSettings, type ServeSettings } from './serve/settings.js';
export { runService, type ServiceOptions } from './serve/run.js';
export { providerFactory, type ProviderFactory } from './serve/providers.js';
export { createApiKey, listApiKeys, revokeApiKey, hashApiKey, type ApiKeyRow } from './store/api-keys.js';
export { registry as metricsRegistry, runMetrics, pushMetrics } from './metrics.js';
export type { RunMetrics, RunCounts } from './pipeline/meter.js';
// Operations: run records, status, alerts, and the distributed mode on pg-boss (src/orchestrate).
export { listRuns, getRun, type RunRow, type RunDetail, type RunStatus } from './store/runs.js';
export { versionStatus, type VersionStatus } from './store/status.js';
export { sendAlert, failureRateAlert, runFailedAlert, type SlackMessage } from './alert.js';
export { openQueue, QUEUES, type Queue } from './orchestrate/queue.js';
export { runSpec, shardRanges, type RunSpec } from './orchestrate/spec.js';
export { planRun, type PlannedRun } from './orchestrate/plan.js';
export { startWorker, type Worker, type WorkerOptions } from './orchestrate/worker.js';
export { registerSchedules, listSchedules, removeSchedule, type ScheduleEntry } from './orchestrate/schedule.js';
export { aggregateSummaries, type DistributedSummary } from './orchestrate/aggregate.js';
// Images (`run --modality image`): the job, the guarded fetcher, decoding and image models.
export { runImageJob, imageMetadataHash, type ImageRunOptions, type ImageRunSummary } from './pipeline/image-job.js';
export { fetchImage, type FetchPolicy, type FetchResult, type FetchedImage, type Validators } from './images/fetch.js';
export { blockedReason, isAllowlisted, resolveChecked, type Resolver } from './images/ssrf.js';
export { decodeImage, type DecodedImage } from './images/decode.js';
export { redactImageUrl } from './images/url.js';
export { ImageError, IMAGE_ERROR_CODES, type ImageErrorCode } from './images/errors.js';
export { createImageProvider, type ImageEmbeddingProvider, type ImageProviderName, type ImageProviderOptions } from './embed/image-provider.js';
export { imageProviderForTextSearch, imageQueryVector } from './embed/image-text-query.js';
