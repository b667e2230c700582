/** Retrieval metrics of the /v1 routes: requests by mode, and candidates by which signals found them. */
import { retrievalCandidates, retrievalRequests } from '../metrics.js';
import { SIGNALS } from '../retrieve/fusion.js';
import type { SimilarResult } from '../retrieve/similar.js';

export function countRetrieval(operation: 'similar' | 'search', result: SimilarResult): void {
  retrievalRequests.inc({ operation, mode: result.mode });
  for (const c of result.candidates) retrievalCandidates.inc({ operation, signals: SIGNALS.filter((s) => c.ranks[s] !== null).join('+') || 'none' });
}
