/**
 * Login attempt counters, kept in the database so every server process sees
 * the same ones. An attempt is counted before its password is checked, in one
 * atomic statement, so a burst of parallel guesses cannot all slip under the limit.
 */
import { sql } from 'kysely';
import type { Db } from '../schema.js';

/** One counter: its key, how many attempts it allows in its window, and that window. */
export interface AttemptLimit {
  readonly key: string;
  readonly max: number;
  readonly windowSeconds: number;
}

export interface Reservation {
  /** True when every counter was still within its limit with this attempt counted. */
  readonly allowed: boolean;
  /** Seconds until the latest lock among the refusing counters ends (0 when allowed). */
  readonly retryAfterSeconds: number;
}

/**
 * Counts one attempt against every limit at once and says whether it may go
 * ahead. A counter whose window passed (and whose lock, if any, ended) starts
 * over; the attempt that reaches `max` locks the counter for `windowSeconds`;
 * attempts past `max` are refused and do not extend the lock.
 */
export async function reserveAttempt(db: Db, limits: readonly AttemptLimit[]): Promise<Reservation> {
  const rows = limits.map(
    ({ key, max, windowSeconds }) =>
      sql`(${key}, 1, now(), case when 1 >= ${max}::int then now() + make_interval(secs => ${windowSeconds}::int) end, ${max}::int, ${windowSeconds}::int)`,
  );
  const result = await sql<{ failures: number; max: number; seconds: number | null }>`
    with given (key, failures, window_started_at, locked_until, max, window_seconds) as (
      values ${sql.join(rows)}
    ),
    counted as (
      insert into login_failures as f (key, failures, window_started_at, locked_until)
      select key, failures, window_started_at, locked_until from given
      on conflict (key) do update set
        failures = case
          when (f.locked_until is not null and f.locked_until <= now())
            or (f.locked_until is null
                and f.window_started_at < now() - make_interval(secs => (select window_seconds from given g where g.key = f.key)))
          then 1
          else least(f.failures + 1, (select max from given g where g.key = f.key) + 1) end,
        window_started_at = case
          when (f.locked_until is not null and f.locked_until <= now())
            or (f.locked_until is null
                and f.window_started_at < now() - make_interval(secs => (select window_seconds from given g where g.key = f.key)))
          then now() else f.window_started_at end,
        locked_until = case
          when (f.locked_until is not null and f.locked_until <= now())
            or (f.locked_until is null
                and f.window_started_at < now() - make_interval(secs => (select window_seconds from given g where g.key = f.key)))
          then excluded.locked_until
          when f.locked_until is not null then f.locked_until
          when f.failures + 1 >= (select max from given g where g.key = f.key)
          then now() + make_interval(secs => (select window_seconds from given g where g.key = f.key))
          else null end
      returning key, failures, locked_until
    )
    select c.failures, g.max,
           ceil(extract(epoch from c.locked_until - now()))::int as seconds
    from counted c join given g on g.key = c.key`.execute(db);
  const refused = result.rows.filter((row) => row.failures > row.max);
  return {
    allowed: refused.length === 0,
    retryAfterSeconds: Math.max(0, ...refused.map((row) => row.seconds ?? 0)),
  };
}

/** Takes back one counted attempt (it succeeded), unlocking the counter if that attempt had locked it. */
export async function refundAttempt(db: Db, key: string, max: number): Promise<void> {
  await sql`
    update login_failures set
      failures = greatest(failures - 1, 0),
      locked_until = case when failures - 1 < ${max}::int then null else locked_until end
    where key = ${key}`.execute(db);
}

export async function clearFailures(db: Db, key: string): Promise<void> {
  await db.deleteFrom('login_failures').where('key', '=', key).execute();
}
