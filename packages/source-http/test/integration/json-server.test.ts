import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpSource, linkHeader, offsetLimit, pageNumber } from '../../src/index.js';
import { collect } from '../helpers.js';
import { POSTS, postsDb, startJsonServer } from '../servers/json-server.js';

const ids = (records: readonly { data: unknown }[]) =>
  records.map((r) => (r.data as { id: number }).id);

describe('json-server (page and offset pagination, Link headers)', () => {
  let server: Awaited<ReturnType<typeof startJsonServer>>;
  beforeAll(async () => {
    server = await startJsonServer(postsDb());
  });
  afterAll(() => server.close());

  it('follows json-server\'s Link rel="next" to the last page', async () => {
    const { records, result } = await collect({
      baseUrl: server.url,
      resources: [{ name: 'posts', path: '/posts', params: { _page: 1, _limit: 5 } }],
      paginator: linkHeader(),
    });
    expect(result.pages).toBe(5);
    expect(ids(records)).toEqual(Array.from({ length: POSTS }, (_, i) => i + 1));
  });

  it('pages by number and stops at the total of X-Total-Count', async () => {
    const { records, result } = await collect({
      baseUrl: server.url,
      resources: [{ name: 'posts', path: '/posts' }],
      paginator: pageNumber({
        param: '_page',
        size: { param: '_limit', value: 5 },
        total: { header: 'x-total-count' },
      }),
    });
    // 5 pages, and no sixth (empty) request: the total said where to stop.
    expect(result.pages).toBe(5);
    expect(records).toHaveLength(POSTS);
  });

  it('pages by number and stops on the empty page without a total', async () => {
    const { records, result } = await collect({
      baseUrl: server.url,
      resources: [{ name: 'posts', path: '/posts' }],
      paginator: pageNumber({ param: '_page', size: { param: '_limit', value: 10 } }),
    });
    expect(result.pages).toBe(4);
    expect(records).toHaveLength(POSTS);
  });

  it('pages by offset (_start/_limit) and stops on the total', async () => {
    const { records, result } = await collect({
      baseUrl: server.url,
      resources: [{ name: 'posts', path: '/posts' }],
      paginator: offsetLimit({
        limit: 6,
        offsetParam: '_start',
        limitParam: '_limit',
        total: { header: 'x-total-count' },
      }),
    });
    expect(result.pages).toBe(4);
    expect(ids(records)).toEqual(Array.from({ length: POSTS }, (_, i) => i + 1));
  });

  it('fans out to child resources from the parent records', async () => {
    const { records, run } = await collect({
      baseUrl: server.url,
      paginator: linkHeader(),
      resources: [
        {
          name: 'posts',
          path: '/posts',
          params: { _page: 1, _limit: 10 },
          children: [{ name: 'comments', path: '/posts/{id}/comments' }],
        },
      ],
    });
    expect(records.filter((r) => r.resource === 'comments')).toHaveLength(POSTS * 2);
    expect(Object.keys(run.checkpoint.units)).toHaveLength(1 + POSTS);
    expect(run.unit('comments/5')?.status).toBe('complete');
  });

  it('resumes from a saved Link URL exactly as given', async () => {
    const source = httpSource({
      baseUrl: server.url,
      resources: [{ name: 'posts', path: '/posts', params: { _page: 1, _limit: 5 } }],
    });
    const pages = [];
    const cursor = { next: `${server.url}/posts?_page=4&_limit=5` };
    for await (const page of source.read({ key: 'posts', cursor }, new AbortController().signal))
      pages.push(page);
    expect(pages.map((p) => ids(p.items))).toEqual([
      [16, 17, 18, 19, 20],
      [21, 22, 23],
    ]);
    expect(pages.at(-1)?.cursor).toEqual({ next: null });
  });
});
