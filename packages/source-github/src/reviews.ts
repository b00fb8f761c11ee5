import type { RateLimitInfo } from '@checkpointkit/core';
import type { ReviewsCursor, WalkCursor } from './cursor.js';
import { type GithubObject, type ListSpec, reviewsSpec } from './endpoints.js';
import { type WalkContext, walk } from './walk.js';

export interface ReviewsPage {
  /** Reviews, each with the number of its pull request. */
  items: Array<{ pullNumber: number; review: GithubObject }>;
  cursor: ReviewsCursor;
  rateLimit: RateLimitInfo | undefined;
}

/**
 * GitHub lists reviews per pull request only, so the reviews unit walks the pull requests (newest
 * update first) and, for each, its reviews. The cursor holds both walks: the pulls' Link URL, the
 * pull numbers of the current pulls page still to do, and the Link URL inside the current one.
 * A refresh re-reads the pulls' first page with If-None-Match and visits only pull requests
 * updated since, delivering only reviews submitted since.
 */
export async function* walkReviews(
  repo: string,
  pulls: ListSpec,
  cursor: ReviewsCursor | null,
  context: WalkContext,
): AsyncGenerator<ReviewsPage> {
  let state = cursor;
  // The walk ended: nothing to do, unless a refresh was asked for.
  if (state && state.next === null && state.queue.length === 0 && !state.refresh) return;
  // A refresh only wants reviews newer than the watermark.
  const floor = state?.refresh ? state.since : (state?.stopAt ?? null);
  if (state && state.queue.length > 0) {
    yield* drain(repo, state, context, floor, (next) => {
      state = next;
    });
    if (state.next === null) return;
  }
  const pullsCursor: WalkCursor | null = state && {
    next: state.next,
    first: state.first,
    etag: state.etag,
    since: state.since,
    edge: state.edge,
    seen: state.seen,
    stopAt: state.stopAt,
    ...(state.refresh && { refresh: true }),
  };
  for await (const page of walk(pulls, pullsCursor, context)) {
    state = {
      ...page.cursor,
      queue: page.items.map((pull) => pull['number'] as number),
      reviews: null,
      reviewsSeen: [],
    };
    yield { items: [], cursor: state, rateLimit: page.rateLimit };
    yield* drain(repo, state, context, page.cursor.stopAt ?? floor, (next) => {
      state = next;
    });
  }
}

/** Delivers the reviews of the queued pull requests, moving the cursor after each page. */
async function* drain(
  repo: string,
  start: ReviewsCursor,
  context: WalkContext,
  floor: string | null,
  update: (cursor: ReviewsCursor) => void,
): AsyncGenerator<ReviewsPage> {
  let state = start;
  while (state.queue.length > 0 && !context.signal.aborted) {
    const pullNumber = state.queue[0] as number;
    const inside: WalkCursor | null = state.reviews
      ? {
          next: state.reviews,
          first: state.reviews,
          etag: null,
          since: null,
          edge: [],
          seen: state.reviewsSeen,
          stopAt: null,
        }
      : null;
    let finished = true;
    for await (const page of walk(reviewsSpec(repo, pullNumber), inside, context, { floor })) {
      const done = page.cursor.next === null;
      state = done
        ? { ...state, queue: state.queue.slice(1), reviews: null, reviewsSeen: [] }
        : { ...state, reviews: page.cursor.next, reviewsSeen: page.cursor.seen };
      update(state);
      yield {
        items: page.items.map((review) => ({ pullNumber, review })),
        cursor: state,
        rateLimit: page.rateLimit,
      };
      finished = done;
    }
    if (context.signal.aborted) return;
    if (!finished || state.queue[0] === pullNumber) {
      // The walk yielded nothing (an unexpected 304): move on from this pull request.
      state = { ...state, queue: state.queue.slice(1), reviews: null, reviewsSeen: [] };
      update(state);
    }
  }
}
