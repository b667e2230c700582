import { PgBoss, fromPglite } from 'pg-boss';
import { PGlite } from '@electric-sql/pglite';
async function trial(boss: PgBoss, label: string) {
  boss.on('error', (e) => console.error(label, 'error', e));
  const t0 = performance.now();
  await boss.start();
  console.log(label, 'started', (performance.now() - t0).toFixed(0), 'ms');
  await boss.createQueue('s', { retryLimit: 2, heartbeatSeconds: 10 });
  await boss.createQueue('c');
  const ids = await boss.flow([
    { ref: 'a', name: 's', data: { i: 0 } },
    { ref: 'b', name: 's', data: { i: 1 } },
    { ref: 'close', name: 'c', data: { run: 1 }, dependsOn: ['a', 'b'] },
  ]);
  console.log(label, ids);
  await boss.work('s', { pollingIntervalSeconds: 0.5 }, async ([job]) => ({ done: (job!.data as any).i }));
  const closed = new Promise<number>((resolve) => {
    void boss.work('c', { pollingIntervalSeconds: 0.5 }, async ([job]) => {
      const found = await boss.findJobs('s', { id: ids.a });
      console.log(label, 'close got', JSON.stringify(found[0]?.output), found[0]?.state);
      resolve(performance.now());
    });
  });
  const t = await closed;
  console.log(label, 'close after', (t - t0).toFixed(0), 'ms');
  await boss.stop({ graceful: false });
}
const schema = 'exp_' + Math.random().toString(36).slice(2, 8);
await trial(new PgBoss({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres', schema, superviseIntervalSeconds: 1, flowIntervalSeconds: 1 } as any), 'pg');
const pglite = await PGlite.create();
await trial(new PgBoss({ backend: 'pglite', db: fromPglite(pglite), flowIntervalSeconds: 1 } as any), 'pglite');
await pglite.close();
