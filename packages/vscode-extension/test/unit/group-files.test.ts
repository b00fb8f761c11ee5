import { checkpointFileName, journalFileName } from '@checkpointkit/storage-file';
import { describe, expect, it } from 'vitest';
import { groupCheckpointFiles } from '../../src/discovery/group-files.js';

const split = (path: string) => ({
  dir: path.slice(0, path.lastIndexOf('/')),
  name: path.slice(path.lastIndexOf('/') + 1),
});

describe('groupCheckpointFiles', () => {
  it('pairs a snapshot with its journal by folder and id, and reads the id from the name', () => {
    const id = 'github:Acme/pulls';
    const files = [
      `/w/.checkpoints/${checkpointFileName(id)}`,
      `/w/.checkpoints/${journalFileName(id)}`,
      `/w/other/${journalFileName(id)}`,
    ];
    const groups = groupCheckpointFiles(files, split, () => true);
    expect(groups).toHaveLength(2);
    expect(groups[0]).toMatchObject({
      kind: 'canonical',
      id,
      snapshot: files[0],
      journal: files[1],
    });
    expect(groups[1]).toMatchObject({ kind: 'canonical', id, snapshot: null, journal: files[2] });
  });

  it('takes other candidate JSON files as possible seed checkpoints, and ignores the rest', () => {
    const files = [
      '/w/data/checkpoint.json',
      '/w/.checkpoint_fetch.json',
      '/w/notes.txt',
      '/w/data/manifest.json',
    ];
    const groups = groupCheckpointFiles(files, split, (f) => f.includes('checkpoint'));
    expect(groups.map((g) => [g.kind, g.key])).toEqual([
      ['seed', '/w/data/checkpoint.json'],
      ['seed', '/w/.checkpoint_fetch.json'],
    ]);
  });

  it('treats a .checkpoint.json whose name is not a file store encoding as a seed candidate', () => {
    const groups = groupCheckpointFiles(['/w/My Job.checkpoint.json'], split, () => true);
    expect(groups).toEqual([
      { kind: 'seed', key: '/w/My Job.checkpoint.json', file: '/w/My Job.checkpoint.json' },
    ]);
  });

  it('keeps a checkpoint whose snapshot and journal are gone by what the store left beside them', () => {
    const files = [
      '/w/.checkpoints/gone.checkpoint.ack',
      '/w/.checkpoints/gone.checkpoint.json.prev',
      '/w/.checkpoints/job.checkpoint.jsonl.prev',
      '/w/.checkpoints/job.checkpoint.json',
      // Not the store's: a seed candidate's backup, a lock folder, another tool's file.
      '/w/.checkpoints/notes.json.prev',
      '/w/.checkpoints/job.checkpoint.lock',
      '/w/.checkpoints/Job.checkpoint.ack',
    ];
    const groups = groupCheckpointFiles(files, split, () => true);
    expect(groups).toEqual([
      {
        kind: 'canonical',
        key: '/w/.checkpoints/gone.checkpoint',
        stem: 'gone',
        id: 'gone',
        snapshot: null,
        journal: null,
        leftover: files[0],
      },
      {
        kind: 'canonical',
        key: '/w/.checkpoints/job.checkpoint',
        stem: 'job',
        id: 'job',
        snapshot: files[3],
        journal: null,
        leftover: files[2],
      },
    ]);
  });
});
