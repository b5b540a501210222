/**
 * `ws_sessions`: one row per open WebSocket on PostgreSQL, so the per-user
 * connection cap holds across every server process (src/realtime/sessions.ts).
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { AppDb } from '../schema.js';

/** Keys the advisory locks of the sessions (pg_advisory_xact_lock(int, int)): "ws". */
const LOCK_NAMESPACE = 0x7773;

const staleBefore = (staleMs: number) => sql`now() - make_interval(secs => ${staleMs / 1000})`;

/**
 * Takes a slot for the user if fewer than `cap` live rows exist, in one
 * transaction under an advisory lock on the user (two processes cannot both
 * see room for one more). Rows not refreshed for `staleMs` are a dead
 * process's: they are deleted first and do not count.
 */
export function claimSession(
  db: AppDb,
  options: {
    readonly userId: number;
    readonly cap: number;
    readonly instance: string;
    readonly staleMs: number;
  },
): Promise<{ id: string } | { id: undefined; open: number }> {
  const { userId, cap, instance, staleMs } = options;
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${LOCK_NAMESPACE}, (${userId}::bigint % 2147483647)::int)`.execute(
      trx,
    );
    await sql`delete from ws_sessions where user_id = ${userId} and seen_at < ${staleBefore(staleMs)}`.execute(
      trx,
    );
    const { rows } = await sql<{ open: string }>`
      select count(*) as open from ws_sessions where user_id = ${userId}`.execute(trx);
    const open = Number(rows[0]?.open ?? 0);
    if (open >= cap) return { id: undefined, open };
    const id = randomUUID();
    await trx.insertInto('ws_sessions').values({ id, user_id: userId, instance }).execute();
    return { id };
  });
}

export async function releaseSession(db: AppDb, id: string): Promise<void> {
  await db.deleteFrom('ws_sessions').where('id', '=', id).execute();
}

/** Marks an instance's rows as alive, and deletes every row no instance refreshed for `staleMs`. */
export async function refreshSessions(db: AppDb, instance: string, staleMs: number): Promise<void> {
  await db
    .updateTable('ws_sessions')
    .set({ seen_at: sql`now()` })
    .where('instance', '=', instance)
    .execute();
  await sql`delete from ws_sessions where seen_at < ${staleBefore(staleMs)}`.execute(db);
}

export async function removeInstanceSessions(db: AppDb, instance: string): Promise<void> {
  await db.deleteFrom('ws_sessions').where('instance', '=', instance).execute();
}
