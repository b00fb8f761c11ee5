/**
 * A small real job, started by the extension-host suite as its own process: `openRun` on the
 * file store, `units` units completed one every `delayMs`, each flushed at once (the journal
 * grows while the editor watches), then finished without cleanup. Prints `started` and `done`.
 *
 * Usage: node run-job.cjs <dir> <id> <units> <delayMs>
 */
import { always, openRun } from '@checkpointkit/core';
import { fileStore } from '@checkpointkit/storage-file';

const [dir, id, units = '20', delay = '100'] = process.argv.slice(2);
if (!dir || !id) {
  console.error('usage: run-job <dir> <id> <units> <delayMs>');
  process.exit(2);
}
async function main(dir: string, id: string): Promise<void> {
  const store = fileStore({ dir });
  const run = await openRun({ id, store, strategy: always(), signals: false, autoCleanup: false });
  const keys = Array.from(
    { length: Number(units) },
    (_, i) => `work/item-${String(i).padStart(3, '0')}`,
  );
  await run.plan(keys);
  process.stdout.write('started\n');
  for (const key of keys) {
    await run.start(key);
    await run.complete(key, { items: 1 });
    await new Promise((resolve) => setTimeout(resolve, Number(delay)));
  }
  await run.finish();
  process.stdout.write('done\n');
}

main(dir, id).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
