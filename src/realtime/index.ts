/**
 * WebSockets on the app's own HTTP server (`noServer` + the `upgrade` event):
 * the guide's echo chat at `/ws/{client_id}` and JSON chat rooms at
 * `/ws/chat/{room}`. This module accepts upgrades (checked before the
 * handshake by upgrade.ts) and wires the parts together:
 *
 * - connections.ts: open connections, their slots, expiry, heartbeat;
 * - rooms.ts: room and echo membership, presence;
 * - messages.ts: chat messages stored in batches and delivered once;
 * - delivery.ts: frames written to sockets, framed once per fan-out;
 * - inbound.ts: frames from clients (checked by frames.ts);
 * - bus.ts: events between processes.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { ApiError } from '../contract/errors.js';
import { RouteIndex } from '../contract/routes.js';
import type { Spec } from '../contract/spec.js';
import type { Validation } from '../contract/validation.js';
import type { Deps } from '../deps.js';
import { startupGate } from '../startup-gate.js';
import { createBatcher } from './batch.js';
import type { Bus, BusEvent } from './bus.js';
import { createConnections } from './connections.js';
import type { Client } from './connections.js';
import { createDelivery } from './delivery.js';
import { frameValidators } from './frames.js';
import { createInbound } from './inbound.js';
import { createMessages } from './messages.js';
import { createRateLimiter } from './rate-limit.js';
import { createRooms } from './rooms.js';
import { createTasks } from './tasks.js';
import { WEBSOCKET_OPERATIONS, checkUpgrade, refuseUpgrade, requestIdOf } from './upgrade.js';
import type { UpgradeRequest } from './upgrade.js';

export { UNAUTHORIZED_CLOSE } from './connections.js';
export { accessTokenQuerySecurity } from './upgrade.js';

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
  let closing: Promise<void> | undefined;

  const tasks = createTasks(log);
  // Every event of one turn goes to the bus in one statement (one NOTIFY round trip, not one each).
  const publisher = createBatcher<BusEvent, true>(async (events) => {
    await bus.publish(events);
    return events.map(() => true as const);
  });
  const publish = (event: BusEvent): void => {
    tasks.track(publisher.add(event), 'realtime: publishing to the bus failed');
  };
  const origin = bus.origin;
  const connections = createConnections({ log, database: deps.database, limits, tasks, instance: origin });
  const delivery = createDelivery({ log, frames, maxBufferedBytes: limits.maxBufferedBytes });
  const rooms = createRooms({
    log,
    delivery,
    frames,
    presenceRoomLimit: limits.presenceRoomLimit,
    publish,
    origin,
  });
  const messages = createMessages({
    db: deps.db,
    log,
    rooms,
    delivery,
    frames,
    tasks,
    publish,
    origin,
    batchWindowMs: limits.batchWindowMs,
  });
  const onFrame = createInbound({
    log,
    frames,
    delivery,
    rooms,
    messages,
    tasks,
    messagesPerSecond: limits.messagesPerSecond,
  });

  bus.subscribe((event) => {
    if (event.origin === origin) return;
    if (event.kind === 'echo') rooms.echoFromElsewhere(event.line);
    else if (event.kind === 'presence') rooms.presence(event.room, event.userId, event.event, event.at);
    else messages.storedElsewhere(event.room, event.id);
  });
  // After a lost LISTEN, read what was said meanwhile in the rooms this process serves.
  bus.onReconnect(() => messages.catchUp());

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
    connections.add(client);
    ws.on('pong', () => {
      client.alive = true;
    });
    ws.on('message', (data, isBinary) => {
      try {
        onFrame(client, data, isBinary);
      } catch (err) {
        log.error({ err }, 'realtime: handling a frame failed');
        delivery.sendError(client, 'internal_error', 'The frame could not be handled.');
      }
    });
    ws.on('error', (err) => log.debug({ err, userId: client.userId }, 'realtime: socket error'));
    ws.once('close', (code) => {
      connections.remove(client);
      log.debug({ userId: client.userId, code, kind: client.kind }, 'realtime: disconnected');
      rooms.leave(client);
    });
    rooms.join(client);
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
      const claim = await connections.claim(request.userId);
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
        connections.release(request.userId, sessionId);
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
      connections.release(request.userId, sessionId);
      return;
    }
    let accepted = false;
    socket.once('close', () => {
      if (!accepted) connections.release(request.userId, sessionId);
    });
    wss.handleUpgrade(req, socket, head, (ws) => {
      accepted = true;
      logAnswer(101, undefined);
      onConnection(ws, request, sessionId);
    });
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    void onUpgrade(req, socket, head);
  });

  const close = async (): Promise<void> => {
    // The upgrade listener stays: upgrades arriving from now on are answered 503, not dropped.
    rooms.close();
    await connections.closeAll();
    await messages.drain();
    await tasks.settled();
    await publisher.drain();
    await tasks.settled();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await connections.closeSessions();
    await bus.close();
  };

  return {
    get connectionCount() {
      return connections.size;
    },
    close() {
      closing ??= close();
      return closing;
    },
  };
}
