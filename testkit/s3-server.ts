/**
 * A throwaway S3-compatible server for tests: s3rver 3.7.1 (Koa app, filesystem store) on 127.0.0.1
 * with an ephemeral port, a fresh temp directory and one pre-created bucket, logging silenced.
 * Only loopback networking.
 *
 * Why a child process: s3rver builds ListObjectsV2 continuation tokens with single DES
 * (`crypto.createCipheriv('des', ...)`). Node 17+ ships OpenSSL 3, where DES lives in the "legacy"
 * provider that is not loaded by default, so as soon as a listing is truncated (more keys than
 * max-keys) s3rver throws "digital envelope routines::unsupported" and answers HTTP 500 InternalError.
 * The legacy provider can only be enabled at process start (`--openssl-legacy-provider`), so the
 * server runs in its own Node process started with that flag; the test process stays untouched.
 *
 * Clients must use path-style addressing (`forcePathStyle: true`; createS3ObjectStore defaults to it
 * when an endpoint is given): the endpoint is an IP address, so `<bucket>.127.0.0.1` cannot resolve.
 * s3rver accepts any SigV4 request signed with access key `S3RVER` (it does not verify V4 signatures).
 *
 * Other s3rver deviations from S3 worth knowing (they are not fixed here):
 *  - it lists by walking folders depth-first, so "a/x" comes before "a.b" although S3 orders keys by
 *    UTF-8 bytes ("." 0x2E < "/" 0x2F); with pagination this can even skip such keys;
 *  - it ignores `x-amz-checksum-*` and `Content-MD5`, and stores an `aws-chunked` (streamed, checksum
 *    trailer) upload verbatim, framing included. See the checksum note in src/objects/s3.ts.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Credentials s3rver's built-in dummy account accepts. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface TestS3Server {
  /** e.g. `http://127.0.0.1:41234` */
  endpoint: string;
  bucket: string;
  close(): Promise<void>;
}

/** Runs in the child (plain CommonJS, no tsx). Config comes in through the environment. */
const CHILD_SCRIPT = `
const S3rver = require(process.env.S3RVER_MODULE);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: process.env.S3RVER_DIRECTORY,
  vhostBuckets: false,
  configureBuckets: [{ name: process.env.S3RVER_BUCKET }],
});
server.run().then(
  (address) => process.send({ type: 'ready', port: address.port }),
  (err) => { process.send({ type: 'error', message: String(err && err.stack || err) }); process.exit(1); },
);
const stop = () => server.close().catch(() => {}).then(() => process.exit(0));
process.on('message', (m) => { if (m === 'close') stop(); });
// Never outlive the test process.
process.on('disconnect', stop);
`;

const require = createRequire(import.meta.url);
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

export async function startS3Server(): Promise<TestS3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'itemvec-s3rver-'));
  const bucket = 'itemvec-test';
  // fork() = node + an IPC channel. `-e` runs the script as the entry point; execArgv replaces the
  // parent's (--import tsx etc.) with just the OpenSSL flag.
  const child = fork('-e', [CHILD_SCRIPT], {
    execPath: process.execPath,
    execArgv: ['--openssl-legacy-provider'],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, S3RVER_MODULE: require.resolve('s3rver'), S3RVER_DIRECTORY: directory, S3RVER_BUCKET: bucket },
  });
  // fork(modulePath='-e') runs `node --openssl-legacy-provider -e <script>`.

  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });

  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`s3rver did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      child.on('message', (m: { type?: string; port?: number; message?: string }) => {
        if (m.type === 'ready' && typeof m.port === 'number') {
          clearTimeout(timer);
          resolve(m.port);
        } else if (m.type === 'error') {
          clearTimeout(timer);
          reject(new Error(`s3rver failed to start: ${m.message ?? ''}`));
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`s3rver process exited early (code ${code}, signal ${signal}): ${stderr.trim()}`));
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  } catch (err) {
    await stopChild(child);
    await rm(directory, { recursive: true, force: true });
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    close() {
      closing ??= stopChild(child).finally(() => rm(directory, { recursive: true, force: true }));
      return closing;
    },
  };
}

/** Ask the child to close its server and exit; kill it (by its own pid) if it does not. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.send('close');
  else child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS);
  });
  if ((await Promise.race([exited, timedOut])) === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
  clearTimeout(timer);
}
