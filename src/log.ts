/**
 * The one structured logger (pino), writing JSON lines to stderr so stdout stays free for
 * results (`--json`). Secrets never reach a log line: known secret fields are redacted here,
 * and connection strings must go through `redactUrl` before they are logged.
 */
import { type Logger, pino } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  '*.*.apiKey',
  'password',
  '*.password',
  'secretAccessKey',
  '*.secretAccessKey',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  // The review console's session cookie holds an API key (src/serve/plugins/console.ts).
  'cookie',
  '*.cookie',
  '*.headers.cookie',
  '*.headers["set-cookie"]',
];

export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    {
      name: 'itemvec',
      level: options.level ?? process.env.ITEMVEC_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: undefined,
    },
    (options.destination ?? pino.destination({ fd: 2, sync: true })) as pino.DestinationStream,
  );
}

/**
 * `postgres://user:secret@host/db` → `postgres://user:***@host/db`, and the value of any query
 * parameter named like a secret (`?api_key=…`, `X-Amz-Signature=…`) → `***`, for logs and error
 * messages; also request paths (`/v1/…?api_key=…`).
 * Textual on purpose: parsing would normalise the URL, and messages should show it as written.
 */
export function redactUrl(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^/:@]*):([^/]*)@/i, '$1:***@')
    .replace(/([?&][^=&]*(?:pass|secret|token|key|signature|auth)[^=&]*=)[^&]*/gi, '$1***');
}
