/** Names that end up in SQL literals, index names and object keys (namespaces, versions): kept deliberately narrow. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
