import type { IdMapping, Sink } from '@checkpointkit/core';
import type { CommentsStore, NewComment } from './comments-store.js';

/** Where failed imports are recorded: event id -> why, saved with the page like the new ids. */
export const FAILED_IMPORTS = 'matrix-import-failed';

/**
 * Imports a page of comments, one by one as a comments API takes them, and returns the new ids
 * as `matrix-event` mappings. A comment that fails is recorded and the page goes on (seed 001).
 */
export function commentsSink(store: CommentsStore): Sink<NewComment> {
  return {
    async write(comments) {
      const idMappings: IdMapping[] = [];
      for (const comment of comments) {
        try {
          const id = await store.createComment(comment);
          idMappings.push({ map: 'matrix-event', source: comment.matrix_event_id, target: id });
        } catch (error) {
          const why = error instanceof Error ? error.message : String(error);
          idMappings.push({ map: FAILED_IMPORTS, source: comment.matrix_event_id, target: why });
        }
      }
      await store.sync();
      return { idMappings };
    },
    close: () => store.close(),
  };
}
