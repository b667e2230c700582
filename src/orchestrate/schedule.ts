/**
 * Cron schedules (`itemvec schedule`): pg-boss schedules on the plan queue, one per modality and
 * (namespace, version). The running workers evaluate them (pg-boss's timekeeper: one occurrence is
 * sent once however many workers run) and each occurrence becomes a plan job, then a sharded run.
 * An occurrence missed while no worker ran is sent once when one comes back (`missed: 'once'`).
 */
import type { CatalogSource } from '../catalog/open.js';
import type { Config } from '../config.js';
import { ConfigError, errorMessage } from '../errors.js';
import { QUEUES, type Queue } from './queue.js';
import { type RunSpec, runSpec } from './spec.js';

export interface ScheduleEntry {
  key: string;
  cron: string;
  tz: string;
  spec: RunSpec;
}

const MODALITIES = ['text', 'image'] as const;

/** The schedule key of one job: `text.default.v1`. */
export const scheduleKey = (modality: string, namespace: string, version: string) => `${modality}.${namespace}.${version}`;

/**
 * Register (or update) the text and image schedules of `config.namespace`/`config.version` over
 * `source`; a modality whose cron is `off` has its schedule removed. Returns the schedules now set.
 */
export async function registerSchedules(queue: Queue, config: Config, source: CatalogSource, shards?: number): Promise<ScheduleEntry[]> {
  const set: ScheduleEntry[] = [];
  for (const modality of MODALITIES) {
    const cron = config.schedule[modality].trim();
    const key = scheduleKey(modality, config.namespace, config.version);
    if (cron === 'off') {
      await queue.boss.unschedule(QUEUES.plan, key);
      continue;
    }
    const spec = runSpec({ ...config, modality }, source, shards);
    try {
      await queue.boss.schedule(QUEUES.plan, cron, { spec, trigger: 'schedule' }, { key, tz: config.schedule.tz, missed: 'once' });
    } catch (err) {
      throw new ConfigError(`cannot schedule the ${modality} job with "${cron}" (${config.schedule.tz}): ${errorMessage(err)}`, {
        field: `schedule.${modality}`,
      });
    }
    set.push({ key, cron, tz: config.schedule.tz, spec });
  }
  return set;
}

export async function listSchedules(queue: Queue): Promise<ScheduleEntry[]> {
  const rows = await queue.boss.getSchedules(QUEUES.plan);
  return rows.map((r) => ({ key: r.key, cron: r.cron, tz: r.timezone, spec: (r.data as { spec: RunSpec }).spec }));
}

export async function removeSchedule(queue: Queue, key: string): Promise<boolean> {
  const before = await queue.boss.getSchedules(QUEUES.plan, key);
  if (before.length > 0) await queue.boss.unschedule(QUEUES.plan, key);
  return before.length > 0;
}
