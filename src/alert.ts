/**
 * Alerts: a Slack-compatible JSON body (`{"text": …, "blocks": […]}`, which Slack, Mattermost,
 * Rocket.Chat and most chat webhooks accept) POSTed to `alert.webhookUrl` (ITEMVEC_ALERT_WEBHOOK)
 * when a run ends above the failure-rate threshold or a distributed run fails.
 *
 * The webhook URL is a secret (whoever has it can post to the channel), so it is never logged or
 * put in an error message, not even its host. Delivery uses the one retry policy (withRetries):
 * timeouts, connection errors, 429 and 5xx are retried; another 4xx is not. An alert that cannot be
 * delivered is a warning, never a crash: the exit code and the error log line already carry it.
 */
import type { Config } from './config.js';
import { ExitCode, errorMessage, ItemvecError } from './errors.js';
import type { Logger } from './log.js';
import type { RunSummary } from './pipeline/summary.js';
import { withRetries } from './retry.js';

type TextObject = { type: 'mrkdwn' | 'plain_text'; text: string };
export interface SlackMessage {
  /** The notification text (and the whole message for webhooks that ignore blocks). */
  text: string;
  blocks: Array<
    { type: 'header'; text: TextObject } | { type: 'section'; text?: TextObject; fields?: TextObject[] } | { type: 'context'; elements: TextObject[] }
  >;
}

/** Why a webhook POST failed; `code` decides whether withRetries tries again. */
export class AlertError extends ItemvecError {
  constructor(code: 'UNAVAILABLE' | 'TIMEOUT' | 'RATE_LIMITED' | 'ALERT_REJECTED', message: string, context: { status?: number; retryAfterMs?: number } = {}) {
    super(code, message, ExitCode.unexpected, context);
  }
}

const percent = (rate: number) => `${(rate * 100).toFixed(1)}%`;
const field = (label: string, value: string | number): TextObject => ({ type: 'mrkdwn', text: `*${label}*\n${value}` });

/** The alert for a run that finished above the threshold (one-shot, or a distributed run's close). */
export function failureRateAlert(summary: RunSummary, threshold: number, where: { namespace: string; shards?: number }): SlackMessage {
  const failed = summary.failed + summary.rejected;
  const attempted = summary.items_seen - summary.sampled_out;
  const headline = `itemvec: failure rate ${percent(summary.failure_rate)} is above the ${percent(threshold)} threshold`;
  const detail = `${failed} of ${attempted} items failed in run ${summary.run_id} (${summary.modality}, namespace ${where.namespace}, version ${summary.version})`;
  return {
    text: `:rotating_light: ${headline}: ${detail}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: headline } },
      {
        type: 'section',
        fields: [
          field('Run', `\`${summary.run_id}\`${where.shards ? ` (${where.shards} shards)` : ''}`),
          field('Version', `${where.namespace} · ${summary.version} · ${summary.modality}`),
          field('Failed', `${summary.failed} items, ${summary.rejected} rejected rows`),
          field('Items seen', summary.items_seen),
          field('Embedded', summary.embedded),
          field('Model', `${summary.provider}/${summary.model}`),
        ],
      },
      {
        type: 'context',
        elements: [
          { type: 'mrkdwn', text: `Reasons: \`itemvec failures list\` · replay: \`itemvec failures retry\` · record: \`itemvec runs show ${summary.run_id}\`` },
        ],
      },
    ],
  };
}

/** The alert for a distributed run that failed: a shard or its close job ran out of retries. */
export function runFailedAlert(run: { run_id: string; namespace: string | null; version: string; modality: string }, reason: string): SlackMessage {
  const headline = `itemvec: run ${run.run_id} failed`;
  return {
    text: `:rotating_light: ${headline} (${run.modality}, namespace ${run.namespace ?? 'default'}, version ${run.version}): ${reason}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: headline } },
      { type: 'section', text: { type: 'mrkdwn', text: reason } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `What it loaded is kept; run it again to finish the rest · \`itemvec runs show ${run.run_id}\`` }],
      },
    ],
  };
}

/**
 * POST `message` to the configured webhook. Resolves `sent`, `skipped` (no webhook configured) or
 * `failed` (logged as a warning); never throws.
 */
export async function sendAlert(settings: Config['alert'], message: SlackMessage, logger: Logger): Promise<'sent' | 'skipped' | 'failed'> {
  const url = settings.webhookUrl;
  if (!url) return 'skipped';
  const policy = { maxRetries: settings.maxRetries, baseDelayMs: 500, maxDelayMs: 10_000 };
  try {
    await withRetries(
      policy,
      () => post(url, message, settings.timeoutMs),
      (error, retry, delayMs) =>
        logger.warn({ code: error.code, retry, delay_ms: delayMs }, `alert webhook failed (${error.code}); retry ${retry} in ${delayMs} ms`),
    );
    logger.info({ alert: message.text }, 'alert sent to the webhook');
    return 'sent';
  } catch (err) {
    logger.warn({ code: (err as { code?: string }).code, err: errorMessage(err) }, 'the alert could not be delivered to the webhook');
    return 'failed';
  }
}

async function post(url: string, message: SlackMessage, timeoutMs: number): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(message),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (err) {
    // Only the cause's code: undici's messages name the host and port of the secret URL.
    const e = err as { name?: string; cause?: { code?: string; name?: string } };
    if (e.name === 'TimeoutError' || e.cause?.name === 'TimeoutError') throw new AlertError('TIMEOUT', `no answer within ${timeoutMs} ms`);
    throw new AlertError('UNAVAILABLE', `connection failed (${e.cause?.code ?? e.name ?? 'error'})`);
  }
  const body = (await res.text().catch(() => '')).slice(0, 200);
  if (res.ok) return;
  const context = { status: res.status };
  if (res.status === 429) {
    const after = Number(res.headers.get('retry-after'));
    throw new AlertError('RATE_LIMITED', `HTTP 429 ${body}`, Number.isFinite(after) && after >= 0 ? { ...context, retryAfterMs: after * 1000 } : context);
  }
  if (res.status >= 500) throw new AlertError('UNAVAILABLE', `HTTP ${res.status} ${body}`, context);
  throw new AlertError('ALERT_REJECTED', `HTTP ${res.status} ${body} (check the webhook URL and the message format)`, context);
}
