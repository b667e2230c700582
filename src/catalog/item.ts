/** One catalog item, validated. Field names follow the plan's staging table. */
export interface CatalogItem {
  itemId: string;
  /** The product name (input `title`, or `name`): in real catalogs the field with the most signal. Null when absent. */
  title: string | null;
  /** Empty when the row has a title and no description. */
  description: string;
  /** Empty when the catalog has none for this item (real catalogs miss brands); likewise category and image URL. */
  brand: string;
  category: string;
  imageUrl: string;
  tags: string[];
  /** Upstream's own change marker; when present a new value forces a re-embed even if the text is unchanged. */
  metadataVersion: string | null;
  orgId: string;
  namespace: string;
}

/** Where a row came from, for error messages an operator can act on: `catalog.csv:17`. */
export interface RowRef {
  source: string;
  /** 1-based line (JSONL, CSV data row counting the header as line 1) or row number (Parquet, Postgres). */
  line: number;
}

export interface RowRejection {
  ref: RowRef;
  /** The item id when the row had a usable one. */
  itemId: string | null;
  /** The first offending field, e.g. `description`; `row` when the row itself cannot be parsed. */
  field: string;
  reason: string;
  /** The raw row as read, kept so an operator can fix and replay it (nothing is lost). */
  raw: unknown;
}

export type RowResult =
  /** `cleaned`: text that could not be stored as it was (NUL, invalid Unicode) was removed (`invalidText: 'clean'`). */
  { ok: true; item: CatalogItem; ref: RowRef; cleaned?: boolean } | { ok: false; rejection: RowRejection };

/**
 * What to do with text Postgres cannot store or that shows broken encoding: a NUL character, an
 * unpaired UTF-16 surrogate, U+FFFD (what a decoder puts where bytes were not valid UTF-8). `reject`
 * (default) rejects the row, naming the field and the byte; `clean` removes those characters and
 * keeps the row, counted as cleaned.
 */
export type InvalidTextPolicy = 'reject' | 'clean';

/** Defaults applied to rows that do not carry their own `org_id` / `namespace`, and the invalid-text policy. */
export interface RowDefaults {
  orgId: string;
  namespace: string;
  invalidText?: InvalidTextPolicy;
}
