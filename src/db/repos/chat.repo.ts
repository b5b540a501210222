/**
 * Chat messages. Inserts come in batches: every message said in one event-loop
 * turn is written by one statement, so a busy room costs one round trip per
 * turn rather than one per message.
 */
import type { ChatMessageRow, Db } from '../schema.js';
import { fetchPage } from './paging.js';
import type { Page, PageRequest } from './paging.js';

export interface NewChatMessage {
  readonly room: string;
  readonly userId: number;
  readonly text: string;
}

/** Inserts the messages in one statement; rows come back in the order given. */
export async function insertMessages(db: Db, messages: readonly NewChatMessage[]): Promise<ChatMessageRow[]> {
  if (messages.length === 0) return [];
  const rows = await db
    .insertInto('chat_messages')
    .values(messages.map((m) => ({ room: m.room, user_id: m.userId, text: m.text })))
    .returningAll()
    .execute();
  // Identity values follow the VALUES order within one statement; sort to be explicit about it.
  return rows.sort((a, b) => a.id - b.id);
}

/** The messages with these ids (any order). */
export async function findMessages(db: Db, ids: readonly number[]): Promise<ChatMessageRow[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('chat_messages')
    .selectAll()
    .where('id', 'in', [...ids])
    .orderBy('id')
    .execute();
}

/** Messages after `afterId` in the given rooms, oldest first (catching up after a lost LISTEN). */
export async function messagesSince(
  db: Db,
  rooms: readonly string[],
  afterId: number,
  limit: number,
): Promise<ChatMessageRow[]> {
  if (rooms.length === 0) return [];
  return db
    .selectFrom('chat_messages')
    .selectAll()
    .where('room', 'in', [...rooms])
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(limit)
    .execute();
}

/** One page of a room's history, newest first (after the message with id `after`, when given). */
export async function listRoomMessages(
  db: Db,
  page: PageRequest & { room: string; after?: number | undefined },
): Promise<Page<ChatMessageRow>> {
  const matching = db.selectFrom('chat_messages').where('room', '=', page.room);
  let rows = matching.selectAll().orderBy('id', 'desc');
  if (page.after !== undefined) rows = rows.where('id', '<', page.after);
  return fetchPage(db, rows, matching, page);
}
