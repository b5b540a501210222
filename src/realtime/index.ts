/**
 * WebSockets on the app's own HTTP server (`noServer` + the `upgrade` event):
 * the guide's echo chat at `/ws/{client_id}` and JSON chat rooms at
 * `/ws/chat/{room}`. Upgrades are checked before the handshake (upgrade.ts);
 * frames in both directions by the contract's Ajv (frames.ts); rooms span
 * processes through the bus (bus.ts).
 */
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import * as wsModule from 'ws';
import { WebSocket, WebSocketServer } from 'ws';
import type { RawData } from 'ws';
import type { Logger } from 'pino';
import { ApiError } from '../contract/errors.js';
import { RouteIndex } from '../contract/routes.js';
import type { Spec } from '../contract/spec.js';
import type { Validation } from '../contract/validation.js';
import { findMessages, insertMessages, messagesSince } from '../db/repos/chat.repo.js';
import { startupGate } from '../startup-gate.js';
import type { NewChatMessage } from '../db/repos/chat.repo.js';
import type { ChatMessageRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { chatMessageToApi } from '../handlers/rooms.js';
import { createBatcher } from './batch.js';
import type { Bus, BusEvent } from './bus.js';
import { errorFrame, frameErrors, frameValidators, serialize } from './frames.js';
import type { ChatClientFrame, ErrorFrame, FrameError } from './frames.js';
import { activeUserIds } from '../db/repos/users.repo.js';
import { createRateLimiter } from './rate-limit.js';
import type { RateLimiter } from './rate-limit.js';
import { memorySessions, postgresSessions } from './sessions.js';
import { WEBSOCKET_OPERATIONS, checkUpgrade, refuseUpgrade, requestIdOf } from './upgrade.js';
import type { UpgradeRequest } from './upgrade.js';

export { accessTokenQuerySecurity } from './upgrade.js';

/** Close codes (RFC 6455 §7.4.1). 1009 (too big) is sent by ws itself on a frame over maxPayload. */
const GOING_AWAY = 1001;
const TRY_AGAIN_LATER = 1013;
/**
 * The connection's credentials are no longer valid (token expired, account
 * deleted or deactivated): connect again with a new token. An application code
 * (4000-4999) mirroring HTTP 401, as graphql-ws does, so a client can tell it
 * from other policy closes.
 */
export const UNAUTHORIZED_CLOSE = 4401;
/** The longest delay setTimeout takes (about 24.8 days); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** ws sends a Buffer as binary unless told otherwise; every frame here is text. */
const TEXT = { binary: false } as const;
/** How long a closing socket may take to finish its close handshake before it is cut. */
const CLOSE_GRACE_MS = 1000;
/** How long a large room's joins and leaves are gathered into one summary frame. */
const PRESENCE_SUMMARY_MS = 1000;
/** User ids listed in one summary frame, per direction (the contract's maxItems). */
const PRESENCE_SUMMARY_IDS = 100;
/** Chat ids remembered to never deliver one message twice (local send, NOTIFY, catch-up). */
const RECENT_IDS = 10_000;

/** Frame options for server text frames: final, unmasked (RFC 6455 §5.1), no compression. */
const TEXT_FRAME = { fin: true, rsv1: false, opcode: 0x01, mask: false, readOnly: false } as const;

/** Payloads with their WebSocket framing, built once for every recipient. */
interface Wire {
  readonly payloads: readonly Buffer[];
  readonly bytes: Buffer;
}

/** ws's frame builder; ws exports it, @types/ws does not declare it. */
const Sender = (
  wsModule as unknown as { Sender: { frame(data: Buffer, options: typeof TEXT_FRAME): Buffer[] } }
).Sender;

function wire(payloads: readonly Buffer[]): Wire {
  return { payloads, bytes: Buffer.concat(payloads.flatMap((p) => Sender.frame(p, TEXT_FRAME))) };
}

/**
 * The TCP socket under a ws connection (ws keeps it in `_socket`). Writing
 * pre-framed bytes there skips ws's per-send framing and copies: a message to
 * a room of 1,000 is framed once, not 1,000 times. Safe because ws queues
 * nothing itself without permessage-deflate (off) or Blob payloads (never
 * sent), so frames stay in order; ws's `bufferedAmount` still counts them.
 * Without such a socket (another ws version), falls back to `ws.send`.
 */
function rawSocket(ws: WebSocket): { write(data: Buffer): boolean } | undefined {
  const socket = (ws as unknown as { _socket?: unknown })._socket;
  return typeof socket === 'object' &&
    socket !== null &&
    typeof (socket as { write?: unknown }).write === 'function'
    ? (socket as { write(data: Buffer): boolean })
    : undefined;
}

interface Client {
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

export interface RealtimeOptions {
  readonly server: Server;
  readonly deps: Deps;
  readonly spec: Spec;
  readonly validation: Validation;
  readonly bus: Bus;
  /**
   * False while the database is opening and migrating: upgrades are then
   * refused with the HTTP operations' 503 (Retry-After: 1), before the handshake.
   */
  readonly ready?: () => boolean;
}

export interface Realtime {
  /** Open WebSocket connections on this process. */
  readonly connectionCount: number;
  /** Closes every socket with 1001, waits for pending writes, closes the bus. */
  close(): Promise<void>;
}

export function attachRealtime(options: RealtimeOptions): Realtime {
  const { server, deps, spec, validation, bus } = options;
  const limits = deps.config.realtime;
  const log: Logger = deps.log.child({ component: 'realtime' });
  // A contract without the WebSocket operations (a test fixture) gets no WebSockets.
  const served = spec.operations.some((op) =>
    (WEBSOCKET_OPERATIONS as readonly string[]).includes(op.operationId),
  );
  if (!served) return { connectionCount: 0, close: () => bus.close() };
  const routes = new RouteIndex(spec.operations);
  const frames = frameValidators(validation);
  // The same gate as the HTTP operations: same 503 problem, same Retry-After.
  const gate = startupGate(options.ready ?? (() => true));
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxPayloadBytes,
    perMessageDeflate: false,
    clientTracking: false,
  });

  const clients = new Set<Client>();
  const rooms = new Map<string, Set<Client>>();
  const echoClients = new Set<Client>();
  // The per-user cap: across every process on PostgreSQL, in memory on the embedded database.
  const sessions =
    deps.database.kind === 'postgres'
      ? postgresSessions(deps.db, {
          cap: limits.maxConnectionsPerUser,
          instance: bus.origin,
          staleMs: 2 * limits.heartbeatIntervalMs,
        })
      : memorySessions(limits.maxConnectionsPerUser);
  const pending = new Set<Promise<unknown>>();
  const recentIds = new Set<number>();
  let lastSeenId = 0;
  let closing: Promise<void> | undefined;

  /** Keeps a background promise until it settles, so shutdown can wait for it; never rejects. */
  const track = (work: Promise<unknown>, what: string): void => {
    const settled = work.catch((err: unknown) => log.error({ err }, what));
    pending.add(settled);
    void settled.finally(() => pending.delete(settled));
  };

  // Every event of one turn goes to the bus in one statement (one NOTIFY round trip, not one each).
  const publisher = createBatcher<BusEvent, true>(async (events) => {
    await bus.publish(events);
    return events.map(() => true as const);
  });
  const publish = (event: BusEvent): void => {
    track(publisher.add(event), 'realtime: publishing to the bus failed');
  };

  // ------------------------------------------------------------ sending

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

  const closeSlow = (client: Client): void => {
    log.warn({ userId: client.userId, buffered: client.ws.bufferedAmount }, 'realtime: slow consumer closed');
    client.ws.close(TRY_AGAIN_LATER, 'Slow consumer: frames were not read');
    setTimeout(() => client.ws.terminate(), CLOSE_GRACE_MS).unref();
  };

  /**
   * Sends already framed bytes (see `wire`), unless the client stopped reading
   * (then it is closed). One socket write per client, whatever the frame count.
   */
  const sendWire = (client: Client, wire: Wire): void => {
    if (client.ws.readyState !== WebSocket.OPEN) return;
    if (client.ws.bufferedAmount > limits.maxBufferedBytes) {
      closeSlow(client);
      return;
    }
    const socket = rawSocket(client.ws);
    if (socket !== undefined) socket.write(wire.bytes);
    else for (const payload of wire.payloads) client.ws.send(payload, TEXT);
  };

  const send = (client: Client, payload: Buffer): void => {
    sendWire(client, wire([payload]));
  };

  /** Frames the payloads once and writes the same bytes to every member. */
  const fanOut = (members: Iterable<Client>, payloads: Buffer[]): void => {
    const bytes = wire(payloads);
    for (const member of members) sendWire(member, bytes);
  };

  const sendError = (
    client: Client,
    code: ErrorFrame['code'],
    detail: string,
    errors?: FrameError[],
  ): void => {
    send(client, serialize(frames.chatServer, errorFrame(code, detail, errors)));
  };

  // ------------------------------------------------------------ chat rooms

  // Messages said within one batch window: one INSERT, then one write per member for all of them.
  const store = createBatcher<NewChatMessage, ChatMessageRow>(
    async (items) => {
      const rows = await insertMessages(deps.db, items);
      try {
        deliverMessages(rows, true);
      } catch (err) {
        log.error({ err }, 'realtime: delivering chat messages failed');
      }
      for (const row of rows) publish({ kind: 'chat', origin: bus.origin, room: row.room, id: row.id });
      return rows;
    },
    500,
    limits.batchWindowMs,
  );

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
  const deliverMessages = (rows: readonly ChatMessageRow[], fromHere = false): void => {
    const byRoom = new Map<string, Buffer[]>();
    for (const row of rows) {
      if (!remember(row.id) && !fromHere) continue;
      if ((rooms.get(row.room)?.size ?? 0) === 0) continue;
      const payload = serialize(frames.chatServer, { type: 'message', message: chatMessageToApi(row) });
      const list = byRoom.get(row.room);
      if (list === undefined) byRoom.set(row.room, [payload]);
      else list.push(payload);
    }
    for (const [room, payloads] of byRoom) fanOut(rooms.get(room) ?? [], payloads);
  };

  /** A large room's joins and leaves waiting for their summary frame. */
  interface PendingPresence {
    readonly joined: Set<number>;
    readonly left: Set<number>;
    joinedCount: number;
    leftCount: number;
    readonly timer: NodeJS.Timeout;
  }
  const summaries = new Map<string, PendingPresence>();

  const sendSummary = (room: string): void => {
    const pending = summaries.get(room);
    summaries.delete(room);
    const members = rooms.get(room);
    if (pending === undefined || members === undefined) return;
    const frame = {
      type: 'presence',
      room,
      joined: [...pending.joined],
      left: [...pending.left],
      joined_count: pending.joinedCount,
      left_count: pending.leftCount,
      at: new Date().toISOString(),
    };
    fanOut(members, [serialize(frames.chatServer, frame)]);
  };

  /**
   * Tells the room's members on this process that someone joined or left: at
   * once in a small room; in a large one (presenceRoomLimit members or more
   * here) gathered into one summary frame a second, since a frame per join to
   * every member grows with the square of the room (1,000 arrivals: 500,000 frames).
   */
  const presence = (room: string, userId: number, event: 'join' | 'leave', at: string): void => {
    const members = rooms.get(room);
    if (members === undefined) return;
    if (members.size < limits.presenceRoomLimit) {
      fanOut(members, [serialize(frames.chatServer, { type: event, room, user_id: userId, at })]);
      return;
    }
    let pending = summaries.get(room);
    if (pending === undefined) {
      const timer = setTimeout(() => {
        try {
          sendSummary(room);
        } catch (err) {
          log.error({ err }, 'realtime: sending a presence summary failed');
        }
      }, PRESENCE_SUMMARY_MS);
      timer.unref();
      pending = { joined: new Set(), left: new Set(), joinedCount: 0, leftCount: 0, timer };
      summaries.set(room, pending);
    }
    const ids = event === 'join' ? pending.joined : pending.left;
    if (ids.size < PRESENCE_SUMMARY_IDS) ids.add(userId);
    if (event === 'join') pending.joinedCount += 1;
    else pending.leftCount += 1;
  };

  /** A join or leave on this process: told to its members here, and published to the other processes. */
  const announce = (room: string, userId: number, event: 'join' | 'leave'): void => {
    const at = new Date().toISOString();
    presence(room, userId, event, at);
    publish({ kind: 'presence', origin: bus.origin, room, userId, event, at });
  };

  const onChatFrame = (client: Client, text: string): void => {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      sendError(client, 'invalid_json', 'The frame is not valid JSON.');
      return;
    }
    if (!frames.chatClient(frame)) {
      const errors = frameErrors(frames.chatClient);
      const detail = `The frame has ${errors.length} validation error${errors.length === 1 ? '' : 's'}.`;
      sendError(client, 'invalid_frame', detail, errors);
      return;
    }
    const message = frame as ChatClientFrame;
    track(
      store.add({ room: client.room, userId: client.userId, text: message.text }).catch((err: unknown) => {
        log.error({ err }, 'realtime: storing a chat message failed');
        sendError(client, 'internal_error', 'The message could not be stored; send it again.');
      }),
      'realtime: chat message',
    );
  };

  // Messages from other processes arrive as ids; read every id of one turn in one query.
  let toFetch: number[] = [];
  const fetchRemote = (): void => {
    const ids = toFetch;
    toFetch = [];
    track(
      findMessages(deps.db, ids).then((rows) => deliverMessages(rows)),
      'realtime: reading messages from another process failed',
    );
  };

  bus.subscribe((event) => {
    if (event.origin === bus.origin) return;
    if (event.kind === 'echo') {
      fanOut(echoClients, [serialize(frames.echoServerText, event.line)]);
    } else if (event.kind === 'presence') {
      presence(event.room, event.userId, event.event, event.at);
    } else if (rooms.has(event.room) && !recentIds.has(event.id)) {
      if (toFetch.length === 0) setImmediate(fetchRemote);
      toFetch.push(event.id);
    }
  });

  // After a lost LISTEN, read what was said meanwhile in the rooms this process serves.
  bus.onReconnect(() => {
    track(
      messagesSince(deps.db, [...rooms.keys()], lastSeenId, 1000).then((rows) => deliverMessages(rows)),
      'realtime: catching up after a bus reconnect failed',
    );
  });

  // ------------------------------------------------------------ echo (the guide's /ws/{client_id})

  const echoLine = (line: string): void => {
    fanOut(echoClients, [serialize(frames.echoServerText, line)]);
    publish({ kind: 'echo', origin: bus.origin, line });
  };

  const onEchoFrame = (client: Client, text: string): void => {
    if (!frames.echoText(text)) {
      const errors = frameErrors(frames.echoText);
      sendError(
        client,
        'invalid_frame',
        `The frame has ${errors.length} validation error${errors.length === 1 ? '' : 's'}.`,
        errors,
      );
      return;
    }
    send(client, serialize(frames.echoServerText, `Message text was: ${text}`));
    echoLine(`Client #${client.clientId} says: ${text}`);
  };

  // ------------------------------------------------------------ connections

  const onFrame = (client: Client, data: RawData, isBinary: boolean): void => {
    const now = performance.now();
    if (!client.limiter.take(now)) {
      // One error frame a second at most: a flood must not be answered with a flood.
      if (now - client.lastRateErrorAt >= 1000) {
        client.lastRateErrorAt = now;
        sendError(client, 'rate_limited', `Too many frames: at most ${limits.messagesPerSecond} a second.`);
      }
      return;
    }
    if (isBinary) {
      sendError(client, 'binary_not_supported', 'Send text frames; binary frames are not accepted.');
      return;
    }
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.from(data as Buffer).toString('utf8');
    if (client.kind === 'chat') onChatFrame(client, text);
    else onEchoFrame(client, text);
  };

  const release = (userId: number, sessionId: string): void => {
    track(sessions.release(userId, sessionId), 'realtime: releasing a connection slot failed');
  };

  const onConnection = (ws: WebSocket, request: UpgradeRequest, sessionId: string): void => {
    const chat = request.operation.operationId === 'connectChat';
    const client: Client = {
      ws,
      userId: request.userId,
      limiter: createRateLimiter(limits.messagesPerSecond, limits.messageBurst),
      alive: true,
      lastRateErrorAt: -Infinity,
      kind: chat ? 'chat' : 'echo',
      room: chat ? String(request.path['room']) : '',
      clientId: chat ? 0 : Number(request.path['client_id']),
      sessionId,
      expiresAt: request.expiresAt,
      expiry: undefined,
    };
    clients.add(client);
    scheduleExpiry(client);
    ws.on('pong', () => {
      client.alive = true;
    });
    ws.on('message', (data, isBinary) => {
      try {
        onFrame(client, data, isBinary);
      } catch (err) {
        log.error({ err }, 'realtime: handling a frame failed');
        sendError(client, 'internal_error', 'The frame could not be handled.');
      }
    });
    ws.on('error', (err) => log.debug({ err, userId: client.userId }, 'realtime: socket error'));
    ws.once('close', (code) => {
      clearTimeout(client.expiry);
      clients.delete(client);
      release(client.userId, client.sessionId);
      log.debug({ userId: client.userId, code, kind: client.kind }, 'realtime: disconnected');
      if (client.kind === 'echo') {
        echoClients.delete(client);
        echoLine(`Client #${client.clientId} left the chat`);
        return;
      }
      const members = rooms.get(client.room);
      members?.delete(client);
      if (members?.size === 0) rooms.delete(client.room);
      announce(client.room, client.userId, 'leave');
    });

    if (client.kind === 'echo') {
      echoClients.add(client);
      return;
    }
    let members = rooms.get(client.room);
    if (members === undefined) {
      members = new Set();
      rooms.set(client.room, members);
    }
    members.add(client);
    announce(client.room, client.userId, 'join');
  };

  const onUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const startedAt = process.hrtime.bigint();
    const requestId = requestIdOf(req);
    const instance = (req.url ?? '/').split('?')[0] ?? '/';
    // A client that goes away while we check must not crash the process.
    socket.on('error', () => socket.destroy());
    // One request log line and metric per upgrade, as for any HTTP request (the HTTP layer never sees it).
    const match = routes.match('GET', instance);
    const operationId = match.kind === 'operation' ? match.operation.operationId : undefined;
    const logAnswer = (status: number, contentType: string | undefined): void => {
      const durationMs = Number(process.hrtime.bigint() - startedAt) / 1e6;
      deps.metrics.observeRequest(operationId, 'GET', status, durationMs / 1000);
      log.info(
        { reqId: requestId, method: 'GET', path: instance, operationId, status, contentType, durationMs },
        'request',
      );
    };
    let request: UpgradeRequest;
    let sessionId: string;
    try {
      if (closing !== undefined)
        throw new ApiError('shutting-down', 'The server is shutting down; connect again.');
      if (operationId !== undefined) gate(operationId);
      request = await checkUpgrade(req, routes, validation, deps, requestId);
      // The slot is taken now, before the handshake, so concurrent upgrades cannot pass the cap together.
      const claim = await sessions.claim(request.userId);
      if (claim.id === undefined) {
        throw new ApiError(
          'too-many-connections',
          `You already have ${claim.open} WebSocket connections open.`,
          {
            headers: { 'Retry-After': '30' },
          },
        );
      }
      sessionId = claim.id;
      if (closing !== undefined) {
        release(request.userId, sessionId);
        throw new ApiError('shutting-down', 'The server is shutting down; connect again.');
      }
    } catch (error) {
      const refusal =
        error instanceof ApiError
          ? error
          : new ApiError('internal-error', 'An unexpected error occurred.', { cause: error });
      if (refusal.status >= 500) log.error({ err: error, requestId }, 'realtime: upgrade failed');
      refuseUpgrade(socket, refusal, instance, requestId, startedAt);
      logAnswer(refusal.status, 'application/problem+json');
      return;
    }
    if (socket.destroyed) {
      release(request.userId, sessionId);
      return;
    }
    let accepted = false;
    socket.once('close', () => {
      if (!accepted) release(request.userId, sessionId);
    });
    wss.handleUpgrade(req, socket, head, (ws) => {
      accepted = true;
      logAnswer(101, undefined);
      onConnection(ws, request, sessionId);
    });
  };

  const upgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    void onUpgrade(req, socket, head);
  };
  server.on('upgrade', upgradeListener);

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
      const active = await activeUserIds(deps.db, [...new Set([...clients].map((c) => c.userId))]);
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
    track(checkAccounts(), 'realtime: re-reading the accounts of open sockets failed');
    track(sessions.refresh(), 'realtime: refreshing the connection slots failed');
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

  const close = async (): Promise<void> => {
    // The upgrade listener stays: upgrades arriving from now on are answered 503, not dropped.
    clearInterval(heartbeat);
    for (const pending of summaries.values()) clearTimeout(pending.timer);
    summaries.clear();
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
    await store.drain();
    await Promise.allSettled([...pending]);
    await publisher.drain();
    await Promise.allSettled([...pending]);
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await sessions.close().catch((err: unknown) => log.warn({ err }, 'realtime: removing the slots failed'));
    await bus.close();
  };

  return {
    get connectionCount() {
      return clients.size;
    },
    close() {
      closing ??= close();
      return closing;
    },
  };
}
