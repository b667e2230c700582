/**
 * The names of an org's embedding versions and their status, without the counts `listVersions`
 * and `versionStatus` compute: cheap enough to read on every page of the review console.
 */
import type { Queryable } from './db.js';
import type { Modality } from './keys.js';

export interface VersionName {
  namespace: string;
  modality: Modality;
  version: string;
  status: 'active' | 'inactive' | 'retired';
}

export async function versionNames(db: Queryable, orgId: string): Promise<VersionName[]> {
  return db.query<VersionName>(
    'SELECT namespace, modality, version, status FROM embedding_versions WHERE org_id = $1 ORDER BY namespace, modality, created_at, version',
    [orgId],
  );
}
