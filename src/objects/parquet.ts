/**
 * Raw per-chunk vectors as Parquet (hyparquet-writer), one file per load batch:
 *   <root>/org_id=<uuid>/namespace=<ns>/version=<v>/modality=<m>/run=<run_id>/part-00000.parquet
 * Hive-style folders let DuckDB, Spark or Athena prune by org, namespace, version and run.
 */
import { parquetWriteBuffer } from 'hyparquet-writer';

export interface ChunkVectorRow {
  orgId: string;
  itemId: string;
  namespace: string;
  version: string;
  modality: string;
  chunkIndex: number;
  tokenCount: number;
  metadataHash: string;
  generatedAt: Date;
  vector: Float32Array;
}

/** The documented column layout; the `vector` column is LIST<FLOAT> (float32). */
export const CHUNK_VECTOR_COLUMNS = [
  'org_id',
  'item_id',
  'namespace',
  'version',
  'modality',
  'chunk_index',
  'token_count',
  'metadata_hash',
  'generated_at',
  'vector',
] as const;

const string = (name: string) => ({ name, type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'REQUIRED' as const });
const int32 = (name: string) => ({ name, type: 'INT32' as const, repetition_type: 'REQUIRED' as const });

const SCHEMA = [
  { name: 'root', num_children: CHUNK_VECTOR_COLUMNS.length },
  string('org_id'),
  string('item_id'),
  string('namespace'),
  string('version'),
  string('modality'),
  int32('chunk_index'),
  int32('token_count'),
  string('metadata_hash'),
  {
    name: 'generated_at',
    type: 'INT64' as const,
    repetition_type: 'REQUIRED' as const,
    logical_type: { type: 'TIMESTAMP' as const, isAdjustedToUTC: true, unit: 'MILLIS' as const },
  },
  // The standard three-level LIST layout, which DuckDB, Arrow and Spark read as a list of float.
  { name: 'vector', repetition_type: 'REQUIRED' as const, converted_type: 'LIST' as const, num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED' as const, num_children: 1 },
  { name: 'element', type: 'FLOAT' as const, repetition_type: 'REQUIRED' as const },
];

export function encodeChunkVectors(rows: ChunkVectorRow[]): Uint8Array {
  const column = <T>(pick: (r: ChunkVectorRow) => T) => rows.map(pick);
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: 'org_id', data: column((r) => r.orgId) },
      { name: 'item_id', data: column((r) => r.itemId) },
      { name: 'namespace', data: column((r) => r.namespace) },
      { name: 'version', data: column((r) => r.version) },
      { name: 'modality', data: column((r) => r.modality) },
      { name: 'chunk_index', data: column((r) => r.chunkIndex) },
      { name: 'token_count', data: column((r) => r.tokenCount) },
      { name: 'metadata_hash', data: column((r) => r.metadataHash) },
      { name: 'generated_at', data: column((r) => BigInt(r.generatedAt.getTime())) },
      { name: 'vector', data: column((r) => Array.from(r.vector)) },
    ],
    schema: SCHEMA,
  });
  return new Uint8Array(buffer);
}

export function chunkVectorPartKey(p: { orgId: string; namespace: string; version: string; modality: string; runId: string; part: number }): string {
  return `org_id=${p.orgId}/namespace=${p.namespace}/version=${p.version}/modality=${p.modality}/run=${p.runId}/part-${String(p.part).padStart(5, '0')}.parquet`;
}
