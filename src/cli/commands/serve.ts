/** `itemvec serve`: the HTTP service for similar items and search. */
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { runService } from '../../serve/run.js';
import { print, serviceLogger } from '../common.js';
import type { CliIO } from '../io.js';
import { EXIT_CODES, type FileOptions, portNumber, withFiles } from '../options.js';

export function addServeCommand(program: Command, io: CliIO): void {
  withFiles(program.command('serve'))
    .description('serve similar items and search over HTTP, with the review console (/ui), /healthz, /readyz, /metrics and /openapi.json')
    .option('--host <address>', 'address to listen on (also ITEMVEC_HOST; default 127.0.0.1, 0.0.0.0 in a container)')
    .option('--port <n>', 'port (also ITEMVEC_PORT; default 8080; 0 picks a free one)', portNumber('--port'))
    .addHelpText(
      'after',
      `
Routes (a /v1 request needs "Authorization: Bearer <key>" and reads only that key's org):
  GET  /v1/namespaces/:ns/items/:id/similar?k=10&modality=text&version=v2
  POST /v1/namespaces/:ns/search   {"text": "waterproof hiking boots", "k": 5}  or  {"vector": [...]}
  GET  /healthz  /readyz  /metrics (Prometheus)  /openapi.json
  GET  /ui   the review console for people: open it in a browser and paste an API key once (kept in an
             HttpOnly cookie for the browser session); item view, side by side, Good/Bad marks, runs

API keys: \`itemvec keys add --org <uuid>\` (stored as SHA-256), or serve.apiKeys in the config file
  ([{"orgId": "<uuid>", "key": "…"}] or {"orgId", "sha256"}), or ITEMVEC_API_KEYS="<uuid>=<key>,…".

Version served per namespace: the request's ?version= > BLEND_EMBEDDING_VERSION > the active version.
  The environment is read at start; to switch without a restart, set retrieve.blendEmbeddingVersion
  in the config file and send SIGHUP (kill -HUP <pid>). SIGTERM or SIGINT: finish requests, exit 0.

Examples:
  itemvec keys add --org 00000000-0000-0000-0000-000000000001
  itemvec serve --port 8080
  DATABASE_URL=postgres://app@db/catalog BLEND_EMBEDDING_VERSION=default=v2,electronics=v3 itemvec serve --host 0.0.0.0
  curl -H "Authorization: Bearer $KEY" 'http://127.0.0.1:8080/v1/namespaces/default/items/sku-00001/similar?k=5'
${EXIT_CODES}`,
    )
    .action(async (opts: FileOptions & { host?: string; port?: number }) => {
      const load = () => loadConfig({ file: opts.config, env: io.env, overrides: { home: opts.home, serve: { host: opts.host, port: opts.port } } });
      await runService({
        loadConfig: load,
        logger: serviceLogger(io),
        onListening: (url) => print(io, opts.json, { url }, () => `itemvec serve listening on ${url}`),
      });
    });
}
