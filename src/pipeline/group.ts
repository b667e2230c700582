import type { CatalogItem } from '../catalog/item.js';

/**
 * Split `list` by (org_id, namespace), the tenant and namespace every write is scoped to. A repeated
 * item id keeps its last occurrence, as an upsert would; `duplicates` counts the ones dropped.
 */
export function groupByTenant<T>(list: T[], itemOf: (t: T) => CatalogItem): { groups: T[][]; duplicates: number } {
  const groups = new Map<string, Map<string, T>>();
  let duplicates = 0;
  for (const entry of list) {
    const item = itemOf(entry);
    const id = `${item.orgId}|${item.namespace}`;
    const group = groups.get(id) ?? new Map<string, T>();
    if (group.has(item.itemId)) duplicates += 1;
    group.set(item.itemId, entry);
    groups.set(id, group);
  }
  return { groups: [...groups.values()].map((g) => [...g.values()]), duplicates };
}
