/**
 * Object storage for raw per-chunk vectors. Two backends implement it: a local folder (default,
 * local.ts) and S3 or any S3-compatible server (s3.ts). Keys are `/`-separated relative paths.
 */
export interface ObjectStore {
  /** Where objects go, for logs and summaries: `file:///abs/dir` or `s3://bucket/prefix`. */
  readonly url: string;
  /** Write the whole object; readers never see a partial object (temporary name + rename locally). */
  put(key: string, body: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array>;
  /** Keys under `prefix`, in lexical order. */
  list(prefix: string): AsyncIterable<string>;
  delete(key: string): Promise<void>;
}
