import { describeStoreConformance } from '@checkpointkit/core/testing';
import { type FileStore, fileStore } from '../../src/index.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

describeStoreConformance({
  name: 'fileStore',
  open: async () => fileStore({ dir: await tempDir() }),
  reopen: (store) => fileStore({ dir: (store as FileStore).dir }),
  destroy: (store) => removeDir((store as FileStore).dir),
});

describeStoreConformance({
  name: 'fileStore compacting every 2 KiB',
  open: async () => fileStore({ dir: await tempDir(), compactAfter: 2048 }),
  reopen: (store) => fileStore({ dir: (store as FileStore).dir, compactAfter: 2048 }),
  destroy: (store) => removeDir((store as FileStore).dir),
  largeUnits: 20_000,
});
