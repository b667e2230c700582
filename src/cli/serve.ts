/** `itemvec serve` and `itemvec keys …`: the HTTP service and its API keys. */
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig } from '../config.js';
import { createLogger } from '../log.js';
import { runService } from '../serve/run.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../store/api-keys.js';
import { print, withDb } from './common.js';

const port = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('--port must be an integer from 0 to 65535');
  return n;
};

interface FileOptions {
  config?: string;
  home?: string;
  json?: boolean;
}

const withFiles = (cmd: Command) =>
  cmd
    .option('--config <file>', 'JSON config file (also ITEMVEC_CONFIG)')
    .option('--home <dir>', 'data folder (also ITEMVEC_HOME)')
    .option('--json', 'print one JSON object instead of text');

export function addServeCommands(program: Command, exitCodes: string): void {
  withFiles(program.command('serve'))
    .description('serve similar items and search over HTTP, with /healthz, /readyz, /metrics and /openapi.json')
    .option('--host <address>', 'address to listen on (also ITEMVEC_HOST; default 127.0.0.1, 0.0.0.0 in a container)')
    .option('--port <n>', 'port (also ITEMVEC_PORT; default 8080; 0 picks a free one)', port)
    .addHelpText(
      'after',
      `
Routes (a /v1 request needs "Authorization: Bearer <key>" and reads only that key's org):
  GET  /v1/namespaces/:ns/items/:id/similar?k=10&modality=text&version=v2
  POST /v1/namespaces/:ns/search   {"text": "waterproof hiking boots", "k": 5}  or  {"vector": [...]}
  GET  /healthz  /readyz  /metrics (Prometheus)  /openapi.json

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
${exitCodes}`,
    )
    .action(async (opts: FileOptions & { host?: string; port?: number }) => {
      const load = () => loadConfig({ file: opts.config, overrides: { home: opts.home, serve: { host: opts.host, port: opts.port } } });
      await runService({
        loadConfig: load,
        logger: createLogger(),
        onListening: (url) => print(opts.json, { url }, () => `itemvec serve listening on ${url}`),
      });
    });

  const keys = program.command('keys').description('API keys of the HTTP service (itemvec serve)');
  withFiles(keys.command('add'))
    .description('create an API key for one org and print it once; only its SHA-256 is stored')
    .requiredOption('--org <uuid>', 'the org whose items the key may read')
    .option('--label <text>', 'a note for `keys list`, e.g. the calling service')
    .addHelpText(
      'after',
      `
With the embedded database, add keys while \`itemvec serve\` is stopped (one process at a time).

Examples:
  itemvec keys add --org 00000000-0000-0000-0000-000000000001 --label ranking-content-store
  DATABASE_URL=postgres://app@db/catalog itemvec keys add --org 2f1c…-… --json
${exitCodes}`,
    )
    .action(async (opts: FileOptions & { org: string; label?: string }) => {
      const config = loadConfig({ file: opts.config, overrides: { home: opts.home, orgId: opts.org } });
      const created = await withDb(config, (db) => createApiKey(db, { orgId: config.orgId, label: opts.label }));
      print(opts.json, { key: created.key, id: created.id, org_id: created.orgId, label: created.label }, () =>
        [
          `key    ${created.key}`,
          `id     ${created.id}`,
          `org    ${created.orgId}`,
          '',
          'This is the only time the key is shown: store it in your secret manager now.',
          `Use it as "Authorization: Bearer <key>"; revoke it with: itemvec keys revoke ${created.id}`,
        ].join('\n'),
      );
    });

  withFiles(keys.command('list'))
    .description('list API keys (id, org, label, dates); keys themselves are never stored or shown')
    .option('--org <uuid>', 'only keys of this org')
    .addHelpText('after', `\nExamples:\n  itemvec keys list\n  itemvec keys list --org 00000000-0000-0000-0000-000000000001 --json\n${exitCodes}`)
    .action(async (opts: FileOptions & { org?: string }) => {
      const config = loadConfig({ file: opts.config, overrides: { home: opts.home, orgId: opts.org } });
      const list = await withDb(config, (db) => listApiKeys(db, opts.org === undefined ? undefined : config.orgId));
      print(opts.json, list, () =>
        list.length === 0
          ? 'no API keys; create one with: itemvec keys add --org <uuid>'
          : list
              .map((k) => `${k.id}  ${k.org_id}  ${k.revoked_at ? `revoked ${k.revoked_at.toISOString()}` : 'active'}  ${k.created_at.toISOString()}  ${k.label ?? ''}`)
              .join('\n'),
      );
    });

  withFiles(keys.command('revoke'))
    .description('revoke an API key by the id `keys list` prints (a running service stops accepting it within 30 s)')
    .argument('<id>', '12 hex digits')
    .addHelpText('after', `\nExamples:\n  itemvec keys revoke 3fa1c09b27d4\n${exitCodes}`)
    .action(async (id: string, opts: FileOptions) => {
      const config = loadConfig({ file: opts.config, overrides: { home: opts.home } });
      await withDb(config, (db) => revokeApiKey(db, id));
      print(opts.json, { id, revoked: true }, () => `revoked ${id}`);
    });
}
