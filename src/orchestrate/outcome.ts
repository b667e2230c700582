/**
 * What follows the end of a run, for a one-shot `itemvec run` and for a distributed run's close
 * job alike: the run metrics, the alert above the failure-rate threshold, and (one-shot only, as
 * nothing scrapes a process that has exited) the push to a Prometheus Pushgateway.
 * The error log line itself comes from logSummary (src/pipeline/summary.ts), the exit code from the CLI.
 */
import { failureRateAlert, sendAlert } from '../alert.js';
import type { Config } from '../config.js';
import { errorMessage } from '../errors.js';
import { type Logger, redactUrl } from '../log.js';
import { pushMetrics, recordRunEnd } from '../metrics.js';
import type { RunSummary } from '../pipeline/summary.js';

export async function reportRunEnd(config: Config, summary: RunSummary, logger: Logger, where: { namespace: string; shards?: number }): Promise<void> {
  if (summary.dry_run) return;
  recordRunEnd(summary.modality, summary.alert ? 'alert' : 'succeeded', summary.failure_rate);
  if (summary.alert) await sendAlert(config.alert, failureRateAlert(summary, config.run.alertFailureRate, where), logger);
}

/** A one-shot run that stopped with an error: counted as failed, and pushed. */
export async function reportRunFailed(config: Config, logger: Logger): Promise<void> {
  recordRunEnd(config.modality, 'failed', null);
  await pushRunMetrics(config, logger);
}

/** Push this process's metrics when `metrics.pushgatewayUrl` is set; a failed push is a warning. */
export async function pushRunMetrics(config: Config, logger: Logger): Promise<void> {
  const url = config.metrics.pushgatewayUrl;
  if (!url) return;
  try {
    await pushMetrics(url, { namespace: config.namespace, version: config.version, modality: config.modality });
    logger.info({ pushgateway: redactUrl(url) }, 'metrics pushed');
  } catch (err) {
    logger.warn({ pushgateway: redactUrl(url), err: errorMessage(err) }, 'could not push metrics to the Pushgateway');
  }
}
