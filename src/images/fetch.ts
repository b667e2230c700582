/**
 * Fetch one catalog image, defensively: slow hosts, huge bodies, non-images and URLs that point
 * inside the network are what hurt an image pipeline, and each becomes an ImageError naming the URL
 * (redacted) and why.
 *
 * Node's `fetch` (undici) resolves the host itself and cannot be told which address to use, so a
 * name checked as public could resolve to 127.0.0.1 a millisecond later (DNS rebinding). Here every
 * hop resolves the host once (ssrf.ts), checks all its addresses, and connects to exactly the checked
 * one through `http(s).request` with a pinned `lookup`; TLS still verifies the certificate against
 * the host name (SNI). Redirects are followed by hand so that each hop goes through the same checks.
 *
 * Limits, all enforced while streaming: a total deadline (`timeoutMs`), an idle timeout between
 * bytes (`idleTimeoutMs`, a slow drip), a byte limit (`maxBytes`, also when Content-Length is absent
 * or wrong), at most `maxRedirects` redirects, Content-Type image/* and known magic bytes.
 *
 * Conditional requests: with stored validators it sends If-None-Match / If-Modified-Since, and a
 * 304 comes back as `not-modified` without a body.
 */
import { createHash } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { ImageError } from './errors.js';
import { type ImageFormat, mediaType, SNIFF_BYTES, sniffImageFormat } from './sniff.js';
import { bareHost, effectivePort, type Resolver, resolveChecked, systemResolver } from './ssrf.js';
import { redactImageUrl } from './url.js';

export interface FetchPolicy {
  /** Whole fetch, all hops, headers and body. */
  timeoutMs: number;
  /** Longest silence while connecting, waiting for headers, or between body chunks. */
  idleTimeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
  /** Hosts (optionally host:port) the SSRF guard lets through although they resolve to internal addresses. */
  allowHosts: readonly string[];
  userAgent: string;
}

/** What the server said about the version we hold, from the last successful fetch. */
export interface Validators {
  etag: string | null;
  lastModified: string | null;
}

export interface FetchedImage {
  kind: 'image';
  bytes: Buffer;
  /** Hex SHA-256 of the bytes: the change key when validators say nothing. */
  sha256: string;
  format: ImageFormat;
  contentType: string;
  etag: string | null;
  lastModified: string | null;
  redirects: number;
}

export type FetchResult = FetchedImage | { kind: 'not-modified'; redirects: number };

export interface FetchOptions {
  validators?: Validators | null;
  /** Host name resolution; tests swap it to play DNS. */
  resolve?: Resolver;
  signal?: AbortSignal;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Formats we ask for: all of them decode (sniff.ts), so content negotiation cannot hand us a dead end. */
const ACCEPT = 'image/avif,image/webp,image/png,image/jpeg,image/gif;q=0.9';

function parseUrl(raw: string, base?: URL): URL {
  let url: URL;
  try {
    url = base ? new URL(raw, base) : new URL(raw);
  } catch {
    throw new ImageError('BAD_URL', `${base ? 'redirect Location' : 'image_url'} ${JSON.stringify(redactImageUrl(raw))} is not a valid absolute URL`, {
      url: redactImageUrl(raw),
      field: 'image_url',
    });
  }
  const shown = redactImageUrl(url.href);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ImageError(
      'SSRF_REFUSED',
      `refused to fetch ${shown}${base ? ' (a redirect target)' : ''}: only http and https URLs are fetched, not ${url.protocol}`,
      {
        url: shown,
        field: 'image_url',
      },
    );
  }
  // Credentials in a URL would be sent, stored and easily logged; catalog images do not need them.
  if (url.username || url.password) {
    throw new ImageError('BAD_URL', `refused to fetch ${shown}: the URL carries credentials (user:password@)`, { url: shown, field: 'image_url' });
  }
  return url;
}

/** `lookup` for http(s).request that answers with the checked address only. */
function pinnedLookup(address: string, family: 4 | 6): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  }) as unknown as LookupFunction;
}

/** Map a socket/abort error to the ImageError an operator can act on. */
function networkError(err: unknown, url: string, deadline: AbortSignal, policy: FetchPolicy): ImageError {
  if (err instanceof ImageError) return err;
  if (deadline.aborted) {
    return new ImageError('TIMEOUT', `${url} took longer than images.timeoutMs (${policy.timeoutMs} ms)`, { url }, { cause: err });
  }
  const e = err as NodeJS.ErrnoException;
  return new ImageError('CONNECT_FAILED', `cannot fetch ${url}: ${e.code ?? e.message}`, { url }, { cause: err });
}

/** `work`, or the signal's reason if it aborts first. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  let onAbort: () => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

function request(
  url: URL,
  target: { address: string; family: 4 | 6 },
  headers: Record<string, string>,
  signal: AbortSignal,
  policy: FetchPolicy,
): Promise<IncomingMessage> {
  const shown = redactImageUrl(url.href);
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request(
      {
        protocol: url.protocol,
        hostname: bareHost(url.hostname),
        port: effectivePort(url),
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers,
        // A fresh connection per hop: a pooled socket could belong to a host checked earlier.
        agent: false,
        lookup: pinnedLookup(target.address, target.family),
        signal,
      },
      (res) => {
        // From here the body's own idle timer (readBody) watches the socket.
        req.setTimeout(0);
        resolve(res);
      },
    );
    // Until the response headers arrive; the body has its own idle timer (readBody).
    req.setTimeout(policy.idleTimeoutMs, () => {
      req.destroy(new ImageError('TIMEOUT', `${shown} sent no response for images.idleTimeoutMs (${policy.idleTimeoutMs} ms)`, { url: shown }));
    });
    req.on('error', reject);
    req.end();
  });
}

function readBody(res: IncomingMessage, shown: string, policy: FetchPolicy): Promise<{ bytes: Buffer; format: ImageFormat }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let format: ImageFormat | null = null;
    let settled = false;
    let idle: NodeJS.Timeout | undefined;
    const finish = (err: unknown, value?: { bytes: Buffer; format: ImageFormat }) => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      if (err) {
        res.destroy();
        reject(err);
      } else {
        resolve(value!);
      }
    };
    const sniff = (bytes: Buffer): boolean => {
      format = sniffImageFormat(bytes);
      if (format) return true;
      const head = bytes.subarray(0, 8).toString('hex').replace(/(..)/g, '$1 ').trim();
      finish(new ImageError('NOT_AN_IMAGE', `${shown} is not a JPEG, PNG, GIF, WebP or AVIF image (first bytes: ${head || 'none'})`, { url: shown }));
      return false;
    };
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(
        () =>
          finish(
            new ImageError('TIMEOUT', `${shown} stalled: no data for images.idleTimeoutMs (${policy.idleTimeoutMs} ms) after ${size} bytes`, { url: shown }),
          ),
        policy.idleTimeoutMs,
      );
    };
    arm();
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > policy.maxBytes) {
        finish(new ImageError('TOO_LARGE', `${shown} is larger than images.maxBytes (${policy.maxBytes} bytes); stopped reading`, { url: shown }));
        return;
      }
      chunks.push(chunk);
      // Sniff as soon as possible: a 50 MB HTML page is refused after its first packet.
      if (format === null && size >= SNIFF_BYTES && !sniff(Buffer.concat(chunks))) return;
      arm();
    });
    res.on('end', () => {
      if (settled) return;
      if (!res.complete) {
        finish(new ImageError('CONNECT_FAILED', `${shown}: the connection closed after ${size} bytes, before the body was complete`, { url: shown }));
        return;
      }
      const bytes = Buffer.concat(chunks);
      if (format === null && !sniff(bytes)) return;
      finish(null, { bytes, format: format! });
    });
    res.on('error', (err) => finish(err));
    res.on('close', () => {
      if (!settled)
        finish(new ImageError('CONNECT_FAILED', `${shown}: the connection closed after ${size} bytes, before the body was complete`, { url: shown }));
    });
  });
}

/**
 * GET `rawUrl` under `policy`. Resolves with the image bytes (or `not-modified` after a 304 to our
 * validators); rejects with ImageError for every way the image can be unusable.
 *
 *   const r = await fetchImage('https://cdn.example.com/sku-1.jpg', policy, { validators: { etag: '"abc"', lastModified: null } });
 *   if (r.kind === 'image') console.log(r.format, r.bytes.length, r.sha256);
 */
export async function fetchImage(rawUrl: string, policy: FetchPolicy, options: FetchOptions = {}): Promise<FetchResult> {
  const hops = { count: 0 };
  try {
    return await fetchHops(rawUrl, policy, options, hops);
  } catch (err) {
    // A failure on a redirect target must still name the catalog's URL, which is what an operator fixes.
    if (err instanceof ImageError && hops.count > 0 && !err.message.includes(redactImageUrl(rawUrl))) {
      throw new ImageError(
        err.code,
        `${err.message} (reached by ${hops.count} redirect(s) from ${redactImageUrl(rawUrl)})`,
        { ...err.context, from: redactImageUrl(rawUrl) },
        { cause: err },
      );
    }
    throw err;
  }
}

async function fetchHops(rawUrl: string, policy: FetchPolicy, options: FetchOptions, hops: { count: number }): Promise<FetchResult> {
  const deadline = AbortSignal.timeout(policy.timeoutMs);
  const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
  const resolve = options.resolve ?? systemResolver;
  const validators = options.validators && (options.validators.etag || options.validators.lastModified) ? options.validators : null;
  const headers: Record<string, string> = {
    'user-agent': policy.userAgent,
    accept: ACCEPT,
    // Images are already compressed; asking for identity also rules out decompression bombs.
    'accept-encoding': 'identity',
    connection: 'close',
  };
  if (validators?.etag) headers['if-none-match'] = validators.etag;
  if (validators?.lastModified) headers['if-modified-since'] = validators.lastModified;

  let url = parseUrl(rawUrl);
  for (let redirects = 0; ; redirects++) {
    const shown = redactImageUrl(url.href);
    // DNS has no timeout of its own here: race it against the deadline.
    const target = await untilAborted(resolveChecked(url, policy.allowHosts, resolve), signal).catch((err: unknown) => {
      throw networkError(err, shown, deadline, policy);
    });
    let res: IncomingMessage;
    try {
      res = await request(url, target, headers, signal, policy);
    } catch (err) {
      throw networkError(err, shown, deadline, policy);
    }
    const status = res.statusCode ?? 0;

    if (REDIRECTS.has(status)) {
      res.destroy();
      const location = res.headers.location;
      if (!location) throw new ImageError('HTTP_STATUS', `${shown} answered ${status} without a Location header`, { url: shown, status });
      if (redirects + 1 > policy.maxRedirects) {
        throw new ImageError('TOO_MANY_REDIRECTS', `${redactImageUrl(rawUrl)} redirected more than images.maxRedirects (${policy.maxRedirects}) times`, {
          url: redactImageUrl(rawUrl),
        });
      }
      hops.count = redirects + 1;
      url = parseUrl(location, url);
      continue;
    }
    if (status === 304 && validators) {
      res.destroy();
      return { kind: 'not-modified', redirects };
    }
    if (status !== 200 && status !== 203) {
      res.destroy();
      throw new ImageError('HTTP_STATUS', `${shown} answered HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`, { url: shown, status });
    }
    const type = mediaType(res.headers['content-type']);
    if (!type?.startsWith('image/')) {
      res.destroy();
      throw new ImageError('NOT_AN_IMAGE', `${shown} has Content-Type ${type ?? '(none)'}, not image/*`, { url: shown, contentType: type });
    }
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > policy.maxBytes) {
      res.destroy();
      throw new ImageError('TOO_LARGE', `${shown} declares ${declared} bytes, more than images.maxBytes (${policy.maxBytes}); not downloaded`, { url: shown });
    }
    let body: { bytes: Buffer; format: ImageFormat };
    try {
      body = await readBody(res, shown, policy);
    } catch (err) {
      throw networkError(err, shown, deadline, policy);
    }
    const etag = typeof res.headers.etag === 'string' ? res.headers.etag : null;
    const lastModified = typeof res.headers['last-modified'] === 'string' ? res.headers['last-modified'] : null;
    return {
      kind: 'image',
      bytes: body.bytes,
      sha256: createHash('sha256').update(body.bytes).digest('hex'),
      format: body.format,
      contentType: type,
      etag,
      lastModified,
      redirects,
    };
  }
}
