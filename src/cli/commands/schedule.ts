/** `itemvec schedule`: register, list or remove the cron schedules the workers run. */
import type { Command } from 'commander';
import type { Config } from '../../config.js';
import { NotFoundError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { openQueue } from '../../orchestrate/queue.js';
import { listSchedules, registerSchedules, removeSchedule } from '../../orchestrate/schedule.js';
import { openConfiguredDb } from '../../store/db.js';
import { cliLogger, print } from '../common.js';
import { formatSchedules } from '../format-ops.js';
import type { CliIO } from '../io.js';
import { type ConfigFlags, configFrom, EXIT_CODES, type SourceFlags, sourceFromFlags, withDistributedRunFlags } from '../options.js';

type ScheduleFlags = ConfigFlags & SourceFlags & { shards?: number; textCron?: string; imageCron?: string; tz?: string; list?: boolean; remove?: string };

/** The queue for a command that only reads or writes jobs and schedules (no background loops). */
async function withQueue<T>(config: Config, logger: Logger, fn: (queue: Awaited<ReturnType<typeof openQueue>>) => Promise<T>): Promise<T> {
  // The embedded queue shares the embedded database's session, so that database is opened too.
  const db = config.queue.url || config.databaseUrl ? null : await openConfiguredDb({ ...config, databaseUrl: undefined });
  try {
    const queue = await openQueue(config, db, logger);
    try {
      return await fn(queue);
    } finally {
      await queue.stop();
    }
  } finally {
    await db?.close();
  }
}

export function addScheduleCommand(program: Command, io: CliIO): void {
  withDistributedRunFlags(program.command('schedule'))
    .description('register the cron schedules of the text (nightly) and image (weekly) jobs; workers run them')
    .option('--text-cron <cron>', 'text job, e.g. "0 2 * * *" (also ITEMVEC_TEXT_CRON; "off" removes it)')
    .option('--image-cron <cron>', 'image job, e.g. "0 3 * * 0" (also ITEMVEC_IMAGE_CRON; "off" removes it)')
    .option('--tz <zone>', 'time zone of the cron expressions, e.g. Europe/Berlin (also ITEMVEC_SCHEDULE_TZ; default UTC)')
    .option('--list', 'only list the registered schedules')
    .option('--remove <key>', 'remove one schedule by its key (see --list)')
    .addHelpText(
      'after',
      `
A schedule is stored in the queue; the workers evaluate it, so at least one \`itemvec worker\` must run.
Keys are <modality>.<namespace>.<version>; registering again updates them.

Examples:
  itemvec schedule --catalog /shared/catalog.jsonl                        # text 02:00 daily, images 03:00 Sundays (UTC)
  itemvec schedule --source postgres://etl@warehouse/analytics --table analytics.catalog_features_raw --text-cron "30 1 * * *" --image-cron off --shards 32
  itemvec schedule --list --json
  itemvec schedule --remove image.default.v1
${EXIT_CODES}`,
    )
    .action(async (opts: ScheduleFlags) => {
      const config = configFrom(opts, io.env);
      const scheduled = {
        ...config,
        schedule: { text: opts.textCron ?? config.schedule.text, image: opts.imageCron ?? config.schedule.image, tz: opts.tz ?? config.schedule.tz },
      };
      await withQueue(config, cliLogger(io), async (queue) => {
        if (opts.remove) {
          if (!(await removeSchedule(queue, opts.remove))) throw new NotFoundError(`no schedule with key ${opts.remove} (see itemvec schedule --list)`);
        } else if (!opts.list) {
          await registerSchedules(queue, scheduled, sourceFromFlags(opts), opts.shards);
        }
        const list = await listSchedules(queue);
        print(io, opts.json, list, () => formatSchedules(list));
      });
    });
}
