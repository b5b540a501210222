/**
 * The per-user cap on open WebSocket connections. On PostgreSQL it holds
 * across every server process: each connection is a `ws_sessions` row, taken
 * under an advisory lock on the user only while fewer than the cap are live;
 * on the embedded database (one process) a counter in memory does the same.
 */
import { randomUUID } from 'node:crypto';
import {
  claimSession,
  refreshSessions,
  releaseSession,
  removeInstanceSessions,
} from '../db/repos/ws-sessions.repo.js';
import type { AppDb } from '../db/schema.js';

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

/**
 * Every process on one PostgreSQL: rows in `ws_sessions` (db/repos/ws-sessions.repo.ts).
 * A row not refreshed for `staleMs` (two heartbeats) belongs to a process that
 * died; it no longer counts and is deleted by the next claim for that user or
 * the next refresh.
 */
export function postgresSessions(
  db: AppDb,
  options: { readonly cap: number; readonly instance: string; readonly staleMs: number },
): Sessions {
  const { cap, instance, staleMs } = options;
  // Until a slot was taken there is nothing to refresh or remove (nor a database to wait for).
  let claimed = false;
  return {
    async claim(userId) {
      const result = await claimSession(db, { userId, cap, instance, staleMs });
      if (result.id !== undefined) claimed = true;
      return result;
    },
    release: (_userId, id) => releaseSession(db, id),
    async refresh() {
      if (claimed) await refreshSessions(db, instance, staleMs);
    },
    async close() {
      if (claimed) await removeInstanceSessions(db, instance);
    },
  };
}
