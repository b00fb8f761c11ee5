import { describeStoreConformance } from '@checkpointkit/core/testing';
import { memoryStore } from '../../src/index.js';

describeStoreConformance({
  name: 'memoryStore',
  open: () => memoryStore(),
  reopen: (store) => memoryStore((store as ReturnType<typeof memoryStore>).storage),
});
