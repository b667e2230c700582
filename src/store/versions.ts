/** The embedding version registry (`embedding_versions`). */
import { createHash } from 'node:crypto';
import { ConfigError, NotFoundError } from '../errors.js';
import { type Db, type Queryable, sqlLiteral } from './db.js';
import type { Modality, VectorStorage } from './keys.js';
import { deleteLexicalVersion } from './lexical.js';

export interface VersionSpec {
  orgId: string;
  namespace: string;
  modality: Modality;
  version: string;
  provider: string;
  model: string;
  dims: number;
  promptTemplate: string;
  /** The text search configuration of the lexical index (text versions; see store/lexical.ts). */
  textSearchConfig: string;
  /** How its vectors are stored; absent means 'vector', the column's default, so specs written before halfvec keep their meaning. */
  storage?: VectorStorage;
}

export interface VersionRecord extends VersionSpec {
  storage: VectorStorage;
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
  text_search_config: string;
  storage: VectorStorage;
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
  textSearchConfig: r.text_search_config,
  storage: r.storage,
  status: r.status,
  createdAt: new Date(r.created_at),
});

export async function getVersion(db: Queryable, key: Pick<VersionSpec, 'orgId' | 'namespace' | 'modality' | 'version'>): Promise<VersionRecord | null> {
  const rows = await db.query<VersionRow>('SELECT * FROM embedding_versions WHERE org_id = $1 AND namespace = $2 AND modality = $3 AND version = $4', [
    key.orgId,
    key.namespace,
    key.modality,
    key.version,
  ]);
  return rows[0] ? toRecord(rows[0]) : null;
}

export async function getActiveVersion(db: Queryable, key: Pick<VersionSpec, 'orgId' | 'namespace' | 'modality'>): Promise<VersionRecord | null> {
  const rows = await db.query<VersionRow>("SELECT * FROM embedding_versions WHERE org_id = $1 AND namespace = $2 AND modality = $3 AND status = 'active'", [
    key.orgId,
    key.namespace,
    key.modality,
  ]);
  return rows[0] ? toRecord(rows[0]) : null;
}

/**
 * Register the version a run writes to, or check that an existing one was made with the same
 * settings: a version fixes provider, model, dims and prompt, so mixing them would put vectors
 * of different spaces under one name. The first version of an (org, namespace, modality) becomes
 * active so that a first run is immediately searchable; later ones wait for an explicit activation.
 */
export async function ensureVersion(db: Queryable, spec: VersionSpec): Promise<VersionRecord> {
  if (spec.modality === 'text') await checkTextSearchConfig(db, spec.textSearchConfig);
  await db.query(
    `INSERT INTO embedding_versions (org_id, namespace, modality, version, provider, model, dims, prompt_template, text_search_config, storage)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
    [
      spec.orgId,
      spec.namespace,
      spec.modality,
      spec.version,
      spec.provider,
      spec.model,
      spec.dims,
      spec.promptTemplate,
      spec.textSearchConfig,
      spec.storage ?? 'vector',
    ],
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

/** The database must know the configuration: a typo would otherwise fail every load transaction. */
async function checkTextSearchConfig(db: Queryable, name: string): Promise<void> {
  const [row] = await db.query<{ found: boolean }>('SELECT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = $1) AS found', [name]);
  if (!row?.found) {
    throw new ConfigError(
      `text search configuration "${name}" does not exist in this database (prompt.textSearchConfig); see SELECT cfgname FROM pg_ts_config`,
      { textSearchConfig: name },
    );
  }
}

/**
 * A version fixes provider, model, dims, prompt and vector storage (and, for text, the lexical
 * analyser): a run with other settings must not write to it. Storage too, because one version's
 * rows must all be in the column its index and queries read.
 */
export function assertSameSettings(existing: VersionRecord, spec: VersionSpec): void {
  const wanted = { ...spec, storage: spec.storage ?? 'vector' };
  const fixed = ['provider', 'model', 'dims', 'promptTemplate', 'storage', ...(spec.modality === 'text' ? (['textSearchConfig'] as const) : [])] as const;
  const differences = fixed.filter((k) => existing[k] !== wanted[k]).map((k) => `${k} ${JSON.stringify(existing[k])} (this run: ${JSON.stringify(wanted[k])})`);
  if (differences.length > 0) {
    throw new ConfigError(
      `version "${spec.version}" of namespace "${spec.namespace}" (${spec.modality}) was created with different settings: ${differences.join('; ')}. ` +
        'A version fixes provider, model, dims, prompt template and vector storage: pass a new --version (e.g. v2) or the original settings.',
      { version: spec.version, namespace: spec.namespace },
    );
  }
}

export interface VersionSummary extends VersionRecord {
  rows: number;
  /** Share of the namespace's catalog items (catalog_items) that have a vector in this version. */
  coverage: number | null;
  /** Bytes of its vectors in the table, and of its HNSW index (shared by orgs using the same version name). */
  vectorBytes: number;
  indexBytes: number;
}

export async function listVersions(db: Queryable, orgId: string): Promise<VersionSummary[]> {
  const rows = await db.query<VersionRow & { rows: string; vector_bytes: string | null; catalog: string }>(
    `SELECT v.*, e.rows, e.vector_bytes,
            (SELECT count(*) FROM catalog_items c WHERE c.org_id = v.org_id AND c.namespace = v.namespace) AS catalog
     FROM embedding_versions v
     CROSS JOIN LATERAL (
       SELECT count(*) AS rows, sum(coalesce(pg_column_size(x.vector), pg_column_size(x.half))) AS vector_bytes FROM item_embeddings x
       WHERE x.org_id = v.org_id AND x.namespace = v.namespace AND x.modality = v.modality AND x.version = v.version) e
     WHERE v.org_id = $1 ORDER BY v.namespace, v.modality, v.created_at`,
    [orgId],
  );
  const out: VersionSummary[] = [];
  for (const r of rows) {
    const record = toRecord(r);
    const [index] = await db.query<{ bytes: string | null }>('SELECT pg_relation_size(to_regclass($1)) AS bytes', [vectorIndexShape(record).name]);
    const catalog = Number(r.catalog);
    out.push({
      ...record,
      rows: Number(r.rows),
      coverage: catalog === 0 ? null : Math.round((Number(r.rows) / catalog) * 10_000) / 10_000,
      vectorBytes: Number(r.vector_bytes ?? 0),
      indexBytes: Number(index?.bytes ?? 0),
    });
  }
  return out;
}

export type VersionKeyOf = Pick<VersionSpec, 'orgId' | 'namespace' | 'modality' | 'version'>;

/** Register a version without running it (`itemvec versions create`); the first of its namespace becomes active. */
export async function createVersion(db: Queryable, spec: VersionSpec): Promise<VersionRecord> {
  return ensureVersion(db, spec);
}

async function requireVersion(db: Queryable, key: VersionKeyOf): Promise<VersionRecord> {
  const v = await getVersion(db, key);
  if (!v)
    throw new NotFoundError(`no ${key.modality} version "${key.version}" in namespace "${key.namespace}"; see itemvec versions list`, {
      version: key.version,
      namespace: key.namespace,
    });
  return v;
}

/**
 * Make `key` the version served for its (org, namespace, modality), in one transaction: readers
 * see the old active version or the new one, never none. The one it replaces is kept, inactive,
 * with `deactivated_at`, for `rollback`.
 */
export async function activateVersion(db: Db, key: VersionKeyOf): Promise<{ activated: VersionRecord; previous: VersionRecord | null }> {
  return db.transaction(async (tx) => {
    // Serialise concurrent activations of the same namespace.
    await tx.query("SELECT pg_advisory_xact_lock(hashtext('itemvec_activate:' || $1 || ':' || $2 || ':' || $3))", [key.orgId, key.namespace, key.modality]);
    const target = await requireVersion(tx, key);
    const previous = await getActiveVersion(tx, key);
    if (previous?.version === key.version) return { activated: target, previous: null };
    await tx.query(
      `UPDATE embedding_versions SET status = 'inactive', deactivated_at = now()
       WHERE org_id = $1 AND namespace = $2 AND modality = $3 AND status = 'active'`,
      [key.orgId, key.namespace, key.modality],
    );
    await tx.query(
      `UPDATE embedding_versions SET status = 'active', activated_at = now()
       WHERE org_id = $1 AND namespace = $2 AND modality = $3 AND version = $4`,
      [key.orgId, key.namespace, key.modality, key.version],
    );
    return { activated: (await getVersion(tx, key))!, previous };
  });
}

/** Re-activate the version that was active before the current one. */
export async function rollbackVersion(
  db: Db,
  key: Pick<VersionSpec, 'orgId' | 'namespace' | 'modality'>,
): Promise<{ activated: VersionRecord; previous: VersionRecord | null }> {
  const [last] = await db.query<{ version: string }>(
    `SELECT version FROM embedding_versions
     WHERE org_id = $1 AND namespace = $2 AND modality = $3 AND status = 'inactive' AND deactivated_at IS NOT NULL
     ORDER BY deactivated_at DESC LIMIT 1`,
    [key.orgId, key.namespace, key.modality],
  );
  if (!last)
    throw new NotFoundError(`nothing to roll back to in namespace "${key.namespace}" (${key.modality}): no version was active before the current one`, {
      namespace: key.namespace,
    });
  return activateVersion(db, { ...key, version: last.version });
}

/** Take a version out of rotation: it is never served, but its rows stay until `delete`. */
export async function retireVersion(db: Queryable, key: VersionKeyOf): Promise<VersionRecord> {
  const v = await requireVersion(db, key);
  if (v.status === 'active')
    throw new ConfigError(`version "${key.version}" is active in namespace "${key.namespace}": activate another version first`, { version: key.version });
  await db.query("UPDATE embedding_versions SET status = 'retired' WHERE org_id = $1 AND namespace = $2 AND modality = $3 AND version = $4", [
    key.orgId,
    key.namespace,
    key.modality,
    key.version,
  ]);
  return (await getVersion(db, key))!;
}

/**
 * Delete a version of one org: its vectors (by the foreign key's cascade), its dead letters and
 * batch records, and its HNSW index when no other org still uses that version name. The active
 * version cannot be deleted. Returns the rows removed; Parquet files are the caller's (objects).
 */
export async function deleteVersion(db: Db, key: VersionKeyOf): Promise<{ rows: number; indexDropped: boolean }> {
  const v = await requireVersion(db, key);
  if (v.status === 'active')
    throw new ConfigError(`version "${key.version}" is active in namespace "${key.namespace}": activate or roll back to another version first`, {
      version: key.version,
    });
  const shape = vectorIndexShape(v);
  const result = await db.transaction(async (tx) => {
    const [count] = await tx.query<{ n: string }>(
      'SELECT count(*) AS n FROM item_embeddings WHERE org_id = $1 AND namespace = $2 AND modality = $3 AND version = $4',
      [key.orgId, key.namespace, key.modality, key.version],
    );
    await tx.query('DELETE FROM embedding_failures WHERE org_id = $1 AND namespace = $2 AND modality = $3 AND version = $4', [
      key.orgId,
      key.namespace,
      key.modality,
      key.version,
    ]);
    if (key.modality === 'text') await deleteLexicalVersion(tx, key);
    await tx.query('DELETE FROM embedding_versions WHERE org_id = $1 AND namespace = $2 AND modality = $3 AND version = $4', [
      key.orgId,
      key.namespace,
      key.modality,
      key.version,
    ]);
    const [others] = await tx.query<{ n: string }>(
      'SELECT count(*) AS n FROM embedding_versions WHERE namespace = $1 AND modality = $2 AND version = $3 AND dims = $4 AND storage = $5',
      [key.namespace, key.modality, key.version, v.dims, v.storage],
    );
    const drop = Number(others?.n ?? 0) === 0;
    if (drop) await tx.exec(`DROP INDEX IF EXISTS ${shape.name}`);
    return { rows: Number(count?.n ?? 0), indexDropped: drop };
  });
  return result;
}

/**
 * The SQL pieces that make a query use a version's partial HNSW index: the planner proves the
 * index predicate only from literal values and the exact cast, so both are written into the text:
 * `${column}::${cast}` is the indexed expression, in queries and in the index alike.
 * HNSW indexes `vector` up to 2,000 dims and `halfvec` up to 4,000: above 2,000 a float32 version
 * is indexed through a halfvec cast; a halfvec version is indexed as it is stored, at any size.
 *
 * Orgs share a version name's index, and each org's version has its own storage: a halfvec
 * version's index has a name of its own, so the two kinds never meet. HNSW skips NULLs, so each
 * index holds only the rows stored in its column.
 */
export function vectorIndexShape(v: Pick<VersionSpec, 'namespace' | 'version' | 'modality' | 'dims' | 'storage'>) {
  const half = v.storage === 'halfvec';
  const column = half ? 'half' : 'vector';
  const type = half || v.dims > 2000 ? 'halfvec' : 'vector';
  const cast = `${type}(${v.dims})`;
  const predicate =
    `namespace = ${sqlLiteral(v.namespace)} AND version = ${sqlLiteral(v.version)} ` + `AND modality = ${sqlLiteral(v.modality)} AND dims = ${v.dims}`;
  // Float32 versions keep the names their indexes were built under before halfvec storage existed.
  const identity = `${v.namespace}|${v.version}|${v.modality}|${v.dims}${half ? '|halfvec' : ''}`;
  const name = `item_embeddings_hnsw_${createHash('sha256').update(identity).digest('hex').slice(0, 16)}`;
  return { column, type, cast, expression: `${column}::${cast}`, predicate, name, indexable: v.dims <= 4000 };
}

/**
 * Create the version's partial HNSW index if it is missing. Returns false when dims are too large
 * to index. `concurrently` (Postgres servers) builds it without blocking the writes of other
 * namespaces and versions to the table; a build that failed half-way leaves an INVALID index,
 * which is dropped and built again.
 */
export async function ensureVectorIndex(
  db: Queryable,
  v: Pick<VersionSpec, 'namespace' | 'version' | 'modality' | 'dims' | 'storage'>,
  options: { concurrently?: boolean } = {},
): Promise<boolean> {
  const shape = vectorIndexShape(v);
  if (!shape.indexable) return false;
  const how = options.concurrently ? 'CONCURRENTLY ' : '';
  const [state] = await db.query<{ valid: boolean }>(
    'SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1',
    [shape.name],
  );
  if (state?.valid) return true;
  if (state) await db.exec(`DROP INDEX ${how}IF EXISTS ${shape.name}`);
  await db.exec(
    `CREATE INDEX ${how}IF NOT EXISTS ${shape.name} ON item_embeddings USING hnsw ((${shape.expression}) ${shape.type}_cosine_ops) WHERE ${shape.predicate}`,
  );
  return true;
}
