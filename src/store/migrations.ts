/**
 * Versioned schema migrations, applied in order at start-up under an advisory lock so that several
 * processes starting at once apply each migration exactly once. A migration is never edited after
 * it ships; changes come as a new entry.
 */
import { DatabaseError, errorMessage } from '../errors.js';
import type { Db, Queryable } from './db.js';

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    id: 1,
    name: 'initial schema',
    sql: `
-- One row per embedding version. A version fixes provider, model, dims, prompt template and modality;
-- several live side by side (A/B tests, rollback), one of them active per (org, namespace, modality).
CREATE TABLE embedding_versions (
  org_id          UUID        NOT NULL,
  namespace       TEXT        NOT NULL,
  modality        TEXT        NOT NULL CHECK (modality IN ('text','image')),
  version         TEXT        NOT NULL,
  provider        TEXT        NOT NULL,
  model           TEXT        NOT NULL,
  dims            INT         NOT NULL CHECK (dims > 0),
  prompt_template TEXT        NOT NULL,
  status          TEXT        NOT NULL DEFAULT 'inactive' CHECK (status IN ('active','inactive','retired')),
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  activated_at    TIMESTAMPTZ,
  PRIMARY KEY (org_id, namespace, modality, version)
);
CREATE UNIQUE INDEX embedding_versions_one_active ON embedding_versions (org_id, namespace, modality) WHERE status = 'active';

-- The item vector: token-weighted mean of the item's chunk vectors, L2-normalised. Text and image
-- vectors of any size share the table, hence the unsized column with a dims check; search goes
-- through a partial HNSW expression index per (namespace, version, modality, dims).
CREATE TABLE item_embeddings (
  org_id           UUID        NOT NULL,
  item_id          TEXT        NOT NULL,
  namespace        TEXT        NOT NULL DEFAULT 'default',
  version          TEXT        NOT NULL,
  modality         TEXT        NOT NULL CHECK (modality IN ('text','image')),
  dims             INT         NOT NULL,
  vector           vector      NOT NULL,
  metadata_hash    TEXT        NOT NULL,
  metadata_version TEXT,
  model            TEXT        NOT NULL,
  chunk_count      INT         NOT NULL CHECK (chunk_count > 0),
  token_count      INT         NOT NULL CHECK (token_count >= 0),
  generated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, item_id, namespace, modality, version),
  CONSTRAINT item_embeddings_vector_dims CHECK (vector_dims(vector) = dims),
  FOREIGN KEY (org_id, namespace, modality, version) REFERENCES embedding_versions ON DELETE CASCADE
);

-- The latest attributes of each item, for display and for the tag retriever.
CREATE TABLE catalog_items (
  org_id           UUID        NOT NULL,
  namespace        TEXT        NOT NULL,
  item_id          TEXT        NOT NULL,
  brand            TEXT        NOT NULL,
  category         TEXT        NOT NULL,
  description      TEXT        NOT NULL,
  image_url        TEXT        NOT NULL,
  tags             TEXT[]      NOT NULL DEFAULT '{}',
  metadata_version TEXT,
  attributes_hash  TEXT        NOT NULL,
  updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, namespace, item_id)
);

-- Dead letters: every row or item a run could not embed, with the reason, where an operator finds
-- it (itemvec failures list). One row per item and version; a later success deletes it.
CREATE TABLE embedding_failures (
  org_id      UUID        NOT NULL,
  namespace   TEXT        NOT NULL,
  modality    TEXT        NOT NULL,
  version     TEXT        NOT NULL,
  failure_key TEXT        NOT NULL, -- the item_id, or source:line when the row had no usable id
  item_id     TEXT,
  run_id      UUID        NOT NULL,
  stage       TEXT        NOT NULL CHECK (stage IN ('extract','transform','embed','load')),
  error_class TEXT        NOT NULL,
  field       TEXT,
  message     TEXT        NOT NULL,
  source_ref  TEXT,
  payload     JSONB,
  attempts    INT         NOT NULL DEFAULT 1,
  first_seen  TIMESTAMPTZ NOT NULL DEFAULT now(),
  last_seen   TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, namespace, modality, version, failure_key)
);
CREATE INDEX embedding_failures_run ON embedding_failures (run_id);
`,
  },
  {
    id: 2,
    name: 'batch api jobs',
    sql: `
-- One row per Batch API request file (\`itemvec run --mode batch\`). The row is written before each
-- remote step (upload, create, download), so a restarted run picks its batches up again instead of
-- paying for them twice. \`manifest_key\` names the object holding the items the file asks for.
CREATE TABLE embedding_batches (
  batch_key      TEXT        PRIMARY KEY, -- <run_id>/part-NNNNN
  run_id         UUID        NOT NULL,
  modality       TEXT        NOT NULL,
  version        TEXT        NOT NULL,
  provider       TEXT        NOT NULL,
  model          TEXT        NOT NULL,
  dims           INT         NOT NULL,
  manifest_key   TEXT        NOT NULL,
  requests       INT         NOT NULL,
  tokens         BIGINT      NOT NULL,
  status         TEXT        NOT NULL CHECK (status IN ('written','uploaded','submitted','loaded','failed')),
  input_file_id  TEXT,
  batch_id       TEXT,
  remote_status  TEXT,
  error          TEXT,
  created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX embedding_batches_open ON embedding_batches (version, modality) WHERE status NOT IN ('loaded','failed');
`,
  },
  {
    id: 3,
    name: 'retriever: api keys, tag index',
    sql: `
-- API keys of the HTTP service (\`itemvec keys add\`): only a SHA-256 of each key is stored, so a
-- copy of the database does not hand out access. A key belongs to exactly one org.
CREATE TABLE api_keys (
  key_sha256 TEXT        PRIMARY KEY CHECK (key_sha256 ~ '^[0-9a-f]{64}$'),
  org_id     UUID        NOT NULL,
  label      TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  revoked_at TIMESTAMPTZ
);
CREATE INDEX api_keys_org ON api_keys (org_id);

-- The tag retriever looks for items sharing a tag with the query item (tags && $tags).
CREATE INDEX catalog_items_tags ON catalog_items USING gin (tags);
`,
  },
  {
    id: 4,
    name: 'image sources',
    sql: `
-- What the image job last fetched for an item (\`itemvec run --modality image\`): the catalog URL it
-- fetched, the validators the server sent (for If-None-Match / If-Modified-Since) and the SHA-256 of
-- the bytes. Shared by every image version of the namespace: a vector is current when its
-- metadata_hash is the hash of (provider, model, dims, this sha256), so a 304 or the same bytes
-- cost no model call.
CREATE TABLE image_sources (
  org_id        UUID        NOT NULL,
  namespace     TEXT        NOT NULL,
  item_id       TEXT        NOT NULL,
  url           TEXT        NOT NULL,
  etag          TEXT,
  last_modified TEXT,
  sha256        TEXT        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  bytes         INT         NOT NULL CHECK (bytes >= 0),
  content_type  TEXT,
  fetched_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  checked_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, namespace, item_id)
);
`,
  },
  {
    id: 5,
    name: 'version lifecycle, content cache, run records',
    sql: `
-- rollback re-activates the version deactivated last.
ALTER TABLE embedding_versions ADD COLUMN deactivated_at TIMESTAMPTZ;

-- The content cache: a vector for the same (provider, model, dims, prompt) — metadata_hash —
-- already stored in any version or namespace of the org is copied instead of embedded again.
CREATE INDEX item_embeddings_content ON item_embeddings (org_id, modality, metadata_hash);

-- One row per run: written at start, touched every few seconds while it runs, completed at the
-- end. A row left 'running' by a process that no longer exists is marked 'interrupted' by the
-- next run of the same version, which resumes where the loads stopped.
CREATE TABLE embedding_runs (
  run_id          UUID        PRIMARY KEY,
  job             TEXT        NOT NULL,
  trigger         TEXT        NOT NULL DEFAULT 'cli',
  namespace       TEXT,
  version         TEXT        NOT NULL,
  modality        TEXT        NOT NULL,
  status          TEXT        NOT NULL CHECK (status IN ('running','succeeded','failed','interrupted')),
  host            TEXT        NOT NULL,
  pid             INT         NOT NULL,
  sample          DOUBLE PRECISION,
  shards          INT,
  items_seen      BIGINT      NOT NULL DEFAULT 0,
  embedded        BIGINT      NOT NULL DEFAULT 0,
  skipped         BIGINT      NOT NULL DEFAULT 0,
  failed          BIGINT      NOT NULL DEFAULT 0,
  cache_hits      BIGINT      NOT NULL DEFAULT 0,
  failure_rate    DOUBLE PRECISION,
  api_calls       BIGINT      NOT NULL DEFAULT 0,
  tokens          BIGINT      NOT NULL DEFAULT 0,
  cost_usd        DOUBLE PRECISION,
  latency_ms_mean DOUBLE PRECISION,
  latency_ms_p95  DOUBLE PRECISION,
  summary         JSONB,
  error           TEXT,
  resumed_from    UUID,
  started_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  heartbeat_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  finished_at     TIMESTAMPTZ
);
CREATE INDEX embedding_runs_version ON embedding_runs (version, modality, started_at DESC);
`,
  },
  {
    id: 6,
    name: 'lexical retrieval (BM25), product titles',
    sql: `
ALTER TABLE catalog_items ADD COLUMN title TEXT;
-- The Postgres text search configuration (analyser: stemming, stop words) of a text version's lexical
-- index. Like the prompt template it is fixed per version: documents and queries must be analysed alike.
ALTER TABLE embedding_versions ADD COLUMN text_search_config TEXT NOT NULL DEFAULT 'english';

-- The lexical side of a text version (src/store/lexical.ts), written in the same transaction as the
-- item's vector: one document per item with a vector, analysed by to_tsvector, as an inverted index
-- that BM25 reads (idf from lexical_terms and lexical_corpus, tf and length from the posting).
-- metadata_hash is the prompt hash of the vector it was written with: a different one means stale.
CREATE TABLE lexical_documents (
  org_id        UUID   NOT NULL,
  namespace     TEXT   NOT NULL,
  version       TEXT   NOT NULL,
  item_id       TEXT   NOT NULL,
  metadata_hash TEXT   NOT NULL,
  length        INT    NOT NULL, -- lexemes indexed (stop words excluded), the BM25 document length
  lexemes       TEXT[] NOT NULL, -- distinct, sorted: the item's query terms and the postings to remove on change
  PRIMARY KEY (org_id, namespace, version, item_id)
);

-- One row per (lexeme, document). The primary key is the index a query scans, term by term; with
-- tf and length included a scan never visits the table (index-only, once vacuumed).
CREATE TABLE lexical_postings (
  org_id    UUID     NOT NULL,
  namespace TEXT     NOT NULL,
  version   TEXT     NOT NULL,
  lexeme    TEXT     NOT NULL,
  item_id   TEXT     NOT NULL,
  tf        SMALLINT NOT NULL, -- occurrences in the document (to_tsvector keeps at most 256 positions)
  length    INT      NOT NULL, -- the document's length, repeated here so scoring needs no second lookup
  PRIMARY KEY (org_id, namespace, version, lexeme, item_id) INCLUDE (tf, length)
);

-- Corpus statistics, kept exact by every load transaction (deltas, locked in a fixed order).
CREATE TABLE lexical_terms (
  org_id    UUID   NOT NULL,
  namespace TEXT   NOT NULL,
  version   TEXT   NOT NULL,
  lexeme    TEXT   NOT NULL,
  df        INT    NOT NULL, -- documents holding the lexeme
  PRIMARY KEY (org_id, namespace, version, lexeme)
);
CREATE TABLE lexical_corpus (
  org_id       UUID   NOT NULL,
  namespace    TEXT   NOT NULL,
  version      TEXT   NOT NULL,
  documents    BIGINT NOT NULL,
  total_length BIGINT NOT NULL,
  PRIMARY KEY (org_id, namespace, version)
);
`,
  },
  {
    id: 7,
    name: 'halfvec storage per version',
    sql: `
-- How a version stores its item vectors, fixed when it is created (like dims): 'vector' (float32,
-- 4 bytes a dimension) or 'halfvec' (float16, 2 bytes: half the table, TOAST and WAL bytes, at
-- float16 precision). The raw chunk vectors in Parquet stay float32 either way.
ALTER TABLE embedding_versions ADD COLUMN storage TEXT NOT NULL DEFAULT 'vector' CHECK (storage IN ('vector','halfvec'));

-- A halfvec version's vectors go to their own unsized column; every row has exactly one of the two.
-- Both checks are NOT VALID because every existing row meets them by construction (vector was
-- NOT NULL, half is new): validating would read every vector under an exclusive lock for nothing.
-- New and updated rows are checked all the same.
ALTER TABLE item_embeddings
  ADD COLUMN half halfvec,
  ALTER COLUMN vector DROP NOT NULL,
  ADD CONSTRAINT item_embeddings_half_dims CHECK (vector_dims(half) = dims) NOT VALID,
  ADD CONSTRAINT item_embeddings_one_vector CHECK ((vector IS NULL) <> (half IS NULL)) NOT VALID;
`,
  },
  {
    id: 8,
    name: 'review console judgements',
    sql: `
-- Marks set in the review console (\`itemvec serve\`, /ui): is this neighbour a good answer to this
-- query item under this version? Re-marking the same pair in the same version overwrites.
-- \`itemvec eval --judgements review\` reads them, keeping the latest mark of a pair over all versions.
-- judged_by names the API key (its id: the first 12 hex digits of its SHA-256), never the key.
CREATE TABLE review_judgements (
  org_id        UUID        NOT NULL,
  namespace     TEXT        NOT NULL,
  version       TEXT        NOT NULL,
  query_item_id TEXT        NOT NULL,
  item_id       TEXT        NOT NULL,
  grade         SMALLINT    NOT NULL CHECK (grade IN (0, 1)), -- 1 good, 0 bad
  judged_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
  judged_by     TEXT        NOT NULL,
  PRIMARY KEY (org_id, namespace, version, query_item_id, item_id),
  CHECK (query_item_id <> item_id)
);
`,
  },
];

/** pgvector 0.8 brings iterative index scans, which filtered similarity queries rely on. */
const MIN_PGVECTOR = [0, 8, 0];

async function ensurePgvector(db: Queryable, where: string): Promise<string> {
  try {
    await db.exec('CREATE EXTENSION IF NOT EXISTS vector');
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === '0A000' || code === '58P01' || /extension "vector"/.test(errorMessage(err))) {
      throw new DatabaseError(
        'PGVECTOR_MISSING',
        `the Postgres server at ${where} does not have the pgvector extension installed (${errorMessage(err)}). ` +
          'Fix: install pgvector ≥ 0.8 on the server (e.g. the postgresql-NN-pgvector package from apt.postgresql.org, ' +
          'or an image such as pgvector/pgvector:pg17; managed services: enable the "vector" extension), then run itemvec again; ' +
          'or unset DATABASE_URL to use the embedded database.',
        { location: where },
        { cause: err },
      );
    }
    if (code === '42501') {
      throw new DatabaseError(
        'PGVECTOR_PERMISSION',
        `not allowed to create the pgvector extension on ${where}. Fix: ask a superuser to run CREATE EXTENSION vector; in this database once.`,
        { location: where },
        { cause: err },
      );
    }
    throw new DatabaseError('DB_MIGRATE', `cannot enable pgvector on ${where}: ${errorMessage(err)}`, { location: where }, { cause: err });
  }
  const rows = await db.query<{ extversion: string }>("SELECT extversion FROM pg_extension WHERE extname = 'vector'");
  const version = rows[0]?.extversion ?? '0';
  const have = version.split('.').map((n) => Number.parseInt(n, 10) || 0);
  const diff = MIN_PGVECTOR.map((min, i) => (have[i] ?? 0) - min).find((d) => d !== 0) ?? 0;
  if (diff < 0) {
    throw new DatabaseError(
      'PGVECTOR_TOO_OLD',
      `pgvector ${version} on ${where} is too old; itemvec needs ≥ ${MIN_PGVECTOR.join('.')}. Fix: upgrade pgvector, then ALTER EXTENSION vector UPDATE;`,
      { location: where },
    );
  }
  return version;
}

/**
 * Bring the schema up to date. Returns the ids of the migrations it applied. Everything, the
 * pgvector extension included, happens under one advisory lock in one transaction: processes
 * starting together on a fresh database wait for each other instead of racing to create it.
 */
export async function migrate(db: Db): Promise<number[]> {
  try {
    return await db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext('itemvec_migrations'))");
      await ensurePgvector(tx, db.location);
      await tx.exec(`CREATE TABLE IF NOT EXISTS itemvec_migrations (
        id INT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
      const done = new Set((await tx.query<{ id: number }>('SELECT id FROM itemvec_migrations')).map((r) => r.id));
      const applied: number[] = [];
      // Applied by id, whatever order the list was written in.
      for (const m of [...MIGRATIONS].sort((x, y) => x.id - y.id)) {
        if (done.has(m.id)) continue;
        await tx.exec(m.sql);
        await tx.query('INSERT INTO itemvec_migrations (id, name) VALUES ($1, $2)', [m.id, m.name]);
        applied.push(m.id);
      }
      return applied;
    });
  } catch (err) {
    if (err instanceof DatabaseError) throw err;
    throw new DatabaseError('DB_MIGRATE', `schema migration failed on ${db.location}: ${errorMessage(err)}`, { location: db.location }, { cause: err });
  }
}
