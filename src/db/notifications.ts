/**
 * PostgreSQL LISTEN/NOTIFY, for the realtime bus (src/realtime/bus.ts): NOTIFY
 * through the app's pool, LISTEN on a dedicated connection.
 */
import { sql } from 'kysely';
import pg from 'pg';
import type { Db } from './schema.js';

/** Sends every payload as a notification on `channel`, in one statement (one round trip). */
export async function notify(db: Db, channel: string, payloads: readonly string[]): Promise<void> {
  await sql`select pg_notify(${channel}, p) from unnest(${[...payloads]}::text[]) as p`.execute(db);
}

export interface ListenOptions {
  readonly connectionString: string;
  /** A fixed identifier, never client text: it is written into the LISTEN statement as is. */
  readonly channel: string;
  readonly onPayload: (payload: string | undefined) => void;
  /** Called once when the connection fails or ends, including when it could not be opened. */
  readonly onLost: (err?: Error) => void;
}

export interface ListenConnection {
  /** Closes the connection (then `onLost` is called too); never rejects. */
  end(): Promise<void>;
}

/**
 * LISTENs on a connection of its own: a pooled one would be handed to other
 * queries and lose the LISTEN. Rejects (after `onLost`) when the connection or
 * the LISTEN fails.
 */
export async function listen(options: ListenOptions): Promise<ListenConnection> {
  const { channel, onPayload, onLost } = options;
  const client = new pg.Client({ connectionString: options.connectionString, connectionTimeoutMillis: 5000 });
  let lost = false;
  const lose = (err?: Error): void => {
    if (lost) return;
    lost = true;
    client.removeAllListeners('notification');
    void client.end().catch(() => undefined);
    onLost(err);
  };
  client.on('error', lose);
  client.on('end', () => lose());
  client.on('notification', (message) => {
    if (message.channel === channel) onPayload(message.payload);
  });
  try {
    await client.connect();
    await client.query(`LISTEN ${channel}`);
  } catch (err) {
    lose(err as Error);
    throw err;
  }
  return { end: () => client.end().catch(() => undefined) };
}
