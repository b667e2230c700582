/**
 * Which embedding version a read uses, per namespace:
 *   the request's own `version` > BLEND_EMBEDDING_VERSION > the registry's active version.
 * BLEND_EMBEDDING_VERSION is `v3` (every namespace) or `default=v2,electronics=v3`, optionally
 * with a bare fallback: `v2,electronics=v3`.
 */

import { ConfigError, NotFoundError } from '../errors.js';
import { NAME_PATTERN } from '../names.js';
import type { Queryable } from '../store/db.js';
import type { Modality } from '../store/keys.js';
import { getActiveVersion, getVersion, type VersionRecord } from '../store/versions.js';

export interface BlendVersions {
  fallback: string | null;
  byNamespace: Map<string, string>;
}

export function parseBlendEmbeddingVersion(value: string | undefined): BlendVersions {
  const out: BlendVersions = { fallback: null, byNamespace: new Map() };
  if (value === undefined || value.trim() === '') return out;
  for (const raw of value.split(',')) {
    const part = raw.trim();
    const eq = part.indexOf('=');
    const [ns, version] = eq === -1 ? [null, part] : [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
    const bad = (why: string) => new ConfigError(`BLEND_EMBEDDING_VERSION="${value}" is invalid: ${why}. Expected "v3" or "default=v2,electronics=v3".`);
    if (!NAME_PATTERN.test(version)) throw bad(`"${version}" is not a version name`);
    if (ns === null) {
      if (out.fallback !== null) throw bad('more than one version without a namespace');
      out.fallback = version;
    } else {
      if (!NAME_PATTERN.test(ns)) throw bad(`"${ns}" is not a namespace name`);
      if (out.byNamespace.has(ns)) throw bad(`namespace "${ns}" is given twice`);
      out.byNamespace.set(ns, version);
    }
  }
  return out;
}

export async function resolveVersion(
  db: Queryable,
  q: { orgId: string; namespace: string; modality: Modality; version?: string | undefined; blend?: BlendVersions },
): Promise<VersionRecord> {
  const requested = q.version ?? q.blend?.byNamespace.get(q.namespace) ?? q.blend?.fallback ?? undefined;
  if (requested !== undefined) {
    if (!NAME_PATTERN.test(requested)) throw new ConfigError(`invalid version name "${requested}"`);
    const record = await getVersion(db, { orgId: q.orgId, namespace: q.namespace, modality: q.modality, version: requested });
    if (!record) throw new NotFoundError(`version "${requested}" does not exist for namespace "${q.namespace}" (${q.modality})`, { version: requested });
    return record;
  }
  const active = await getActiveVersion(db, q);
  if (!active) {
    throw new NotFoundError(`namespace "${q.namespace}" has no active ${q.modality} embedding version; run \`itemvec run\` first`, {
      namespace: q.namespace,
    });
  }
  return active;
}
