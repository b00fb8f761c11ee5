import type { Run } from '@checkpointkit/core';
import type { UnresolvedReply } from '@checkpointkit/source-matrix';
import { FAILED_IMPORTS } from './sink.js';

export interface MigrationReport {
  totalPages: number;
  completedPages: number;
  failedPages: number;
  remainingPages: number;
  extracted: number;
  imported: number;
  failedImports: number;
  idMappings: number;
  unresolved: UnresolvedReply[];
}

/**
 * The numbers of seed 001's final report, read from the checkpoint: all of them were saved with
 * the pages they belong to, so they are right after any number of crashes and resumes.
 */
export function migrationReport(run: Run, unresolved: UnresolvedReply[]): MigrationReport {
  const summary = run.summary();
  const imported = summary.idMaps['matrix-event'] ?? 0;
  const failedImports = summary.idMaps[FAILED_IMPORTS] ?? 0;
  return {
    totalPages: summary.total,
    completedPages: summary.counts.complete,
    failedPages: summary.counts.failed,
    remainingPages: summary.remaining - summary.counts.failed,
    extracted: summary.items.done,
    imported,
    failedImports,
    idMappings: imported,
    unresolved,
  };
}

export function printReport(
  report: MigrationReport,
  seconds: number,
  log: (line: string) => void,
): void {
  const rule = '='.repeat(60);
  log(rule);
  log('Migration Complete');
  log(rule);
  log(`Total pages: ${report.totalPages}`);
  log(`Completed: ${report.completedPages}`);
  log(`Failed: ${report.failedPages}`);
  log(`Comments extracted: ${report.extracted}`);
  log(`Comments imported: ${report.imported}`);
  log(`Failed imports: ${report.failedImports}`);
  log(`ID mappings: ${report.idMappings}`);
  log(`Replies whose parent was never imported: ${report.unresolved.length}`);
  for (const u of report.unresolved) log(`  ${u.eventId} (parent ${u.missing})`);
  log(`Duration: ${seconds.toFixed(2)}s`);
  log(rule);
}
