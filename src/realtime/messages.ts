/**
 * Chat messages: what is said within one batch window is stored in one INSERT
 * and written to each member here once for all of it; other processes hear of
 * it as ids on the bus and read the rows in one query a turn. Each message is
 * delivered once per member, whichever way it arrives (said here, announced on
 * the bus, or read back after a lost LISTEN).
 */
import type { Logger } from 'pino';
import { findMessages, insertMessages, messagesSince } from '../db/repos/chat.repo.js';
import type { NewChatMessage } from '../db/repos/chat.repo.js';
import type { AppDb, ChatMessageRow } from '../db/schema.js';
import { chatMessageToApi } from '../mappers/chat.js';
import { createBatcher } from './batch.js';
import type { BusEvent } from './bus.js';
import type { Delivery } from './delivery.js';
import { serialize } from './frames.js';
import type { FrameValidators } from './frames.js';
import type { Rooms } from './rooms.js';
import type { Tasks } from './tasks.js';

/** Chat ids remembered to never deliver one message twice (local send, NOTIFY, catch-up). */
const RECENT_IDS = 10_000;

export interface Messages {
  /** Stores a message (in the next batch) and delivers it; resolves with its row. */
  say(message: NewChatMessage): Promise<ChatMessageRow>;
  /** Another process stored message `id` in `room`: read and delivered here, once. */
  storedElsewhere(room: string, id: number): void;
  /** Reads what was said in this process's rooms since the last message seen (after a lost LISTEN). */
  catchUp(): void;
  /** Resolves when every batch started so far has been stored and delivered. */
  drain(): Promise<void>;
}

export interface MessagesOptions {
  readonly db: AppDb;
  readonly log: Logger;
  readonly rooms: Rooms;
  readonly delivery: Delivery;
  readonly frames: FrameValidators;
  readonly tasks: Tasks;
  readonly publish: (event: BusEvent) => void;
  readonly origin: string;
  /** How long messages are gathered into one INSERT. */
  readonly batchWindowMs: number;
}

export function createMessages(options: MessagesOptions): Messages {
  const { db, log, rooms, delivery, frames, tasks, publish, origin } = options;
  const recentIds = new Set<number>();
  let lastSeenId = 0;

  const remember = (id: number): boolean => {
    if (recentIds.has(id)) return false;
    recentIds.add(id);
    if (recentIds.size > RECENT_IDS) {
      const oldest = recentIds.values().next().value;
      if (oldest !== undefined) recentIds.delete(oldest);
    }
    if (id > lastSeenId) lastSeenId = id;
    return true;
  };

  /**
   * Sends stored messages to this process's members of their rooms: each one
   * validated and serialized once, each room's batch framed once. One from
   * another process (NOTIFY, catch-up) is skipped when it was delivered already.
   */
  const deliver = (rows: readonly ChatMessageRow[], fromHere = false): void => {
    const byRoom = new Map<string, Buffer[]>();
    for (const row of rows) {
      if (!remember(row.id) && !fromHere) continue;
      if ((rooms.members(row.room)?.size ?? 0) === 0) continue;
      const payload = serialize(frames.chatServer, { type: 'message', message: chatMessageToApi(row) });
      const list = byRoom.get(row.room);
      if (list === undefined) byRoom.set(row.room, [payload]);
      else list.push(payload);
    }
    for (const [room, payloads] of byRoom) delivery.fanOut(rooms.members(room) ?? [], payloads);
  };

  // Messages said within one batch window: one INSERT, then one write per member for all of them.
  const store = createBatcher<NewChatMessage, ChatMessageRow>(
    async (items) => {
      const rows = await insertMessages(db, items);
      try {
        deliver(rows, true);
      } catch (err) {
        log.error({ err }, 'realtime: delivering chat messages failed');
      }
      for (const row of rows) publish({ kind: 'chat', origin, room: row.room, id: row.id });
      return rows;
    },
    500,
    options.batchWindowMs,
  );

  // Messages from other processes arrive as ids; read every id of one turn in one query.
  let toFetch: number[] = [];
  const fetchRemote = (): void => {
    const ids = toFetch;
    toFetch = [];
    tasks.track(
      findMessages(db, ids).then((rows) => deliver(rows)),
      'realtime: reading messages from another process failed',
    );
  };

  return {
    say: (message) => store.add(message),
    storedElsewhere(room, id) {
      if (rooms.members(room) === undefined || recentIds.has(id)) return;
      if (toFetch.length === 0) setImmediate(fetchRemote);
      toFetch.push(id);
    },
    catchUp() {
      tasks.track(
        messagesSince(db, rooms.names(), lastSeenId, 1000).then((rows) => deliver(rows)),
        'realtime: catching up after a bus reconnect failed',
      );
    },
    drain: () => store.drain(),
  };
}
