import { describe, expect, it } from 'vitest';
import { main, USERS } from '../src/seed-004-postgres-crawler.js';

describe('recipe 004: the PostgreSQL crawler checkpoints', () => {
  it('records a stopped and a completed session and imports every bookmark exactly once', async () => {
    // DATABASE_URL when given (a schema of its own), else a throwaway cluster.
    const outcome = await main({ schema: `recipe_${process.pid}_${Date.now()}` });
    expect(outcome.migrationsApplied).toBe(2);
    expect(outcome.sessions.map((s) => s.status)).toEqual(['stopped', 'completed']);
    expect(outcome.sessions[0]?.options).toEqual({
      direct_import: true,
      enable_summarization: false,
      output_file_path: null,
    });
    const processed = outcome.sessions.reduce((sum, s) => sum + s.itemsProcessed, 0);
    expect(processed).toBe(150);
    expect(outcome.rows).toBe(150);
    expect(outcome.distinctRows).toBe(150);
    for (const user of USERS) {
      expect(outcome.users[user]).toEqual({ lastTweetId: '1000049', bookmarks: 50 });
    }
  });
});
