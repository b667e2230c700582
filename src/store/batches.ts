/** Batch API jobs (`embedding_batches`): the state a restarted batch-mode run picks up from. */
import type { Queryable } from './db.js';
import type { Modality } from './keys.js';

export type BatchState = 'written' | 'uploaded' | 'submitted' | 'loaded' | 'failed';

export interface BatchRow {
  batch_key: string;
  run_id: string;
  modality: Modality;
  version: string;
  provider: string;
  model: string;
  dims: number;
  manifest_key: string;
  requests: number;
  tokens: number;
  status: BatchState;
  input_file_id: string | null;
  batch_id: string | null;
  remote_status: string | null;
  error: string | null;
}

export async function insertBatch(
  db: Queryable,
  row: Pick<BatchRow, 'batch_key' | 'run_id' | 'modality' | 'version' | 'provider' | 'model' | 'dims' | 'manifest_key' | 'requests' | 'tokens'>,
): Promise<BatchRow> {
  const rows = await db.query<BatchRow>(
    `INSERT INTO embedding_batches (batch_key, run_id, modality, version, provider, model, dims, manifest_key, requests, tokens, status)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'written') RETURNING *`,
    [row.batch_key, row.run_id, row.modality, row.version, row.provider, row.model, row.dims, row.manifest_key, row.requests, row.tokens],
  );
  return normalise(rows[0]!);
}

export async function updateBatch(
  db: Queryable,
  batchKey: string,
  change: Partial<Pick<BatchRow, 'status' | 'input_file_id' | 'batch_id' | 'remote_status' | 'error'>>,
): Promise<BatchRow> {
  const rows = await db.query<BatchRow>(
    `UPDATE embedding_batches SET
       status = COALESCE($2, status), input_file_id = COALESCE($3, input_file_id), batch_id = COALESCE($4, batch_id),
       remote_status = COALESCE($5, remote_status), error = COALESCE($6, error), updated_at = now()
     WHERE batch_key = $1 RETURNING *`,
    [batchKey, change.status ?? null, change.input_file_id ?? null, change.batch_id ?? null, change.remote_status ?? null, change.error ?? null],
  );
  if (!rows[0]) throw new Error(`batch ${batchKey} is not recorded`);
  return normalise(rows[0]);
}

/** Batches of this version and model that are not finished: submitted, or stopped before submission. */
export async function openBatches(
  db: Queryable,
  key: { version: string; modality: Modality; provider: string; model: string; dims: number },
): Promise<BatchRow[]> {
  const rows = await db.query<BatchRow>(
    `SELECT * FROM embedding_batches
     WHERE version = $1 AND modality = $2 AND provider = $3 AND model = $4 AND dims = $5 AND status NOT IN ('loaded', 'failed')
     ORDER BY created_at, batch_key`,
    [key.version, key.modality, key.provider, key.model, key.dims],
  );
  return rows.map(normalise);
}

// BIGINT arrives as a string from `pg`.
const normalise = (r: BatchRow): BatchRow => ({ ...r, tokens: Number(r.tokens), requests: Number(r.requests) });
