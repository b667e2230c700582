/** What every console page knows about the reader: the org, the key's id, its namespaces and versions. */
import { NotFoundError } from '../../errors.js';
import type { Queryable } from '../../store/db.js';
import { type VersionName, versionNames } from '../../store/version-names.js';
import { type Html, html } from './html.js';
import { options } from './parts.js';

export interface Viewer {
  orgId: string;
  /** The API key's id (keyId in store/api-keys.ts), never the key. */
  keyId: string;
}

export interface NamespaceChoice {
  /** The org's namespaces with a text version. */
  namespaces: string[];
  namespace: string;
  /** The namespace's text versions that are not retired, oldest first. */
  versions: VersionName[];
}

/**
 * The namespace a page reads: the one asked for, else `default`, else the org's first. Null when
 * the org has no text version at all (nothing embedded yet). A namespace asked for that the org
 * lacks is a 404, as it is on /v1.
 */
export async function namespaceChoice(db: Queryable, orgId: string, asked: string | undefined): Promise<NamespaceChoice | null> {
  const text = (await versionNames(db, orgId)).filter((v) => v.modality === 'text' && v.status !== 'retired');
  const namespaces = [...new Set(text.map((v) => v.namespace))];
  if (asked !== undefined && !namespaces.includes(asked)) {
    throw new NotFoundError(`namespace "${asked}" has no text embedding version for this organisation`, { namespace: asked });
  }
  const namespace = asked ?? (namespaces.includes('default') ? 'default' : namespaces[0]);
  if (namespace === undefined) return null;
  return { namespaces, namespace, versions: text.filter((v) => v.namespace === namespace) };
}

/** A version <select>: its first option means "as served" (BLEND_EMBEDDING_VERSION, else the active version). */
export function versionSelect(o: { id: string; name: string; label: string; versions: VersionName[]; selected: string | undefined; served?: boolean }): Html {
  const status = new Map(o.versions.map((v) => [v.version, v.status]));
  return html`<label for="${o.id}">${o.label}
<select id="${o.id}" name="${o.name}">${o.served === false ? '' : html`<option value="">as served</option>`}${options(
    o.versions.map((v) => v.version),
    o.selected,
    (v) => (status.get(v) === 'active' ? `${v} (active)` : v),
  )}</select></label>`;
}

export function namespaceSelect(choice: NamespaceChoice): Html {
  return html`<label for="namespace">Namespace
<select id="namespace" name="namespace">${options(choice.namespaces, choice.namespace)}</select></label>`;
}
