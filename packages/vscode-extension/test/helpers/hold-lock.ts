/**
 * A stand-in for a running job, started by the extension-host suite as its own process: takes a
 * checkpoint's lock with the file store, prints `locked <pid>`, and holds it until its standard
 * input ends (or it is killed), then releases it.
 *
 * Usage: node hold-lock.cjs <dir> <id>
 */
import { fileStore } from '@checkpointkit/storage-file';

const [dir, id] = process.argv.slice(2);
if (!dir || !id) {
  console.error('usage: hold-lock <dir> <id>');
  process.exit(2);
}
async function main(dir: string, id: string): Promise<void> {
  const lock = await fileStore({ dir }).lock(id);
  process.stdout.write(`locked ${process.pid}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    void lock.release().then(() => process.exit(0));
  });
}

main(dir, id).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
