/**
 * Serves one PGlite over the PostgreSQL wire protocol on a Unix socket, so
 * the app's `pg` pool and the CLI tools connect to it as to a real server.
 *
 * PGlite is one backend session; several connections share it by taking
 * turns. A connection holds the backend from its first message until the
 * backend says it is idle again (ReadyForQuery with status 'I'): a whole
 * Parse…Sync exchange, a whole transaction, a whole COPY. Another connection's
 * messages are never fed in between, so no one binds another's unnamed
 * statement or runs inside another's transaction. A connection that waits
 * longer than `waitTimeoutMs` for the backend is answered with an error
 * instead of waiting for ever (its work then never ran).
 *
 * Written here rather than taken from @electric-sql/pglite-socket 0.2.17: that
 * package feeds PGlite one message at a time from a queue shared by all
 * connections, so a second connection's Parse can land between a first one's
 * Parse and Bind; it also pins @electric-sql/pglite 0.5.14 as a peer.
 */
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

/** What the server needs of PGlite (its raw protocol entry point). */
export interface RawBackend {
  execProtocolRawStream(
    message: Uint8Array,
    options: { onRawData: (data: Uint8Array) => void; syncToFs?: boolean },
  ): Promise<void>;
}

export interface WireServerOptions {
  /** Resolves once PGlite is open; messages wait until then. */
  readonly backend: Promise<RawBackend>;
  /** How long a connection may wait for another's transaction to end. */
  readonly waitTimeoutMs: number;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
const READY_FOR_QUERY = 0x5a; // 'Z'

/** One client message: a 'Sync' followed by a simple 'ROLLBACK' (ends whatever a gone client left open). */
function resetMessages(): Uint8Array {
  const sync = Buffer.from([0x53, 0, 0, 0, 4]);
  const text = Buffer.from('ROLLBACK\0', 'utf8');
  const query = Buffer.alloc(5);
  query[0] = 0x51; // 'Q'
  query.writeInt32BE(4 + text.length, 1);
  return Buffer.concat([sync, query, text]);
}

/**
 * ErrorResponse + ReadyForQuery('I'): what a server sends when it refuses a
 * batch; or, for a connection still starting up, a FATAL ErrorResponse alone.
 */
function busyAnswer(waitTimeoutMs: number, starting: boolean): Buffer {
  const severity = starting ? 'FATAL' : 'ERROR';
  const fields = [
    ['S', severity],
    ['V', severity],
    ['C', '55P03'],
    [
      'M',
      `the embedded database was held by another connection's transaction for ${waitTimeoutMs} ms; ` +
        'this statement did not run',
    ],
  ];
  const body = Buffer.concat([
    ...fields.map(([code, value]) => Buffer.from(`${code}${value}\0`, 'utf8')),
    Buffer.from([0]),
  ]);
  const error = Buffer.alloc(5);
  error[0] = 0x45; // 'E'
  error.writeInt32BE(4 + body.length, 1);
  if (starting) return Buffer.concat([error, body]);
  return Buffer.concat([error, body, Buffer.from([READY_FOR_QUERY, 0, 0, 0, 5, 0x49])]);
}

/**
 * Follows the backend's output across chunks, message by message, and keeps
 * the last ReadyForQuery status while it is the last message seen.
 */
class OutputTracker {
  private header = Buffer.alloc(5);
  private headerFill = 0;
  private bodyLeft = 0;
  private type = 0;
  /** 'I', 'T' or 'E' when the output so far ends with ReadyForQuery; undefined otherwise. */
  idleStatus: number | undefined;

  feed(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.bodyLeft > 0) {
        if (this.type === READY_FOR_QUERY && this.bodyLeft === 1) this.idleStatus = chunk[i];
        const n = Math.min(this.bodyLeft, chunk.length - i);
        this.bodyLeft -= n;
        i += n;
        continue;
      }
      this.header[this.headerFill++] = chunk[i++] ?? 0;
      if (this.headerFill === 5) {
        this.headerFill = 0;
        this.type = this.header[0] ?? 0;
        this.bodyLeft = this.header.readInt32BE(1) - 4;
        this.idleStatus = undefined;
      }
    }
  }
}

interface Connection {
  readonly socket: Socket;
  /** Bytes received and not yet fed to the backend. */
  pending: Buffer;
  /** Bytes received since, kept apart until a message can be complete (a large message arrives in many chunks). */
  chunks: Buffer[];
  chunkBytes: number;
  /** How long `pending` must be before another message can be complete. */
  need: number;
  /** Before the startup message, SSL/GSS requests are answered here. */
  started: boolean;
  /** Since when it has waited for the backend; undefined when not waiting. */
  waitingSince: number | undefined;
  closed: boolean;
}

/** Length of the complete messages at the start of `pending` (0 if none). */
function completeLength(pending: Buffer, started: boolean): number {
  if (!started) {
    if (pending.length < 4) return 0;
    const length = pending.readInt32BE(0);
    return pending.length >= length ? length : 0;
  }
  let end = 0;
  while (pending.length - end >= 5) {
    const length = 1 + pending.readInt32BE(end + 1);
    if (pending.length - end < length) break;
    end += length;
  }
  return end;
}

/** How long `pending` must be before the first incomplete message in it is complete. */
function needFor(pending: Buffer, started: boolean): number {
  const end = completeLength(pending, started);
  if (!started) return pending.length - end >= 4 ? end + pending.readInt32BE(end) : end + 4;
  return pending.length - end >= 5 ? end + 1 + pending.readInt32BE(end + 1) : end + 5;
}

/** The type of the last complete message in `pending` (0 if none). */
function lastCompleteType(pending: Buffer): number {
  let end = 0;
  let type = 0;
  while (pending.length - end >= 5) {
    const length = 1 + pending.readInt32BE(end + 1);
    if (pending.length - end < length) break;
    type = pending[end] ?? 0;
    end += length;
  }
  return type;
}

/** Moves the kept chunks into `pending`. */
function absorb(connection: Connection): void {
  if (connection.chunks.length > 0) {
    connection.pending = Buffer.concat([connection.pending, ...connection.chunks]);
    connection.chunks = [];
    connection.chunkBytes = 0;
  }
  connection.need = needFor(connection.pending, connection.started);
}

const SYNC = 0x53; // 'S'
const QUERY = 0x51; // 'Q'

export interface WireServer {
  readonly server: Server;
  /** Connections open now (for tests and logs). */
  connectionCount(): number;
  /** Stops accepting, drops every connection (an open transaction is rolled back), and waits for the backend. */
  close(): Promise<void>;
}

/**
 * Creates the server; the caller listens (`server.listen(path)`).
 * @example const wire = createWireServer({ backend: PGlite.create(dir), waitTimeoutMs: 30_000 });
 */
export function createWireServer({ backend, waitTimeoutMs }: WireServerOptions): WireServer {
  const connections = new Set<Connection>();
  /** The connection holding the backend (in a transaction or mid-exchange), if any. */
  let owner: Connection | undefined;
  /** True while a batch runs in PGlite. */
  let running = false;
  let closing = false;
  let idle: (() => void) | undefined;
  let db: RawBackend | undefined;
  void backend.then(
    (opened) => {
      db = opened;
      schedule();
    },
    () => {
      for (const connection of connections) connection.socket.destroy();
    },
  );

  const waiting = (): Connection[] =>
    [...connections].filter((c) => !c.closed && completeLength(c.pending, c.started) > 0);

  // Expired waits are answered without the backend; checked once a second.
  const timer = setInterval(() => {
    const now = Date.now();
    for (const connection of connections) {
      if (connection === owner || connection.waitingSince === undefined) continue;
      if (now - connection.waitingSince < waitTimeoutMs) continue;
      connection.waitingSince = undefined;
      if (!connection.started) {
        // Its startup waited (a new connection needs the backend too): refused, as a busy server would.
        connection.closed = true;
        connection.socket.end(busyAnswer(waitTimeoutMs, true));
        continue;
      }
      // Refused whole: only once the exchange it waits with is complete (up to its Sync).
      const last = lastCompleteType(connection.pending);
      if (last !== SYNC && last !== QUERY) {
        connection.waitingSince = now;
        continue;
      }
      connection.pending = connection.pending.subarray(completeLength(connection.pending, true));
      absorb(connection);
      connection.socket.write(busyAnswer(waitTimeoutMs, false));
    }
  }, 1000);
  timer.unref();

  function schedule(): void {
    if (running || db === undefined) return;
    let next: Connection | undefined;
    if (owner !== undefined) {
      if (owner.closed) {
        void run(owner, resetMessages(), true);
        return;
      }
      if (completeLength(owner.pending, owner.started) > 0) next = owner;
    } else {
      // The longest waiting first.
      next = waiting().sort((a, b) => (a.waitingSince ?? 0) - (b.waitingSince ?? 0))[0];
    }
    if (next === undefined) {
      if (owner === undefined && closing) idle?.();
      return;
    }
    const length = completeLength(next.pending, next.started);
    const batch = next.pending.subarray(0, length);
    next.pending = next.pending.subarray(length);
    next.need = needFor(next.pending, next.started);
    next.waitingSince = completeLength(next.pending, true) > 0 ? Date.now() : undefined;
    void run(next, batch, false);
  }

  async function run(connection: Connection, batch: Uint8Array, reset: boolean): Promise<void> {
    running = true;
    owner = connection;
    const tracker = new OutputTracker();
    try {
      await db?.execProtocolRawStream(batch, {
        onRawData: (data) => {
          tracker.feed(data);
          if (!reset && !connection.closed) connection.socket.write(Buffer.from(data));
        },
      });
      if (!connection.started) {
        connection.started = true;
        absorb(connection);
      }
    } catch (error) {
      // PGlite itself failed (not an SQL error, which is an answer): this connection cannot go on.
      connection.socket.destroy(error instanceof Error ? error : new Error(String(error)));
    } finally {
      running = false;
    }
    // Idle again ('I'): the backend is free for the next connection. Otherwise this connection
    // keeps it (a transaction, an exchange not yet synced); if it has gone, schedule() rolls back.
    if (reset || tracker.idleStatus === 0x49) owner = undefined;
    schedule();
  }

  /** SSLRequest / GSSENCRequest get 'N' (no encryption); a CancelRequest is dropped (nothing to signal). */
  function answerPreStartup(connection: Connection): void {
    while (!connection.started && connection.pending.length >= 8) {
      const length = connection.pending.readInt32BE(0);
      const code = connection.pending.readInt32BE(4);
      if (length === 8 && (code === SSL_REQUEST || code === GSSENC_REQUEST)) {
        connection.socket.write('N');
        connection.pending = connection.pending.subarray(8);
      } else if (length === 16 && code === CANCEL_REQUEST) {
        connection.pending = connection.pending.subarray(16);
        connection.socket.end();
        return;
      } else if (code !== PROTOCOL_3 || length < 8 || length > 10_000) {
        connection.socket.destroy();
        return;
      } else {
        return;
      }
    }
  }

  const server = createServer((socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const connection: Connection = {
      socket,
      pending: Buffer.alloc(0),
      chunks: [],
      chunkBytes: 0,
      need: 4,
      started: false,
      waitingSince: undefined,
      closed: false,
    };
    connections.add(connection);
    socket.on('data', (data: Buffer) => {
      connection.chunks.push(data);
      connection.chunkBytes += data.length;
      if (connection.pending.length + connection.chunkBytes < connection.need) return;
      absorb(connection);
      answerPreStartup(connection);
      connection.need = needFor(connection.pending, connection.started);
      if (
        connection.waitingSince === undefined &&
        completeLength(connection.pending, connection.started) > 0
      ) {
        connection.waitingSince = Date.now();
      }
      schedule();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      connection.closed = true;
      connections.delete(connection);
      // An owner that left mid-transaction is rolled back before anyone else goes on.
      schedule();
    });
  });

  return {
    server,
    connectionCount: () => connections.size,
    async close() {
      closing = true;
      clearInterval(timer);
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const connection of connections) connection.socket.destroy();
      await stopped;
      // The last batch (and a rollback for an owner that was cut off) finishes first.
      await new Promise<void>((resolve) => {
        idle = resolve;
        if (!running && owner === undefined) resolve();
        else schedule();
      });
    },
  };
}
