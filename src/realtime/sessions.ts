/**
 * The per-user cap on open WebSocket connections. On PostgreSQL it holds
 * across every server process: each connection is a `ws_sessions` row, taken
 * under an advisory lock on the user only while fewer than the cap are live;
 * on the embedded database (one process) a counter in memory does the same.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

export interface Sessions {
  /**
   * Takes one of the user's `cap` slots; resolves with the session's id, or
   * with undefined and the number already open when every slot is taken.
   */
  claim(userId: number): Promise<{ id: string } | { id: undefined; open: number }>;
  /** Gives the slot back (the socket closed, or the handshake never completed). */
  release(userId: number, id: string): Promise<void>;
  /** Marks this process's sessions as alive (each heartbeat) and removes dead processes' rows. */
  refresh(): Promise<void>;
  /** Removes this process's remaining sessions (shutdown). */
  close(): Promise<void>;
}

/** One process: a count per user. */
export function memorySessions(cap: number): Sessions {
  const perUser = new Map<number, number>();
  return {
    claim(userId) {
      const open = perUser.get(userId) ?? 0;
      if (open >= cap) return Promise.resolve({ id: undefined, open });
      perUser.set(userId, open + 1);
      return Promise.resolve({ id: randomUUID() });
    },
    release(userId) {
      const count = (perUser.get(userId) ?? 1) - 1;
      if (count <= 0) perUser.delete(userId);
      else perUser.set(userId, count);
      return Promise.resolve();
    },
    refresh: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

/** Keys the advisory locks of this module (pg_advisory_xact_lock(int, int)): "ws". */
const LOCK_NAMESPACE = 0x7773;

/**
 * Every process on one PostgreSQL: rows in `ws_sessions`. A row not refreshed
 * for `staleMs` (two heartbeats) belongs to a process that died; it no longer
 * counts and is deleted by the next claim for that user or the next refresh.
 */
export function postgresSessions(
  db: Kysely<Database>,
  options: { readonly cap: number; readonly instance: string; readonly staleMs: number },
): Sessions {
  const { cap, instance, staleMs } = options;
  const stale = sql`now() - make_interval(secs => ${staleMs / 1000})`;
  // Until a slot was taken there is nothing to refresh or remove (nor a database to wait for).
  let claimed = false;
  return {
    claim(userId) {
      return db.transaction().execute(async (trx) => {
        // One claim per user at a time across processes, so two cannot both see room for one more.
        await sql`select pg_advisory_xact_lock(${LOCK_NAMESPACE}, (${userId}::bigint % 2147483647)::int)`.execute(
          trx,
        );
        await sql`delete from ws_sessions where user_id = ${userId} and seen_at < ${stale}`.execute(trx);
        const { rows } = await sql<{ open: string }>`
          select count(*) as open from ws_sessions where user_id = ${userId}`.execute(trx);
        const open = Number(rows[0]?.open ?? 0);
        if (open >= cap) return { id: undefined, open };
        const id = randomUUID();
        await trx.insertInto('ws_sessions').values({ id, user_id: userId, instance }).execute();
        claimed = true;
        return { id };
      });
    },
    async release(_userId, id) {
      await db.deleteFrom('ws_sessions').where('id', '=', id).execute();
    },
    async refresh() {
      if (!claimed) return;
      await db
        .updateTable('ws_sessions')
        .set({ seen_at: sql`now()` })
        .where('instance', '=', instance)
        .execute();
      await sql`delete from ws_sessions where seen_at < ${stale}`.execute(db);
    },
    async close() {
      if (!claimed) return;
      await db.deleteFrom('ws_sessions').where('instance', '=', instance).execute();
    },
  };
}
