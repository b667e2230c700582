/**
 * A real HTTP server on 127.0.0.1 serving catalog images, good and bad, for the image fetcher and
 * job tests (and bench/images.ts). Images are generated with sharp; nothing is downloaded.
 *
 *   /img/<name>            a stored image, with ETag and Last-Modified; honours If-None-Match /
 *                          If-Modified-Since with 304 (unless stored with validators: false)
 *   /status/<code>         that status, a short HTML body
 *   /html                  a web page (text/html)
 *   /fake.jpg              Content-Type image/jpeg, body HTML (the magic bytes must catch it)
 *   /svg                   an SVG (image/svg+xml): an image type itemvec does not decode
 *   /truncated.jpg         the first half of a real JPEG, with a correct Content-Length
 *   /huge-declared.jpg     Content-Length 50 MB: JPEG bytes stream until the client hangs up
 *   /huge-chunked.jpg      50 MB, chunked (no Content-Length): streams until the client hangs up
 *   /lying-length.jpg      Content-Length 1,000 but 3 MB written (the client must still stop)
 *   /drip.jpg?every=<ms>   a JPEG header, then one byte every <ms> (default `dripMs`)
 *   /no-headers            accepts the request and never answers
 *   /redirect?to=<url>     302 to <url> (absolute or relative)
 *   /loop/<n>              302 to /loop/<n+1>, forever
 *   /bomb.png              a 4,000 × 4,000 white PNG of a few dozen KB (a decompression bomb, scaled down)
 *
 * Every request is counted per path (`hits`), with how it was answered (200 / 304 / other).
 */

import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';

export interface StoredImage {
  bytes: Buffer;
  type: string;
  etag: string;
  lastModified: string;
  /** false: never answer 304 (a server without conditional request support). */
  validators: boolean;
}

export interface ImageServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** `127.0.0.1:<port>`, the allowlist entry that opens this server and nothing else. */
  hostPort: string;
  put(name: string, bytes: Buffer, opts?: { type?: string; validators?: boolean }): void;
  hits: Map<string, { total: number; ok: number; notModified: number; other: number }>;
  resetHits(): void;
  close(): Promise<void>;
}

/** A solid-colour JPEG (or PNG/WebP/GIF), optionally with stripes so CNN features have something to see. */
export async function makeImage(opts: {
  width?: number;
  height?: number;
  color: [number, number, number];
  stripes?: [number, number, number];
  /** Stripe period in pixels. */
  period?: number;
  format?: 'jpeg' | 'png' | 'webp' | 'gif';
  quality?: number;
}): Promise<Buffer> {
  const width = opts.width ?? 320;
  const height = opts.height ?? 240;
  const data = Buffer.alloc(width * height * 3);
  const period = opts.period ?? 24;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = opts.stripes && Math.floor((x + y) / period) % 2 === 1 ? opts.stripes : opts.color;
      data.set(c, (y * width + x) * 3);
    }
  }
  const img = sharp(data, { raw: { width, height, channels: 3 } });
  switch (opts.format ?? 'jpeg') {
    case 'png':
      return img.png().toBuffer();
    case 'webp':
      return img.webp().toBuffer();
    case 'gif':
      return img.gif().toBuffer();
    default:
      return img.jpeg({ quality: opts.quality ?? 85 }).toBuffer();
  }
}

const HTML = Buffer.from('<!doctype html><html><head><title>Not found</title></head><body><h1>Sorry</h1><p>This page is not an image.</p></body></html>');

export async function startImageServer(opts: { dripMs?: number } = {}): Promise<ImageServer> {
  const dripMs = opts.dripMs ?? 300;
  const images = new Map<string, StoredImage>();
  const hits = new Map<string, { total: number; ok: number; notModified: number; other: number }>();
  const sample = await makeImage({ color: [200, 30, 30], stripes: [250, 250, 250], width: 400, height: 300 });
  let bomb: Promise<Buffer> | undefined;
  const sockets = new Set<import('node:net').Socket>();
  let version = 0;

  const count = (path: string, outcome: 'ok' | 'notModified' | 'other') => {
    const h = hits.get(path) ?? { total: 0, ok: 0, notModified: 0, other: 0 };
    h.total += 1;
    h[outcome] += 1;
    hits.set(path, h);
  };

  /** Write JPEG-looking bytes until the client goes away or `limit` is reached. */
  const stream = (res: ServerResponse, limit: number) => {
    const chunk = Buffer.alloc(64 * 1024, 0x42);
    sample.copy(chunk, 0, 0, Math.min(sample.length, 1024));
    let sent = 0;
    const pump = () => {
      while (sent < limit && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end();
    };
    pump();
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://localhost');
    const p = u.pathname;
    if (p.startsWith('/img/')) {
      const img = images.get(decodeURIComponent(p.slice(5)));
      if (!img) {
        count(p, 'other');
        res.writeHead(404, { 'content-type': 'text/html' }).end(HTML);
        return;
      }
      const fresh =
        img.validators &&
        (req.headers['if-none-match'] === img.etag || (!req.headers['if-none-match'] && req.headers['if-modified-since'] === img.lastModified));
      if (fresh) {
        count(p, 'notModified');
        res.writeHead(304, { etag: img.etag, 'last-modified': img.lastModified }).end();
        return;
      }
      count(p, 'ok');
      const headers: Record<string, string | number> = { 'content-type': img.type, 'content-length': img.bytes.length };
      if (img.validators) Object.assign(headers, { etag: img.etag, 'last-modified': img.lastModified });
      res.writeHead(200, headers).end(img.bytes);
      return;
    }
    count(p, p === '/no-headers' || p.startsWith('/huge') || p === '/drip.jpg' ? 'other' : 'ok');
    if (p.startsWith('/status/')) {
      res.writeHead(Number(p.slice(8)), { 'content-type': 'text/html' }).end(HTML);
    } else if (p === '/html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(HTML);
    } else if (p === '/fake.jpg') {
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': HTML.length }).end(HTML);
    } else if (p === '/svg') {
      const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="red"/></svg>');
      res.writeHead(200, { 'content-type': 'image/svg+xml', 'content-length': svg.length }).end(svg);
    } else if (p === '/truncated.jpg') {
      const half = sample.subarray(0, Math.floor(sample.length / 2));
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': half.length }).end(half);
    } else if (p === '/huge-declared.jpg') {
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': 50 * 1024 * 1024 });
      stream(res, 50 * 1024 * 1024);
    } else if (p === '/huge-chunked.jpg') {
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      stream(res, 50 * 1024 * 1024);
    } else if (p === '/lying-length.jpg') {
      // The header promises 1,000 bytes; the socket carries 3 MB. Written raw: Node's own
      // response object would refuse to send more than it declared.
      const body = Buffer.alloc(3 * 1024 * 1024, 0x42);
      sample.copy(body, 0, 0, 1024);
      req.socket.write(`HTTP/1.1 200 OK\r\ncontent-type: image/jpeg\r\ncontent-length: 1000\r\nconnection: close\r\n\r\n`);
      req.socket.end(body);
    } else if (p === '/drip.jpg') {
      const every = Number(u.searchParams.get('every') ?? dripMs);
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      res.write(sample.subarray(0, 32));
      let i = 32;
      const timer = setInterval(() => {
        if (res.destroyed || i >= sample.length) {
          clearInterval(timer);
          if (!res.destroyed) res.end();
          return;
        }
        res.write(sample.subarray(i, i + 1));
        i += 1;
      }, every);
      res.on('close', () => clearInterval(timer));
    } else if (p === '/no-headers') {
      // Say nothing; the client's timeouts must end it.
    } else if (p === '/redirect') {
      res.writeHead(302, { location: u.searchParams.get('to') ?? '/' }).end();
    } else if (p.startsWith('/loop/')) {
      res.writeHead(302, { location: `/loop/${Number(p.slice(6)) + 1}` }).end();
    } else if (p === '/bomb.png') {
      bomb ??= sharp({ create: { width: 4000, height: 4000, channels: 3, background: { r: 255, g: 255, b: 255 } } })
        .png({ compressionLevel: 9 })
        .toBuffer();
      void bomb.then((b) => res.writeHead(200, { 'content-type': 'image/png', 'content-length': b.length }).end(b));
    } else {
      res.writeHead(404, { 'content-type': 'text/html' }).end(HTML);
    }
  };

  const server: Server = createServer(handler);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hostPort: `127.0.0.1:${port}`,
    put(name, bytes, o = {}) {
      version += 1;
      images.set(name, {
        bytes,
        type: o.type ?? 'image/jpeg',
        etag: `"${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}"`,
        lastModified: new Date(Date.UTC(2026, 0, 1) + version * 1000).toUTCString(),
        validators: o.validators ?? true,
      });
    },
    hits,
    resetHits: () => hits.clear(),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
