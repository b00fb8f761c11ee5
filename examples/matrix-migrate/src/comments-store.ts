/**
 * The target of the migration: a comments API, here a JSON Lines file. Creating a comment returns
 * its new id; creating one for a Matrix event that already has a comment returns that comment's
 * id, so a page redelivered after a crash creates nothing twice.
 */
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface NewComment {
  page_id: string;
  author: string;
  body: string | null;
  html: string | null;
  /** The new id of the comment this one answers. */
  parent_id: number | null;
  created_at: string;
  edited_at: string | null;
  deleted: boolean;
  matrix_event_id: string;
  /** The Matrix event it answered, kept even when that never became a comment. */
  matrix_parent_event_id: string | null;
}

export interface StoredComment extends NewComment {
  id: number;
}

export class CommentsStore {
  readonly file: string;
  readonly #byEvent = new Map<string, number>();
  #next = 1;
  #handle: Awaited<ReturnType<typeof open>> | undefined;

  private constructor(file: string) {
    this.file = file;
  }

  /** Opens the store, reading what is in it (a line cut short by a crash is ignored). */
  static async open(file: string): Promise<CommentsStore> {
    const store = new CommentsStore(file);
    await mkdir(dirname(file), { recursive: true });
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    });
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let comment: StoredComment;
      try {
        comment = JSON.parse(line) as StoredComment;
      } catch {
        continue; // the last line of a write the crash cut short
      }
      store.#byEvent.set(comment.matrix_event_id, comment.id);
      store.#next = Math.max(store.#next, comment.id + 1);
    }
    store.#handle = await open(file, 'a');
    return store;
  }

  get size(): number {
    return this.#byEvent.size;
  }

  /** Creates the comment (or finds the one made for the same event) and returns its id. */
  async createComment(comment: NewComment): Promise<number> {
    const existing = this.#byEvent.get(comment.matrix_event_id);
    if (existing !== undefined) return existing;
    const id = this.#next++;
    await this.#handle!.appendFile(
      `${JSON.stringify({ id, ...comment } satisfies StoredComment)}\n`,
    );
    this.#byEvent.set(comment.matrix_event_id, id);
    return id;
  }

  /** Makes what was created durable, before the checkpoint records the new ids. */
  async sync(): Promise<void> {
    await this.#handle?.sync();
  }

  async close(): Promise<void> {
    await this.#handle?.close();
    this.#handle = undefined;
  }
}
