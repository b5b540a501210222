/**
 * The connections of an HTTP server, as far as draining needs to know them:
 * which ones carry no request and have been quiet for a while, so they can be
 * closed without cutting a request that is on its way.
 *
 * Node's `server.close()` (and `closeIdleConnections()`) closes every
 * connection without a parsed request at once: a fresh connection whose
 * request is still in the socket buffer, or a keep-alive one whose client is
 * sending right then, gets reset (ECONNRESET). Here a connection is closed only
 * when no request is in flight, no byte arrived since the last answer, and no
 * byte arrived for `quietMs` nor across two looks. Two looks, because a byte
 * counts only once Node has read it: a request that arrived while the event
 * loop was busy is read by the next poll, before the next look.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

interface Connection {
  /** Requests received and not yet answered (or aborted). */
  inFlight: number;
  /** Bytes read when the last answer ended: more than this means a request is being read. */
  answeredBytes: number;
  /** bytesRead at the last look, and since when it has not changed. */
  seenBytes: number;
  quietSince: number;
  /** Looks in a row that saw no new byte. */
  quietLooks: number;
}

export interface ConnectionTracker {
  /** Open connections. */
  readonly size: number;
  /** performance.now() of the last accepted connection (0: none yet). */
  readonly lastAccepted: number;
  /**
   * Closes every connection with no request in flight or being read that has
   * been quiet for `quietMs` and since the previous call; returns how many it
   * closed. Call it from setImmediate, so that each call follows a poll phase.
   */
  closeQuietIdle(quietMs: number): number;
}

/**
 * Resolves once the server has accepted no connection for `quietMs` and across
 * two looks after a poll phase, or after `limitMs`. Under load Node can leave
 * connections in the kernel's accept queue for seconds, and closing the
 * listener resets every one still there (the client already sent its request):
 * waiting until accepting goes quiet lets them in first.
 */
export async function acceptingQuiet(
  tracker: ConnectionTracker,
  quietMs: number,
  limitMs: number,
): Promise<void> {
  const started = performance.now();
  let looks = 0;
  let seen = tracker.lastAccepted;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setImmediate(resolve));
    const now = performance.now();
    if (tracker.lastAccepted !== seen) {
      seen = tracker.lastAccepted;
      looks = 0;
    } else {
      looks += 1;
    }
    if ((looks >= 2 && now - seen >= quietMs) || now - started >= limitMs) return;
  }
}

/**
 * Starts tracking `server`'s connections (call before it listens).
 * @example const tracker = trackConnections(server); ...; tracker.closeQuietIdle(500);
 */
export function trackConnections(server: Server): ConnectionTracker {
  const connections = new Map<Socket, Connection>();
  let lastAccepted = 0;
  server.on('connection', (socket: Socket) => {
    lastAccepted = performance.now();
    connections.set(socket, {
      inFlight: 0,
      answeredBytes: 0,
      seenBytes: 0,
      quietSince: performance.now(),
      quietLooks: 0,
    });
    socket.once('close', () => connections.delete(socket));
  });
  // One shared listener ('close' comes once per response): no closure per request.
  function answered(this: ServerResponse): void {
    const socket = this.req.socket;
    const connection = connections.get(socket);
    if (connection === undefined) return;
    connection.inFlight -= 1;
    const bytes = socket.bytesRead;
    connection.answeredBytes = bytes;
    connection.seenBytes = bytes;
    connection.quietSince = performance.now();
    connection.quietLooks = 0;
  }
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const connection = connections.get(req.socket);
    if (connection === undefined) return;
    connection.inFlight += 1;
    res.on('close', answered);
  });
  return {
    get size() {
      return connections.size;
    },
    get lastAccepted() {
      return lastAccepted;
    },
    closeQuietIdle(quietMs) {
      const now = performance.now();
      let closed = 0;
      for (const [socket, connection] of connections) {
        const bytes = socket.bytesRead;
        if (bytes !== connection.seenBytes) {
          connection.seenBytes = bytes;
          connection.quietSince = now;
          connection.quietLooks = 0;
        } else {
          connection.quietLooks += 1;
        }
        if (connection.inFlight > 0 || bytes > connection.answeredBytes) continue;
        if (connection.quietLooks < 2 || now - connection.quietSince < quietMs) continue;
        socket.destroy();
        closed += 1;
      }
      return closed;
    },
  };
}
