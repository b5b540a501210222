/** Failed-login counters; kept in the database so every server process sees the same ones. */
import { sql } from 'kysely';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.js';

type Db = Kysely<Database> | Transaction<Database>;

/** Seconds until the latest lock among `keys` ends, or 0 when none is locked. */
export async function secondsLocked(db: Db, keys: readonly string[]): Promise<number> {
  const row = await db
    .selectFrom('login_failures')
    .select(sql<number | null>`ceil(extract(epoch from max(locked_until) - now()))::int`.as('seconds'))
    .where('key', 'in', keys)
    .where('locked_until', '>', sql<Date>`now()`)
    .executeTakeFirst();
  return Math.max(0, row?.seconds ?? 0);
}

/**
 * Counts one failure for `key` in one atomic statement (safe under concurrent
 * logins on several processes): a window older than `windowSeconds` starts
 * over; reaching `max` locks the key for `windowSeconds`.
 */
export async function recordFailure(db: Db, key: string, max: number, windowSeconds: number): Promise<void> {
  await sql`
    insert into login_failures as f (key, failures, window_started_at, locked_until)
    values (${key}, 1, now(), case when 1 >= ${max} then now() + make_interval(secs => ${windowSeconds}) end)
    on conflict (key) do update set
      failures = case when f.window_started_at < now() - make_interval(secs => ${windowSeconds})
                      then 1 else f.failures + 1 end,
      window_started_at = case when f.window_started_at < now() - make_interval(secs => ${windowSeconds})
                               then now() else f.window_started_at end,
      locked_until = case
        when (case when f.window_started_at < now() - make_interval(secs => ${windowSeconds})
                   then 1 else f.failures + 1 end) >= ${max}
        then now() + make_interval(secs => ${windowSeconds})
        else f.locked_until end`.execute(db);
}

export async function clearFailures(db: Db, key: string): Promise<void> {
  await db.deleteFrom('login_failures').where('key', '=', key).execute();
}
