/**
 * The image fetcher and its SSRF guard against a real HTTP server on 127.0.0.1
 * (testkit/image-server.ts). The server is reachable only because the allowlist opens exactly
 * `127.0.0.1:<port>`; every other internal address must be refused, also after redirects and DNS.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { loadConfig } from '../src/config.js';
import { decodeImage } from '../src/images/decode.js';
import { ImageError } from '../src/images/errors.js';
import { type FetchPolicy, fetchImage } from '../src/images/fetch.js';
import { sniffImageFormat } from '../src/images/sniff.js';
import { blockedReason, isAllowlisted, resolveChecked } from '../src/images/ssrf.js';
import { redactImageUrl } from '../src/images/url.js';
import { tempDir } from '../testkit/fixtures.js';
import { type ImageServer, makeImage, startImageServer } from '../testkit/image-server.js';

let server: ImageServer;
let policy: FetchPolicy;

before(async () => {
  server = await startImageServer({ dripMs: 200 });
  server.put('red.jpg', await makeImage({ color: [220, 20, 20] }));
  server.put('blue.png', await makeImage({ color: [20, 20, 220], format: 'png' }), { type: 'image/png' });
  server.put('green.webp', await makeImage({ color: [20, 200, 20], format: 'webp' }), { type: 'image/webp' });
  server.put('plain.gif', await makeImage({ color: [90, 90, 90], format: 'gif' }), { type: 'image/gif' });
  policy = { timeoutMs: 3_000, idleTimeoutMs: 600, maxBytes: 2 * 1024 * 1024, maxRedirects: 3, allowHosts: [server.hostPort], userAgent: 'itemvec-test' };
});
after(() => server?.close());

/** The ImageError `fetchImage` rejects with. */
async function refusal(url: string, p: FetchPolicy = policy, resolve?: (h: string) => Promise<string[]>): Promise<ImageError> {
  try {
    await fetchImage(url, p, { resolve });
  } catch (err) {
    assert.ok(err instanceof ImageError, `expected an ImageError, got ${String(err)}`);
    return err;
  }
  assert.fail(`fetching ${url} should have failed`);
}

describe('configuration', () => {
  test('images defaults, environment and validation', () => {
    const defaults = loadConfig({ env: {} }).images;
    assert.deepEqual([defaults.provider, defaults.maxRedirects, defaults.allowHosts, defaults.maxBytes], ['mobilenet', 3, [], 15 * 1024 * 1024]);
    const fromEnv = loadConfig({
      env: { ITEMVEC_IMAGE_ALLOW_HOSTS: 'cdn.internal, 10.0.0.5:8080', ITEMVEC_IMAGE_MODEL_DIR: '/models/clip', ITEMVEC_IMAGE_TIMEOUT_MS: '5000' },
    }).images;
    assert.deepEqual(
      [fromEnv.allowHosts, fromEnv.provider, fromEnv.modelDir, fromEnv.timeoutMs],
      [['cdn.internal', '10.0.0.5:8080'], 'clip', '/models/clip', 5000],
    );
    assert.throws(() => loadConfig({ env: {}, overrides: { images: { maxRedirects: 50 } } }), /images\.maxRedirects/);
  });
});

describe('address classification', () => {
  test('internal, special and mapped addresses are blocked; public ones pass', () => {
    const blocked = [
      '127.0.0.1',
      '127.9.9.9',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '192.0.2.10',
      '198.18.0.1',
      '::1',
      '::',
      'fe80::1',
      'fc00::1',
      'fd12:3456::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:169.254.169.254',
      '::ffff:10.0.0.1',
      '0:0:0:0:0:ffff:7f00:1',
      '64:ff9b::7f00:1',
      '2002:7f00:1::1',
      '2001:0:4136:e378::1',
      '2001:db8::1',
      '::7f00:1',
    ];
    for (const a of blocked) assert.ok(blockedReason(a), `${a} must be blocked`);
    for (const a of ['8.8.8.8', '93.184.216.34', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) {
      assert.equal(blockedReason(a), null, `${a} is public`);
    }
    assert.match(blockedReason('169.254.169.254')!, /link-local/);
    assert.match(blockedReason('::ffff:127.0.0.1')!, /IPv4-mapped loopback/);
    assert.equal(blockedReason('not-an-ip'), 'not an IP address');
  });

  test('the allowlist matches the host as written, with or without a port', () => {
    const u = (s: string) => new URL(s);
    assert.ok(isAllowlisted(u('http://127.0.0.1:8080/a'), ['127.0.0.1:8080']));
    assert.ok(!isAllowlisted(u('http://127.0.0.1:8081/a'), ['127.0.0.1:8080']));
    assert.ok(isAllowlisted(u('http://CDN.Internal/a'), ['cdn.internal']));
    assert.ok(isAllowlisted(u('https://cdn.internal:9443/a'), ['cdn.internal']));
    assert.ok(isAllowlisted(u('http://[::1]:9000/a'), ['[::1]:9000']));
    assert.ok(isAllowlisted(u('http://cdn.internal/a'), ['cdn.internal:80']));
    assert.ok(!isAllowlisted(u('https://cdn.internal/a'), ['cdn.internal:80']));
    assert.ok(!isAllowlisted(u('http://localhost:8080/a'), ['127.0.0.1:8080']), 'a name is not opened by its address');
    assert.ok(!isAllowlisted(u('http://127.0.0.1/a'), ['localhost']));
  });

  test('a host resolving to any internal address is refused, even among public ones (rebinding)', async () => {
    const dns = async (host: string) => (host === 'mixed.example' ? ['93.184.216.34', '10.0.0.7'] : ['93.184.216.34']);
    const err = await resolveChecked(new URL('http://mixed.example/x.jpg'), [], dns).then(
      () => assert.fail('should refuse'),
      (e: unknown) => e as ImageError,
    );
    assert.equal(err.code, 'SSRF_REFUSED');
    assert.match(err.message, /10\.0\.0\.7 is private .*mixed\.example resolves to 10\.0\.0\.7/);
    assert.deepEqual(await resolveChecked(new URL('http://public.example/x.jpg'), [], dns), { address: '93.184.216.34', family: 4 });
  });

  test('URLs are redacted: credentials and every query value', () => {
    assert.equal(
      redactImageUrl('https://user:pw@cdn.example.com/a.jpg?X-Amz-Signature=abc123&w=400#frag'),
      'https://cdn.example.com/a.jpg?X-Amz-Signature=***&w=***',
    );
    assert.equal(redactImageUrl('not a url?token=secret'), 'not a url…');
  });

  test('magic bytes', async () => {
    assert.equal(sniffImageFormat(await makeImage({ color: [1, 2, 3] })), 'jpeg');
    assert.equal(sniffImageFormat(await makeImage({ color: [1, 2, 3], format: 'png' })), 'png');
    assert.equal(sniffImageFormat(await makeImage({ color: [1, 2, 3], format: 'webp' })), 'webp');
    assert.equal(sniffImageFormat(await makeImage({ color: [1, 2, 3], format: 'gif' })), 'gif');
    assert.equal(sniffImageFormat(Buffer.from('<!doctype html><html>')), null);
    assert.equal(sniffImageFormat(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg">')), null);
  });
});

describe('fetchImage on a real server', () => {
  test('good images of every format arrive with their validators, and decode', async () => {
    for (const [name, format] of [
      ['red.jpg', 'jpeg'],
      ['blue.png', 'png'],
      ['green.webp', 'webp'],
      ['plain.gif', 'gif'],
    ] as const) {
      const r = await fetchImage(`${server.url}/img/${name}`, policy);
      assert.equal(r.kind, 'image');
      if (r.kind !== 'image') return;
      assert.equal(r.format, format);
      assert.match(r.sha256, /^[0-9a-f]{64}$/);
      assert.ok(r.etag && r.lastModified);
      const d = await decodeImage(r.bytes, { size: 64, maxPixels: 1e7 });
      assert.deepEqual([d.width, d.height, d.data.length], [64, 64, 64 * 64 * 3]);
    }
  });

  test('conditional requests: the stored ETag gets a 304 and no body', async () => {
    const first = await fetchImage(`${server.url}/img/red.jpg`, policy);
    assert.equal(first.kind, 'image');
    if (first.kind !== 'image') return;
    const again = await fetchImage(`${server.url}/img/red.jpg`, policy, { validators: { etag: first.etag, lastModified: first.lastModified } });
    assert.equal(again.kind, 'not-modified');
    const stale = await fetchImage(`${server.url}/img/red.jpg`, policy, { validators: { etag: '"other"', lastModified: null } });
    assert.equal(stale.kind, 'image');
  });

  test('a redirect on the allowlisted host is followed', async () => {
    const r = await fetchImage(`${server.url}/redirect?to=/img/blue.png`, policy);
    assert.equal(r.kind, 'image');
    assert.equal(r.redirects, 1);
  });

  const cases: Array<[string, string, string, RegExp]> = [
    ['404', '/status/404', 'HTTP_STATUS', /answered HTTP 404/],
    ['500', '/status/500', 'HTTP_STATUS', /answered HTTP 500/],
    ['an HTML page', '/html', 'NOT_AN_IMAGE', /Content-Type text\/html, not image/],
    ['HTML labelled image/jpeg', '/fake.jpg', 'NOT_AN_IMAGE', /not a JPEG, PNG, GIF, WebP or AVIF image \(first bytes: 3c 21 64 6f/],
    ['an SVG', '/svg', 'NOT_AN_IMAGE', /not a JPEG, PNG/],
    ['a declared 50 MB body', '/huge-declared.jpg', 'TOO_LARGE', /declares 52428800 bytes, more than images\.maxBytes/],
    ['a chunked 50 MB body', '/huge-chunked.jpg', 'TOO_LARGE', /larger than images\.maxBytes .*stopped reading/],
    ['a body that stalls', '/drip.jpg?every=2000', 'TIMEOUT', /stalled: no data for images\.idleTimeoutMs \(600 ms\) after 32 bytes/],
    ['a server that never answers', '/no-headers', 'TIMEOUT', /sent no response for images\.idleTimeoutMs/],
    [
      'a redirect to a loopback name that is not allowlisted',
      '/redirect?to=http://localhost:PORT/img/red.jpg',
      'SSRF_REFUSED',
      /localhost resolves to (127\.0\.0\.1|::1)/,
    ],
    ['a redirect to another loopback address', '/redirect?to=http://127.0.0.2:PORT/img/red.jpg', 'SSRF_REFUSED', /127\.0\.0\.2 is loopback/],
    ['a redirect to the metadata service', '/redirect?to=http://169.254.169.254/latest/meta-data/', 'SSRF_REFUSED', /169\.254\.169\.254 is link-local/],
    ['a redirect to file://', '/redirect?to=file:///etc/passwd', 'SSRF_REFUSED', /only http and https .* not file:/],
    ['a redirect loop', '/loop/0', 'TOO_MANY_REDIRECTS', /more than images\.maxRedirects \(3\)/],
  ];
  for (const [what, pathname, code, message] of cases) {
    test(`${what} → ${code}`, async () => {
      const err = await refusal(`${server.url}${pathname.replace('PORT', String(server.port))}`);
      assert.equal(err.code, code, err.message);
      assert.match(err.message, message);
    });
  }

  test('a lying Content-Length never yields more than maxBytes', async () => {
    // Node's HTTP parser stops at the declared 1,000 bytes; the rest of the socket is ignored.
    const r = await fetchImage(`${server.url}/lying-length.jpg`, { ...policy, maxBytes: 10_000 });
    assert.equal(r.kind, 'image');
    assert.equal(r.kind === 'image' && r.bytes.length, 1000);
  });

  test('a slow drip (a byte every 200 ms, never idle long enough) is ended by the total timeout', async () => {
    const err = await refusal(`${server.url}/drip.jpg?every=200`, { ...policy, timeoutMs: 800 });
    assert.equal(err.code, 'TIMEOUT');
    assert.match(err.message, /took longer than images\.timeoutMs \(800 ms\)/);
  });

  test('internal URLs are refused before any connection', async () => {
    const before = server.hits.get('/img/red.jpg')?.total ?? 0;
    for (const url of [
      `http://localhost:${server.port}/img/red.jpg`,
      `http://[::1]:${server.port}/img/red.jpg`,
      `http://[::ffff:127.0.0.1]:${server.port}/img/red.jpg`,
      // 127.0.0.1 spelled as a number: the URL parser normalises it, port 80 is not allowlisted.
      'http://2130706433/img/red.jpg',
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.1/a.jpg',
    ]) {
      const err = await refusal(url);
      assert.equal(err.code, 'SSRF_REFUSED', `${url}: ${err.message}`);
      assert.match(err.message, /images\.allowHosts/);
    }
    assert.equal(server.hits.get('/img/red.jpg')?.total ?? 0, before, 'no request reached the server');
  });

  test('a name that resolves to loopback is refused unless that name is allowlisted', async () => {
    const dns = async () => ['127.0.0.1'];
    const url = `http://images.test:${server.port}/img/red.jpg`;
    assert.equal((await refusal(url, policy, dns)).code, 'SSRF_REFUSED');
    const r = await fetchImage(url, { ...policy, allowHosts: [`images.test:${server.port}`] }, { resolve: dns });
    assert.equal(r.kind, 'image', 'the fetch connects to the checked address, with the name in the Host header');
  });

  test('bad URLs and other schemes', async () => {
    assert.equal((await refusal('not a url')).code, 'BAD_URL');
    assert.equal((await refusal('/relative/path.jpg')).code, 'BAD_URL');
    assert.equal((await refusal(`http://user:secret@${server.hostPort}/img/red.jpg`)).code, 'BAD_URL');
    assert.ok(!(await refusal(`http://user:secret@${server.hostPort}/img/red.jpg`)).message.includes('secret'));
    assert.equal((await refusal('ftp://example.com/a.jpg')).code, 'SSRF_REFUSED');
    assert.equal((await refusal('file:///etc/passwd')).code, 'SSRF_REFUSED');
    assert.equal((await refusal('http://does-not-exist.invalid/a.jpg')).code, 'DNS_FAILED');
  });

  test('a truncated JPEG and a decompression bomb fail at decode with their reason', async () => {
    const truncated = await fetchImage(`${server.url}/truncated.jpg`, policy);
    assert.equal(truncated.kind, 'image');
    if (truncated.kind !== 'image') return;
    await assert.rejects(
      decodeImage(truncated.bytes, { size: 64, maxPixels: 1e7 }),
      (e: ImageError) => e.code === 'DECODE_FAILED' && /truncated or corrupt/.test(e.message),
    );
    const bomb = await fetchImage(`${server.url}/bomb.png`, policy);
    assert.equal(bomb.kind, 'image');
    if (bomb.kind !== 'image') return;
    assert.ok(bomb.bytes.length < 1024 * 1024, `${bomb.bytes.length} bytes on the wire`);
    await assert.rejects(
      decodeImage(bomb.bytes, { size: 64, maxPixels: 4_000_000 }),
      (e: ImageError) => e.code === 'TOO_LARGE' && /images\.maxPixels/.test(e.message),
    );
  });
});

describe('https through the pinned address', () => {
  const hasOpenssl = (() => {
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  test('TLS still names the host (SNI) and verifies its certificate', {
    skip: hasOpenssl ? false : 'needs the openssl binary to make a certificate',
  }, async () => {
    const dir = await tempDir();
    const [keyFile, certFile] = [path.join(dir, 'key.pem'), path.join(dir, 'cert.pem')];
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '2',
        '-subj',
        '/CN=images.test',
        '-addext',
        'subjectAltName=DNS:images.test',
      ],
      { stdio: 'ignore' },
    );
    const [key, cert] = await Promise.all([readFile(keyFile), readFile(certFile)]);
    const names: string[] = [];
    const tlsServer = https.createServer(
      {
        key,
        cert,
        SNICallback: (name, cb) => {
          names.push(name);
          cb(null, tls.createSecureContext({ key, cert }));
        },
      },
      (_req, res) => res.end(),
    );
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    try {
      const port = (tlsServer.address() as AddressInfo).port;
      const err = await refusal(`https://images.test:${port}/a.jpg`, { ...policy, allowHosts: [`images.test:${port}`] }, async () => ['127.0.0.1']);
      // A self-signed certificate is refused: verification is on although the address was pinned.
      assert.equal(err.code, 'CONNECT_FAILED');
      assert.match(err.message, /SELF_SIGNED/);
      assert.deepEqual(names, ['images.test']);
    } finally {
      tlsServer.close();
    }
  });
});
