/** `itemvec keys add | list | revoke`: API keys of the HTTP service. */
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../../store/api-keys.js';
import { print, withDb } from '../common.js';
import type { CliIO } from '../io.js';
import { EXIT_CODES, type FileOptions, withFiles } from '../options.js';

export function addKeysCommand(program: Command, io: CliIO): void {
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
${EXIT_CODES}`,
    )
    .action(async (opts: FileOptions & { org: string; label?: string }) => {
      const config = loadConfig({ file: opts.config, env: io.env, overrides: { home: opts.home, orgId: opts.org } });
      const created = await withDb(config, (db) => createApiKey(db, { orgId: config.orgId, label: opts.label }));
      print(io, opts.json, { key: created.key, id: created.id, org_id: created.orgId, label: created.label }, () =>
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
    .addHelpText('after', `\nExamples:\n  itemvec keys list\n  itemvec keys list --org 00000000-0000-0000-0000-000000000001 --json\n${EXIT_CODES}`)
    .action(async (opts: FileOptions & { org?: string }) => {
      const config = loadConfig({ file: opts.config, env: io.env, overrides: { home: opts.home, orgId: opts.org } });
      const list = await withDb(config, (db) => listApiKeys(db, opts.org === undefined ? undefined : config.orgId));
      print(io, opts.json, list, () =>
        list.length === 0
          ? 'no API keys; create one with: itemvec keys add --org <uuid>'
          : list
              .map(
                (k) =>
                  `${k.id}  ${k.org_id}  ${k.revoked_at ? `revoked ${k.revoked_at.toISOString()}` : 'active'}  ${k.created_at.toISOString()}  ${k.label ?? ''}`,
              )
              .join('\n'),
      );
    });

  withFiles(keys.command('revoke'))
    .description('revoke an API key by the id `keys list` prints (a running service stops accepting it within 30 s)')
    .argument('<id>', '12 hex digits')
    .addHelpText('after', `\nExamples:\n  itemvec keys revoke 3fa1c09b27d4\n${EXIT_CODES}`)
    .action(async (id: string, opts: FileOptions) => {
      const config = loadConfig({ file: opts.config, env: io.env, overrides: { home: opts.home } });
      await withDb(config, (db) => revokeApiKey(db, id));
      print(io, opts.json, { id, revoked: true }, () => `revoked ${id}`);
    });
}
