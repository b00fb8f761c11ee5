/** How two events for the same path within one batch combine. Pure. */

/**
 * `appeared`: something that is no checkpoint file was created; it may be a folder whose files
 * the watcher did not report (files written into a folder before the watcher saw the folder).
 */
export type FileEventKind = 'created' | 'changed' | 'deleted' | 'appeared';

/** created then changed stays created; deleted then created is a change; a deletion or an appearance wins. */
export function mergeEventKinds(
  previous: FileEventKind | undefined,
  next: FileEventKind,
): FileEventKind {
  if (next === 'deleted' || next === 'appeared') return next;
  if (previous === 'created') return 'created';
  if (previous === 'deleted') return 'changed';
  return next;
}
