/**
 * Pick an ObjectStore backend from a URL:
 *   file:///abs/path      local folder
 *   /abs/path, rel/path   local folder (relative paths resolve against the working directory)
 *   s3://bucket[/prefix]  S3 or, with `s3Options.endpoint`, an S3-compatible server
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import { redactUrl } from '../log.js';
import { createLocalObjectStore } from './local.js';
import { createS3ObjectStore } from './s3.js';
import type { ObjectStore } from './store.js';

const ACCEPTED = 'file:///absolute/path, a plain filesystem path, or s3://bucket[/prefix]';

export function openObjectStore(url: string, s3Options?: { endpoint?: string; region?: string; forcePathStyle?: boolean }): ObjectStore {
  const bad = (why: string): ConfigError =>
    new ConfigError(`Invalid object store URL "${redactUrl(url)}": ${why}. Accepted forms: ${ACCEPTED}`, {
      field: 'objects',
      url: redactUrl(url),
    });

  if (url.trim() === '') throw bad('it is empty');

  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  // "C:\data" or "C:/data" is a Windows drive path, not a URL scheme.
  const isDrive = scheme !== undefined && scheme.length === 1 && /^[a-zA-Z]:[\\/]/.test(url);

  if (scheme === undefined || isDrive) return createLocalObjectStore(url);

  if (scheme === 'file') {
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch (err) {
      throw new ConfigError(
        `Invalid object store URL "${redactUrl(url)}": ${err instanceof Error ? err.message : String(err)}. Accepted forms: ${ACCEPTED}`,
        { field: 'objects', url: redactUrl(url) },
        { cause: err },
      );
    }
    return createLocalObjectStore(path);
  }

  if (scheme === 's3') {
    const m = /^s3:\/\/([^/?#]*)(\/[^?#]*)?$/i.exec(url);
    if (!m) throw bad('an s3 URL has the form s3://bucket or s3://bucket/prefix, without query or fragment');
    const bucket = m[1] ?? '';
    if (bucket.includes('@')) {
      throw bad('credentials do not belong in the URL; use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or an AWS profile');
    }
    if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]*$/.test(bucket)) throw bad('the bucket name is missing or invalid');
    const prefix = (m[2] ?? '').replace(/^\/+/, '').replace(/\/+$/, '');
    if (prefix.split('/').some((s) => s === '.' || s === '..' || (prefix !== '' && s === ''))) {
      throw bad('the prefix must not contain ".", ".." or empty segments');
    }
    return createS3ObjectStore({
      bucket,
      ...(prefix !== '' ? { prefix } : {}),
      ...(s3Options?.endpoint !== undefined ? { endpoint: s3Options.endpoint } : {}),
      ...(s3Options?.region !== undefined ? { region: s3Options.region } : {}),
      ...(s3Options?.forcePathStyle !== undefined ? { forcePathStyle: s3Options.forcePathStyle } : {}),
    });
  }

  throw bad(`unsupported scheme "${scheme}:"`);
}

/** The configured store: `objects.url`, or the `objects` folder under the data home. */
export function openConfiguredObjectStore(config: Pick<Config, 'home' | 'objects'>): ObjectStore {
  return openObjectStore(config.objects.url ?? pathToFileURL(path.join(config.home, 'objects')).href, config.objects);
}
