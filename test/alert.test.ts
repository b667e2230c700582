/**
 * Alerts and pushed metrics, against real local HTTP receivers: the webhook body, its retries under
 * the one retry policy, the secret URL kept out of logs; and a one-shot `itemvec run` with 10 % of
 * its items failing: exit code 6, the error log line, the webhook POST and the Pushgateway PUT.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { failureRateAlert, sendAlert } from '../src/alert.js';
import { createLogger } from '../src/log.js';
import type { RunSummary } from '../src/pipeline/summary.js';
import { sampleItems, tempDir, writeJsonl } from '../testkit/fixtures.js';
import { type OpenAIServer, startOpenAIServer } from '../testkit/openai-server.js';
import { type Receiver, startReceiver } from '../testkit/receiver.js';
import { CLI_PROCESS_ARGS } from '../testkit/run-cli.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const exec = promisify(execFile);
/** The part of a Slack webhook URL that is the secret. */
const SECRET = 'T000/B000/XXXXsecretXXXX';

let hook: Receiver;
let gateway: Receiver;
let openai: OpenAIServer;

before(async () => {
  hook = await startReceiver();
  gateway = await startReceiver();
  openai = await startOpenAIServer({ poison: 'POISON' });
});
after(async () => {
  await hook?.close();
  await gateway?.close();
  await openai?.close();
});

function captureLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines };
}

const summary = (over: Partial<RunSummary> = {}): RunSummary => ({
  run_id: '1b4e28ba-2fa1-4d3b-8c5e-0f6a3e2d9c71',
  version: 'v1',
  modality: 'text',
  provider: 'openai',
  model: 'text-embedding-3-small',
  dims: 32,
  items_seen: 200,
  rejected: 4,
  duplicates: 0,
  cleaned: 0,
  truncated: 0,
  dead_letters_unwritten: 0,
  embedded: 176,
  skipped_unchanged: 0,
  cache_hits: 0,
  lexical_indexed: 0,
  sample: 1,
  sampled_out: 0,
  failed: 20,
  failure_rate: 0.12,
  alert: true,
  dry_run: false,
  chunks: 196,
  api_calls: 12,
  retries: 0,
  retries_by_cause: {},
  tokens: 5000,
  cost_usd: 0.0001,
  mode: 'sync',
  batches: { submitted: 0, loaded: 0, pending: 0, items_in_open_batches: 0 },
  latency_ms_mean: 40,
  latency_ms_p95: 90,
  wall_s: 2,
  items_per_s: 100,
  parquet_parts: 1,
  objects_url: 'file:///tmp/x',
  database: '/tmp/x',
  ...over,
});

test('the webhook gets a Slack-compatible body; a 503 is retried, a 400 is not; the URL never reaches a log line', async () => {
  const settings = { webhookUrl: `${hook.url}/services/${SECRET}`, timeoutMs: 2_000, maxRetries: 3 };
  const message = failureRateAlert(summary(), 0.05, { namespace: 'default' });

  hook.script([{ status: 503 }]);
  const { logger, lines } = captureLogger();
  const start = hook.requests.length;
  assert.equal(await sendAlert(settings, message, logger), 'sent');
  const [first, second] = hook.requests.slice(start);
  assert.equal(hook.requests.length - start, 2, 'one retry after the 503');
  assert.equal(second!.method, 'POST');
  assert.equal(second!.path, `/services/${SECRET}`);
  assert.equal(second!.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(second!.body), JSON.parse(first!.body));
  const body = JSON.parse(second!.body) as { text: string; blocks: Array<{ type: string }> };
  assert.match(
    body.text,
    /failure rate 12\.0% is above the 5\.0% threshold: 24 of 200 items failed in run 1b4e28ba-2fa1-4d3b-8c5e-0f6a3e2d9c71 \(text, namespace default, version v1\)/,
  );
  assert.deepEqual(
    body.blocks.map((b) => b.type),
    ['header', 'section', 'context'],
  );

  hook.script([{ status: 400, body: 'invalid_payload' }]);
  const before400 = hook.requests.length;
  assert.equal(await sendAlert(settings, message, logger), 'failed');
  assert.equal(hook.requests.length - before400, 1, 'a 4xx other than 429 is not retried');

  // Nothing listens on port 9 (discard): a connection error, retried, then a warning.
  assert.equal(await sendAlert({ webhookUrl: `http://127.0.0.1:9/services/${SECRET}`, timeoutMs: 500, maxRetries: 1 }, message, logger), 'failed');

  const log = lines.join('');
  assert.match(log, /alert webhook failed \(UNAVAILABLE\); retry 1/);
  assert.match(log, /HTTP 400 invalid_payload/);
  assert.ok(!log.includes(SECRET) && !log.includes('/services/'), 'the webhook URL is a secret');
  assert.equal(await sendAlert({ timeoutMs: 1_000, maxRetries: 0 }, message, logger), 'skipped');
});

test('itemvec run with 10 % of items failing: exit code 6, an error log line, the webhook POST and the Pushgateway PUT', async () => {
  const home = await tempDir();
  const items = sampleItems(100, 'alert').map((item, i) => (i % 10 === 3 ? { ...item, description: `${item.description} POISON` } : item));
  const catalog = await writeJsonl(path.join(home, 'catalog.jsonl'), items);
  const hookStart = hook.requests.length;
  let result: { code: number; stdout: string; stderr: string };
  try {
    const out = await exec(
      process.execPath,
      [
        ...CLI_PROCESS_ARGS,
        'run',
        '--catalog',
        catalog,
        '--home',
        home,
        '--json',
        '--no-index',
        '--provider',
        'openai',
        '--model',
        'text-embedding-3-small',
        '--dims',
        '32',
        '--base-url',
        openai.url,
      ],
      {
        cwd: root,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          OPENAI_API_KEY: 'sk-test',
          ITEMVEC_LOG_LEVEL: 'info',
          ITEMVEC_ALERT_WEBHOOK: `${hook.url}/services/${SECRET}`,
          ITEMVEC_PUSHGATEWAY_URL: gateway.url,
        },
      },
    );
    result = { code: 0, ...out };
  } catch (err) {
    result = err as { code: number; stdout: string; stderr: string };
  }
  assert.equal(result.code, 6, result.stderr);
  const s = JSON.parse(result.stdout) as RunSummary;
  assert.deepEqual([s.failed, s.embedded, s.failure_rate, s.alert], [10, 90, 0.1, true]);

  const lines = result.stderr
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { level: number; msg: string; failure_rate?: number });
  const alertLine = lines.find((l) => l.msg.startsWith('failure rate'));
  assert.equal(alertLine?.msg, 'failure rate 10.0% is above the 5.0% threshold');
  assert.equal(alertLine?.level, 50, 'logged at error');
  assert.equal(alertLine?.failure_rate, 0.1);
  assert.ok(!result.stderr.includes(SECRET), 'the webhook URL is never logged');

  const [post] = hook.requests.slice(hookStart);
  assert.equal(post?.method, 'POST');
  assert.match((JSON.parse(post!.body) as { text: string }).text, /failure rate 10\.0% is above the 5\.0% threshold: 10 of 100 items failed/);

  const [push] = gateway.requests;
  assert.equal(push?.method, 'PUT');
  assert.equal(push?.path, '/metrics/job/itemvec_run/namespace/default/version/v1/modality/text');
  assert.match(push!.body, /^itemvec_embed_items_total\{modality="text",outcome="embedded"\} 90$/m);
  assert.match(push!.body, /^itemvec_embed_failures_total\{modality="text",stage="embed",code="BAD_REQUEST"\} 10$/m);
  assert.match(push!.body, /^itemvec_embed_request_inputs_count\{modality="text"\} \d+$/m);
  assert.match(push!.body, /^itemvec_embed_cost_usd_total\{modality="text"\} [0-9.e-]+$/m);
  assert.match(push!.body, /^itemvec_embed_runs_total\{modality="text",status="alert"\} 1$/m);
});
