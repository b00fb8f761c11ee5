/**
 * The benchmark's workspaces: a big one (20,000 files, 200 checkpoints, one of 100,000 units,
 * dependencies that must not be searched) and a tiny one (one checkpoint of 100 units) as the
 * baseline measured in the same run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { manyUnits, writeCheckpoint } from '../fixtures/checkpoints.js';

export interface BenchWorkspace {
  folder: string;
  bigId: string;
  files: number;
  checkpoints: number;
}

function filler(dir: string, count: number, ext = 'ts'): void {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++)
    writeFileSync(join(dir, `file-${i}.${ext}`), `export const value${i} = ${i};\n`);
}

export async function buildBigWorkspace(root: string): Promise<BenchWorkspace> {
  const folder = join(root, 'monorepo');
  const bigId = 'crawl:everything';
  await writeCheckpoint(join(folder, '.checkpoints'), {
    id: bigId,
    units: manyUnits(100_000, { failEvery: 1000 }),
  });
  let checkpointFiles = 2;
  for (let i = 0; i < 199; i++) {
    await writeCheckpoint(join(folder, `packages/pkg-${String(i).padStart(3, '0')}/.checkpoints`), {
      id: `job:${i}`,
      units: manyUnits(20, { shards: 2, failEvery: i % 10 === 0 ? 7 : 0 }),
    });
    checkpointFiles += 2;
  }
  // Dependencies with checkpoint files of their own, which discovery must not search.
  const dependencyFiles = 1000;
  for (let i = 0; i < 10; i++) {
    await writeCheckpoint(join(folder, `node_modules/dep-${i}/.checkpoints`), {
      id: `dep:${i}`,
      units: { a: 'complete' },
    });
  }
  filler(join(folder, 'node_modules/dep-filler'), dependencyFiles - 20, 'js');
  const rest = 20_000 - checkpointFiles - dependencyFiles;
  const perPackage = Math.ceil(rest / 199);
  let written = 0;
  for (let i = 0; i < 199 && written < rest; i++) {
    const count = Math.min(perPackage, rest - written);
    filler(join(folder, `packages/pkg-${String(i).padStart(3, '0')}/src`), count);
    written += count;
  }
  return { folder, bigId, files: checkpointFiles + dependencyFiles + written, checkpoints: 200 };
}

export async function buildTinyWorkspace(root: string): Promise<BenchWorkspace> {
  const folder = join(root, 'tiny');
  const bigId = 'crawl:small';
  await writeCheckpoint(join(folder, '.checkpoints'), {
    id: bigId,
    units: manyUnits(100, { failEvery: 10 }),
  });
  filler(join(folder, 'src'), 18);
  return { folder, bigId, files: 20, checkpoints: 1 };
}
