/**
 * The open connections of this process: their per-user slots (sessions.ts),
 * the close when a token expires or its account goes away, the heartbeat that
 * drops dead peers, and the close of them all on shutdown.
 */
import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import type { Config } from '../config.js';
import { activeUserIds } from '../db/repos/users.repo.js';
import type { DatabaseHandle } from '../db/database.js';
import { CLOSE_GRACE_MS } from './delivery.js';
import type { RateLimiter } from './rate-limit.js';
import { memorySessions, postgresSessions } from './sessions.js';
import type { Sessions } from './sessions.js';
import type { Tasks } from './tasks.js';

/** Close code for a server going away (RFC 6455 §7.4.1). */
const GOING_AWAY = 1001;
/**
 * The connection's credentials are no longer valid (token expired, account
 * deleted or deactivated): connect again with a new token. An application code
 * (4000-4999) mirroring HTTP 401, as graphql-ws does, so a client can tell it
 * from other policy closes.
 */
export const UNAUTHORIZED_CLOSE = 4401;
/** The longest delay setTimeout takes (about 24.8 days); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface Client {
  readonly ws: WebSocket;
  readonly userId: number;
  readonly limiter: RateLimiter;
  alive: boolean;
  lastRateErrorAt: number;
  readonly kind: 'echo' | 'chat';
  /** The room (chat) or the guide's client number (echo). */
  readonly room: string;
  readonly clientId: number;
  /** Its slot under the per-user connection cap (sessions.ts). */
  readonly sessionId: string;
  /** When its access token expires (ms since the epoch). */
  readonly expiresAt: number;
  expiry: NodeJS.Timeout | undefined;
}

export interface Connections {
  readonly size: number;
  /** Takes one of the user's slots before the handshake (see Sessions.claim). */
  claim: Sessions['claim'];
  /** Gives a slot back, in the background. */
  release(userId: number, sessionId: string): void;
  /** A connection is open: counted, closed when its token expires. */
  add(client: Client): void;
  /** Its socket closed: forgotten, and its slot given back. */
  remove(client: Client): void;
  /** Stops the heartbeat and closes every socket with 1001, cutting those that do not finish in time. */
  closeAll(): Promise<void>;
  /** Removes this process's slots (after closeAll). */
  closeSessions(): Promise<void>;
}

export interface ConnectionsOptions {
  readonly log: Logger;
  readonly database: Pick<DatabaseHandle, 'db' | 'kind'>;
  readonly limits: Config['realtime'];
  readonly tasks: Tasks;
  /** This process in the shared slot table (the bus's origin). */
  readonly instance: string;
}

export function createConnections(options: ConnectionsOptions): Connections {
  const { log, database, limits, tasks } = options;
  const clients = new Set<Client>();
  // The per-user cap: across every process on PostgreSQL, in memory on the embedded database.
  const sessions =
    database.kind === 'postgres'
      ? postgresSessions(database.db, {
          cap: limits.maxConnectionsPerUser,
          instance: options.instance,
          staleMs: 2 * limits.heartbeatIntervalMs,
        })
      : memorySessions(limits.maxConnectionsPerUser);

  const release = (userId: number, sessionId: string): void => {
    tasks.track(sessions.release(userId, sessionId), 'realtime: releasing a connection slot failed');
  };

  /** Closes a socket whose credentials ended; the client reconnects with a new token. */
  const closeUnauthorized = (client: Client, reason: string): void => {
    if (client.ws.readyState !== WebSocket.OPEN) return;
    log.info({ userId: client.userId, reason }, 'realtime: credentials ended, connection closed');
    client.ws.close(UNAUTHORIZED_CLOSE, reason);
    setTimeout(() => client.ws.terminate(), CLOSE_GRACE_MS).unref();
  };

  /** Closes the socket when its token expires (in steps when that is further than a timer reaches). */
  const scheduleExpiry = (client: Client): void => {
    const delay = client.expiresAt - Date.now();
    if (delay <= 0) {
      closeUnauthorized(client, 'Token expired');
      return;
    }
    client.expiry = setTimeout(() => scheduleExpiry(client), Math.min(delay, MAX_TIMER_MS));
    client.expiry.unref();
  };

  /**
   * Re-reads the accounts behind the open sockets (one query for all of them)
   * and closes those of accounts deleted or deactivated since they connected.
   * A role change needs nothing: every role may use both WebSocket paths.
   */
  let checkingAccounts = false;
  const checkAccounts = async (): Promise<void> => {
    if (checkingAccounts || clients.size === 0) return;
    checkingAccounts = true;
    try {
      const active = await activeUserIds(database.db, [...new Set([...clients].map((c) => c.userId))]);
      for (const client of clients) {
        if (!active.has(client.userId))
          closeUnauthorized(client, 'The account no longer exists or is deactivated');
      }
    } finally {
      checkingAccounts = false;
    }
  };

  // Heartbeat: a client that did not answer the previous ping is gone (a dead peer sends no FIN).
  const heartbeat = setInterval(() => {
    tasks.track(checkAccounts(), 'realtime: re-reading the accounts of open sockets failed');
    tasks.track(sessions.refresh(), 'realtime: refreshing the connection slots failed');
    for (const client of clients) {
      if (!client.alive) {
        log.debug({ userId: client.userId }, 'realtime: missed pong, dropping the client');
        client.ws.terminate();
        continue;
      }
      client.alive = false;
      client.ws.ping();
    }
  }, limits.heartbeatIntervalMs);
  heartbeat.unref();

  return {
    get size() {
      return clients.size;
    },
    claim: (userId) => sessions.claim(userId),
    release,
    add(client) {
      clients.add(client);
      scheduleExpiry(client);
    },
    remove(client) {
      clearTimeout(client.expiry);
      clients.delete(client);
      release(client.userId, client.sessionId);
    },
    async closeAll() {
      clearInterval(heartbeat);
      const closed = [...clients].map(
        (client) =>
          new Promise<void>((resolve) => {
            if (client.ws.readyState === WebSocket.CLOSED) {
              resolve();
              return;
            }
            client.ws.once('close', () => resolve());
            client.ws.close(GOING_AWAY, 'Server shutting down');
          }),
      );
      const grace = setTimeout(() => {
        for (const client of clients) client.ws.terminate();
      }, CLOSE_GRACE_MS);
      await Promise.all(closed);
      clearTimeout(grace);
    },
    async closeSessions() {
      await sessions
        .close()
        .catch((err: unknown) => log.warn({ err }, 'realtime: removing the slots failed'));
    },
  };
}
