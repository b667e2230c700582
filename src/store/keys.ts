/** What names one embedding version's rows: shared by every store module, so none imports another for it. */
export type Modality = 'text' | 'image';

export interface VersionKey {
  orgId: string;
  namespace: string;
  modality: Modality;
  version: string;
}
