import type { TransformContext } from '@checkpointkit/core';
import { type MatrixMessage, parentOf, resolveParent } from '@checkpointkit/source-matrix';
import type { NewComment } from './comments-store.js';
import { pageIdOf } from './site.js';

/**
 * A Matrix message as a comment of the page its room belongs to. The parent is looked up in the
 * run's `matrix-event` id map: the source held the reply back until its parent had a new id.
 */
export function toComments(
  messages: readonly MatrixMessage[],
  { unit, run }: TransformContext,
): NewComment[] {
  const page = pageIdOf(unit.slice('rooms/'.length));
  return messages.map((m) => {
    const parent = resolveParent(m, run);
    return {
      page_id: page,
      author: m.sender,
      body: m.body,
      html: m.formattedBody,
      parent_id: typeof parent === 'number' ? parent : parent === null ? null : Number(parent),
      created_at: new Date(m.ts).toISOString(),
      edited_at: m.editedTs === null ? null : new Date(m.editedTs).toISOString(),
      deleted: m.redacted,
      matrix_event_id: m.eventId,
      matrix_parent_event_id: parentOf(m),
    };
  });
}
