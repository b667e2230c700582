/**
 * Typed errors. Every error itemvec raises on purpose is an ItemvecError with a stable `code`,
 * the process exit code the CLI maps it to, and the context an operator needs (item, batch, attempt).
 *
 * Exit codes (documented in README.md, "Exit codes"):
 *   0 success · 1 unexpected error · 2 usage or configuration · 3 catalog source unreadable
 *   4 database (connection, migration, missing pgvector) · 5 embedding provider (auth, quota, model)
 *   6 run finished but its failure rate is above the alert threshold · 7 object storage
 *   8 a distributed run failed: a shard or its close job ran out of retries (`itemvec enqueue --wait`)
 */
export const ExitCode = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  source: 3,
  database: 4,
  provider: 5,
  failureRate: 6,
  objects: 7,
  runFailed: 8,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface ErrorContext {
  itemId?: string;
  line?: number;
  field?: string;
  batch?: number;
  attempt?: number;
  status?: number;
  requestId?: string;
  [key: string]: unknown;
}

export class ItemvecError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;
  readonly context: ErrorContext;

  constructor(code: string, message: string, exitCode: ExitCode, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
    this.context = context;
  }
}

/** Bad flags, environment or config file. */
export class ConfigError extends ItemvecError {
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super('CONFIG_INVALID', message, ExitCode.usage, context, options);
  }
}

/** The catalog source as a whole cannot be read (missing file, bad table name, unreachable database). */
export class SourceError extends ItemvecError {
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super('SOURCE_UNREADABLE', message, ExitCode.source, context, options);
  }
}

export class DatabaseError extends ItemvecError {
  constructor(code: string, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(code, message, ExitCode.database, context, options);
  }
}

/**
 * An embedding call failed. `fatal` errors (bad key, no quota, unknown model) stop the run;
 * the others fail only the items of the batch that hit them.
 */
export class ProviderError extends ItemvecError {
  readonly fatal: boolean;
  constructor(code: string, message: string, opts: { fatal: boolean; context?: ErrorContext; cause?: unknown }) {
    super(code, message, ExitCode.provider, opts.context ?? {}, { cause: opts.cause });
    this.fatal = opts.fatal;
  }
}

/** A named item, version or namespace does not exist (HTTP 404 in the service). */
export class NotFoundError extends ItemvecError {
  constructor(message: string, context: ErrorContext = {}) {
    super('NOT_FOUND', message, ExitCode.usage, context);
  }
}

export class ObjectStoreError extends ItemvecError {
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super('OBJECT_STORE', message, ExitCode.objects, context, options);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
