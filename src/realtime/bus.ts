/**
 * The realtime bus: how one server process tells the others that something
 * happened in a room, so every member hears it whichever process holds their
 * socket. On PostgreSQL it is LISTEN/NOTIFY on a dedicated connection; on the
 * embedded database there is only one process, and an in-process bus stands in.
 *
 * Events are small: a chat message travels as its id (receivers read it from
 * the table), never as a payload near NOTIFY's 8000-byte limit.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { DatabaseHandle } from '../db/database.js';
import { listen, notify } from '../db/notifications.js';
import type { ListenConnection } from '../db/notifications.js';

export type BusEvent =
  | { readonly kind: 'chat'; readonly origin: string; readonly room: string; readonly id: number }
  | {
      readonly kind: 'presence';
      readonly origin: string;
      readonly room: string;
      readonly userId: number;
      readonly event: 'join' | 'leave';
      readonly at: string;
    }
  /** A line of the guide's echo chat for every `/ws/{client_id}` client (at most ~6 kB, see EchoText). */
  | { readonly kind: 'echo'; readonly origin: string; readonly line: string };

export interface Bus {
  /** Identifies this process in the events it publishes, so it can skip its own. */
  readonly origin: string;
  /** Sends the events to every process (this one included). */
  publish(events: readonly BusEvent[]): Promise<void>;
  /** Called for every event, from any process. */
  subscribe(listener: (event: BusEvent) => void): void;
  /** Called after a lost connection is back: events may have been missed meanwhile. */
  onReconnect(listener: () => void): void;
  close(): Promise<void>;
}

/** The NOTIFY channel; one per database, so servers on other databases never hear each other. */
export const CHANNEL = 'realtime_events';

function isEvent(value: unknown): value is BusEvent {
  if (typeof value !== 'object' || value === null) return false;
  const kind = (value as { kind?: unknown }).kind;
  return kind === 'chat' || kind === 'presence' || kind === 'echo';
}

/** The bus of a single process (embedded database): events go straight to the listeners. */
export function createMemoryBus(): Bus {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    origin: randomUUID(),
    publish(events) {
      // Asynchronous like the PostgreSQL bus, so callers never depend on synchronous delivery.
      queueMicrotask(() => {
        for (const event of events) emitter.emit('event', event);
      });
      return Promise.resolve();
    },
    subscribe(listener) {
      emitter.on('event', listener);
    },
    onReconnect() {
      // Nothing is ever lost in process.
    },
    close() {
      emitter.removeAllListeners();
      return Promise.resolve();
    },
  };
}

export interface PostgresBusOptions {
  readonly connectionString: string;
  readonly log: Logger;
  /** Runs `select pg_notify(...)`; the app's pool, so publishing never waits on the listener. */
  readonly notify: (channel: string, payloads: readonly string[]) => Promise<void>;
  readonly maxBackoffMs?: number;
}

/**
 * LISTEN on a dedicated connection (db/notifications.ts). When the connection
 * drops, it reconnects with backoff and tells the subscribers, who catch up
 * from the table.
 */
export function createPostgresBus(options: PostgresBusOptions): Bus {
  const { connectionString, log, notify } = options;
  const maxBackoffMs = options.maxBackoffMs ?? 5000;
  const listeners: ((event: BusEvent) => void)[] = [];
  const reconnectListeners: (() => void)[] = [];
  let client: ListenConnection | undefined;
  let closed = false;
  let backoffMs = 100;
  let timer: NodeJS.Timeout | undefined;
  let everConnected = false;
  let sequence = 0;

  const dispatch = (payload: string | undefined): void => {
    let event: unknown;
    try {
      event = JSON.parse(payload ?? '');
    } catch {
      log.warn({ payload }, 'realtime bus: ignoring a notification that is not JSON');
      return;
    }
    if (!isEvent(event)) return;
    for (const listener of listeners) listener(event);
  };

  const scheduleReconnect = (): void => {
    if (closed || timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, backoffMs);
    backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
  };

  const connect = async (): Promise<void> => {
    let connection: ListenConnection | undefined;
    const onLost = (err?: Error): void => {
      if (connection !== undefined && client === connection) client = undefined;
      if (!closed) log.warn({ err }, 'realtime bus: LISTEN connection lost; reconnecting');
      scheduleReconnect();
    };
    try {
      connection = await listen({ connectionString, channel: CHANNEL, onPayload: dispatch, onLost });
    } catch {
      return; // onLost has scheduled the next attempt
    }
    if (closed) {
      await connection.end();
      return;
    }
    client = connection;
    backoffMs = 100;
    if (everConnected) {
      log.info('realtime bus: LISTEN connection restored');
      for (const listener of reconnectListeners) listener();
    }
    everConnected = true;
  };
  void connect();

  return {
    origin: randomUUID(),
    async publish(events) {
      if (events.length === 0) return;
      // A sequence number keeps payloads distinct: NOTIFY drops duplicates within one transaction.
      await notify(
        CHANNEL,
        events.map((event) => JSON.stringify({ ...event, seq: (sequence += 1) })),
      );
    },
    subscribe(listener) {
      listeners.push(listener);
    },
    onReconnect(listener) {
      reconnectListeners.push(listener);
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      timer = undefined;
      const open = client;
      client = undefined;
      if (open !== undefined) await open.end();
    },
  };
}

/**
 * The bus for a configuration: LISTEN/NOTIFY when the app runs on DATABASE_URL,
 * in process otherwise (the embedded database has one process; a test app
 * handed an open database is one process too).
 */
export function createBus(
  config: Pick<Config, 'databaseUrl'>,
  database: Pick<DatabaseHandle, 'db' | 'kind'>,
  log: Logger,
): Bus {
  if (config.databaseUrl === undefined || database.kind !== 'postgres') return createMemoryBus();
  return createPostgresBus({
    connectionString: config.databaseUrl,
    log,
    notify: (channel, payloads) => notify(database.db, channel, payloads),
  });
}
