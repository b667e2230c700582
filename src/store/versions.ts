/** The embedding version registry (`embedding_versions`). */
import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.js';
import { sqlLiteral, type Queryable } from './db.js';

export type Modality = 'text' | 'image';

export interface VersionSpec {
  orgId: string;
  namespace: string;
  modality: Modality;
  version: string;
  provider: string;
  model: string;
  dims: number;
  promptTemplate: string;
}

export interface VersionRecord extends VersionSpec {
  status: 'active' | 'inactive' | 'retired';
  createdAt: Date;
}

interface VersionRow {
  org_id: string;
  namespace: string;
  modality: Modality;
  version: string;
  provider: string;
  model: string;
  dims: number;
  prompt_template: string;
  status: VersionRecord['status'];
  created_at: Date;
}

const toRecord = (r: VersionRow): VersionRecord => ({
  orgId: r.org_id,
  namespace: r.namespace,
  modality: r.modality,
  version: r.version,
  provider: r.provider,
  model: r.model,
  dims: r.dims,
  promptTemplate: r.prompt_template,
  status: r.status,
  createdAt: new Date(r.created_at),
});

export async function getVersion(db: Queryable, key: Pick<VersionSpec, 'orgId' | 'namespace' | 'modality' | 'version'>): Promise<VersionRecord | null> {
  const rows = await db.query<VersionRow>(
    'SELECT * FROM embedding_versions WHERE org_id = $1 AND namespace = $2 AND modality = $3 AND version = $4',
    [key.orgId, key.namespace, key.modality, key.version],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

export async function getActiveVersion(db: Queryable, key: Pick<VersionSpec, 'orgId' | 'namespace' | 'modality'>): Promise<VersionRecord | null> {
  const rows = await db.query<VersionRow>(
    "SELECT * FROM embedding_versions WHERE org_id = $1 AND namespace = $2 AND modality = $3 AND status = 'active'",
    [key.orgId, key.namespace, key.modality],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

/**
 * Register the version a run writes to, or check that an existing one was made with the same
 * settings: a version fixes provider, model, dims and prompt, so mixing them would put vectors
 * of different spaces under one name. The first version of an (org, namespace, modality) becomes
 * active so that a first run is immediately searchable; later ones wait for an explicit activation.
 */
export async function ensureVersion(db: Queryable, spec: VersionSpec): Promise<VersionRecord> {
  await db.query(
    `INSERT INTO embedding_versions (org_id, namespace, modality, version, provider, model, dims, prompt_template)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
    [spec.orgId, spec.namespace, spec.modality, spec.version, spec.provider, spec.model, spec.dims, spec.promptTemplate],
  );
  const existing = await getVersion(db, spec);
  if (!existing) throw new Error(`version ${spec.version} vanished while being registered`);
  assertSameSettings(existing, spec);
  await db.query(
    `UPDATE embedding_versions SET status = 'active', activated_at = now()
     WHERE org_id = $1 AND namespace = $2 AND modality = $3 AND version = $4 AND status = 'inactive'
       AND NOT EXISTS (SELECT 1 FROM embedding_versions a WHERE a.org_id = $1 AND a.namespace = $2 AND a.modality = $3 AND a.status = 'active')`,
    [spec.orgId, spec.namespace, spec.modality, spec.version],
  );
  return (await getVersion(db, spec)) as VersionRecord;
}

/** A version fixes provider, model, dims and prompt: a run with other settings must not write to it. */
export function assertSameSettings(existing: VersionRecord, spec: VersionSpec): void {
  const differences = (['provider', 'model', 'dims', 'promptTemplate'] as const)
    .filter((k) => existing[k] !== spec[k])
    .map((k) => `${k} ${JSON.stringify(existing[k])} (this run: ${JSON.stringify(spec[k])})`);
  if (differences.length > 0) {
    throw new ConfigError(
      `version "${spec.version}" of namespace "${spec.namespace}" (${spec.modality}) was created with different settings: ${differences.join('; ')}. ` +
        'A version fixes provider, model, dims and prompt template: pass a new --version (e.g. v2) or the original settings.',
      { version: spec.version, namespace: spec.namespace },
    );
  }
}

export interface VersionSummary extends VersionRecord {
  rows: number;
}

export async function listVersions(db: Queryable, orgId: string): Promise<VersionSummary[]> {
  const rows = await db.query<VersionRow & { rows: string }>(
    `SELECT v.*, (SELECT count(*) FROM item_embeddings e
                  WHERE e.org_id = v.org_id AND e.namespace = v.namespace AND e.modality = v.modality AND e.version = v.version) AS rows
     FROM embedding_versions v WHERE v.org_id = $1 ORDER BY v.namespace, v.modality, v.created_at`,
    [orgId],
  );
  return rows.map((r) => ({ ...toRecord(r), rows: Number(r.rows) }));
}

/**
 * The SQL pieces that make a query use a version's partial HNSW index: the planner proves the
 * index predicate only from literal values and the exact cast, so both are written into the text.
 * HNSW indexes `vector` up to 2,000 dims and `halfvec` up to 4,000: above 2,000 the cast is halfvec.
 */
export function vectorIndexShape(v: Pick<VersionSpec, 'namespace' | 'version' | 'modality' | 'dims'>) {
  const type = v.dims > 2000 ? 'halfvec' : 'vector';
  const cast = `${type}(${v.dims})`;
  const predicate =
    `namespace = ${sqlLiteral(v.namespace)} AND version = ${sqlLiteral(v.version)} ` +
    `AND modality = ${sqlLiteral(v.modality)} AND dims = ${v.dims}`;
  const name = `item_embeddings_hnsw_${createHash('sha256').update(`${v.namespace}|${v.version}|${v.modality}|${v.dims}`).digest('hex').slice(0, 16)}`;
  return { type, cast, predicate, name, indexable: v.dims <= 4000 };
}

/** Create the version's partial HNSW index if it is missing. Returns false when dims are too large to index. */
export async function ensureVectorIndex(db: Queryable, v: Pick<VersionSpec, 'namespace' | 'version' | 'modality' | 'dims'>): Promise<boolean> {
  const shape = vectorIndexShape(v);
  if (!shape.indexable) return false;
  await db.exec(
    `CREATE INDEX IF NOT EXISTS ${shape.name} ON item_embeddings USING hnsw ((vector::${shape.cast}) ${shape.type}_cosine_ops) WHERE ${shape.predicate}`,
  );
  return true;
}
