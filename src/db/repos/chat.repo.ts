/**
 * Chat messages. Inserts come in batches: every message said in one event-loop
 * turn is written by one statement, so a busy room costs one round trip per
 * turn rather than one per message.
 */
import type { ChatMessageRow, Db } from '../schema.js';

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

/** One page of a room's history, newest first. */
export async function listRoomMessages(
  db: Db,
  page: { room: string; skip: number; limit: number },
): Promise<{ rows: ChatMessageRow[]; total: number }> {
  const [rows, counted] = await Promise.all([
    db
      .selectFrom('chat_messages')
      .selectAll()
      .where('room', '=', page.room)
      .orderBy('id', 'desc')
      .offset(page.skip)
      .limit(page.limit)
      .execute(),
    db
      .selectFrom('chat_messages')
      .select((eb) => eb.fn.countAll<number>().as('total'))
      .where('room', '=', page.room)
      .executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(counted.total) };
}
