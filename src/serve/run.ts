/**
 * `itemvec serve` as a process: open the database, listen, re-read the config on SIGHUP, drain and
 * close on SIGTERM or SIGINT.
 *
 * Why SIGHUP for BLEND_EMBEDDING_VERSION: the service is stateless (every row lives in Postgres), so
 * switching the version served never reloads data; what remains is how a running process learns the
 * new value. A process's environment cannot be changed from outside, so an env change needs a
 * restart (a rolling restart of stateless replicas, seconds, no data touched). To switch in place,
 * set `retrieve.blendEmbeddingVersion` in the config file and send SIGHUP (`kill -HUP <pid>`), the
 * convention nginx and Postgres use; environment variables still win over the file, as everywhere
 * in itemvec. A config that fails validation on reload is logged and the previous settings stay.
 * The registry's active version (`embedding_versions.status`) remains the switch that reaches
 * every replica at once without any of this.
 */
import type { Config } from '../config.js';
import { ConfigError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { openConfiguredDb } from '../store/db.js';
import { migrate } from '../store/migrations.js';
import { buildServer, type ItemvecServer } from './server.js';
import { serveSettings } from './settings.js';

export interface ServiceOptions {
  /** Loads the config (file < environment < flags); called at start and again on every SIGHUP. */
  loadConfig: () => Config;
  logger: Logger;
  /** Called once the service accepts connections. */
  onListening?: (url: string) => void;
}

/** Run the service until SIGTERM or SIGINT; resolves once requests in flight are answered and the database is closed. */
export async function runService(options: ServiceOptions): Promise<void> {
  const { logger } = options;
  const config = options.loadConfig();
  let settings = serveSettings(config);
  // Requests run concurrently; the pipeline's 4 connections would queue them.
  const db = await openConfiguredDb(config, { maxConnections: 10 });
  let app: ItemvecServer | undefined;
  try {
    await migrate(db);
    app = await buildServer({ db, settings: () => settings, logger, embed: config.embed });
    await app.listen({ host: config.serve.host, port: config.serve.port });
  } catch (err) {
    await app?.close();
    await db.close();
    if ((err as { code?: string }).code === 'EADDRINUSE' || (err as { code?: string }).code === 'EACCES') {
      throw new ConfigError(
        `cannot listen on ${config.serve.host}:${config.serve.port}: ${errorMessage(err)}; pass another --port`,
        { port: config.serve.port },
        { cause: err },
      );
    }
    throw err;
  }
  const address = app.server.address();
  const port = address && typeof address === 'object' ? address.port : config.serve.port;
  const url = `http://${config.serve.host.includes(':') ? `[${config.serve.host}]` : config.serve.host}:${port}`;
  logger.info(
    { url, database: db.location, blendEmbeddingVersion: settings.blendEmbeddingVersion, configuredKeys: settings.apiKeys.length },
    'itemvec serve listening',
  );
  options.onListening?.(url);

  const reload = () => {
    try {
      const next = options.loadConfig();
      settings = serveSettings(next);
      logger.info(
        {
          blendEmbeddingVersion: settings.blendEmbeddingVersion,
          fusion: settings.fusion,
          namespaces: settings.namespaces,
          efSearch: settings.efSearch,
          configuredKeys: settings.apiKeys.length,
        },
        'settings reloaded',
      );
      const fixed = (c: Config) => JSON.stringify([c.serve.host, c.serve.port, c.databaseUrl ?? c.home, c.embed]);
      if (fixed(next) !== fixed(config)) logger.warn('host, port, database and embedding provider settings change only at the next start');
    } catch (err) {
      logger.error({ error: errorMessage(err) }, 'reload failed; the previous settings stay');
    }
  };
  process.on('SIGHUP', reload);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      logger.info({ signal }, 'shutting down: finishing requests in flight');
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  process.off('SIGHUP', reload);
  await app.close();
  await db.close();
}
