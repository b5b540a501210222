/**
 * Writing frames to sockets: each payload is framed once and the same bytes
 * go to every recipient, written straight to the TCP socket under ws (one
 * write per recipient, whatever the frame count). A recipient that stopped
 * reading is closed instead of buffered for.
 */
import type { Logger } from 'pino';
import * as wsModule from 'ws';
import { WebSocket } from 'ws';
import { errorFrame, serialize } from './frames.js';
import type { ErrorFrame, FrameError, FrameValidators } from './frames.js';

/** Close code for a consumer too slow to read its frames (RFC 6455 §7.4.1). */
const TRY_AGAIN_LATER = 1013;
/** How long a closing socket may take to finish its close handshake before it is cut. */
export const CLOSE_GRACE_MS = 1000;
/** ws sends a Buffer as binary unless told otherwise; every frame here is text. */
const TEXT = { binary: false } as const;
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

/** Whoever frames are sent to: a socket and, for the logs, its user. */
export interface Recipient {
  readonly ws: WebSocket;
  readonly userId: number;
}

export interface Delivery {
  send(recipient: Recipient, payload: Buffer): void;
  /** Frames the payloads once and writes the same bytes to every member. */
  fanOut(members: Iterable<Recipient>, payloads: readonly Buffer[]): void;
  sendError(recipient: Recipient, code: ErrorFrame['code'], detail: string, errors?: FrameError[]): void;
}

export interface DeliveryOptions {
  readonly log: Logger;
  readonly frames: FrameValidators;
  /** Bytes a socket may have waiting to be sent before its reader counts as too slow. */
  readonly maxBufferedBytes: number;
}

export function createDelivery({ log, frames, maxBufferedBytes }: DeliveryOptions): Delivery {
  const closeSlow = (recipient: Recipient): void => {
    log.warn(
      { userId: recipient.userId, buffered: recipient.ws.bufferedAmount },
      'realtime: slow consumer closed',
    );
    recipient.ws.close(TRY_AGAIN_LATER, 'Slow consumer: frames were not read');
    setTimeout(() => recipient.ws.terminate(), CLOSE_GRACE_MS).unref();
  };

  /** Sends already framed bytes, unless the recipient stopped reading (then it is closed). */
  const sendWire = (recipient: Recipient, framed: Wire): void => {
    if (recipient.ws.readyState !== WebSocket.OPEN) return;
    if (recipient.ws.bufferedAmount > maxBufferedBytes) {
      closeSlow(recipient);
      return;
    }
    const socket = rawSocket(recipient.ws);
    if (socket !== undefined) socket.write(framed.bytes);
    else for (const payload of framed.payloads) recipient.ws.send(payload, TEXT);
  };

  const send = (recipient: Recipient, payload: Buffer): void => {
    sendWire(recipient, wire([payload]));
  };

  return {
    send,
    fanOut(members, payloads) {
      const framed = wire(payloads);
      for (const member of members) sendWire(member, framed);
    },
    sendError(recipient, code, detail, errors) {
      send(recipient, serialize(frames.chatServer, errorFrame(code, detail, errors)));
    },
  };
}
