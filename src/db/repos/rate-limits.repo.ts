/**
 * The rate-limit counters' table, for rate-limiter-flexible's PostgreSQL
 * store: it sends its own SQL through `query`, which runs it on our pool.
 */
import { CompiledQuery } from 'kysely';
import type { AppDb } from '../schema.js';

/** The client shape rate-limiter-flexible's PostgreSQL store calls (a pg Client's `query`). */
export interface RateLimitStoreClient {
  query(query: { text: string; values?: readonly unknown[] }): Promise<{ rows: unknown[] }>;
}

export function rateLimitStoreClient(db: AppDb): RateLimitStoreClient {
  return {
    async query({ text, values }) {
      const result = await db.executeQuery(CompiledQuery.raw(text, [...(values ?? [])]));
      return { rows: [...result.rows] };
    },
  };
}

/** Deletes counters whose window ended before `before` (ms since the epoch); returns how many. */
export async function pruneRateLimits(db: AppDb, before: number): Promise<number> {
  const result = await db.deleteFrom('rate_limits').where('expire', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}
