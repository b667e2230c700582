/** What names one embedding version's rows: shared by every store module, so none imports another for it. */
export type Modality = 'text' | 'image';

export interface VersionKey {
  orgId: string;
  namespace: string;
  modality: Modality;
  version: string;
}

/** How a version stores its item vectors: float32 in `vector`, or float16 in `half` (half the bytes). */
export type VectorStorage = 'vector' | 'halfvec';
