#!/usr/bin/env node
// The `checkpointkit` command. A committed file rather than dist/bin.js itself, so that package
// managers can link the bin before the package is built (inside the CheckpointKit repository).
try {
  await import('../dist/bin.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/bin.js')) {
    throw error;
  }
  process.stderr.write(
    'checkpointkit: this copy of @checkpointkit/cli is not built (dist/bin.js is missing).\n' +
      'Inside the CheckpointKit repository, run it from source with `pnpm checkpointkit <args>`\n' +
      'at the repository root, or build it first with `pnpm build`.\n',
  );
  process.exitCode = 1;
}
