/**
 * Frames from clients: rate-limited per connection, text only, checked by the
 * contract's Ajv; a chat message is stored and delivered, an echo line is
 * answered and said to every echo client.
 */
import type { Logger } from 'pino';
import type { RawData } from 'ws';
import type { Client } from './connections.js';
import type { Delivery } from './delivery.js';
import { frameErrors, serialize } from './frames.js';
import type { ChatClientFrame, FrameValidators } from './frames.js';
import type { Messages } from './messages.js';
import type { Rooms } from './rooms.js';
import type { Tasks } from './tasks.js';

export interface InboundOptions {
  readonly log: Logger;
  readonly frames: FrameValidators;
  readonly delivery: Delivery;
  readonly rooms: Rooms;
  readonly messages: Messages;
  readonly tasks: Tasks;
  readonly messagesPerSecond: number;
}

const invalidFrame = (count: number): string =>
  `The frame has ${count} validation error${count === 1 ? '' : 's'}.`;

/** The handler of one frame from a client. */
export function createInbound(
  options: InboundOptions,
): (client: Client, data: RawData, isBinary: boolean) => void {
  const { log, frames, delivery, rooms, messages, tasks } = options;

  const onChatFrame = (client: Client, text: string): void => {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      delivery.sendError(client, 'invalid_json', 'The frame is not valid JSON.');
      return;
    }
    if (!frames.chatClient(frame)) {
      const errors = frameErrors(frames.chatClient);
      delivery.sendError(client, 'invalid_frame', invalidFrame(errors.length), errors);
      return;
    }
    const message = frame as ChatClientFrame;
    tasks.track(
      messages.say({ room: client.room, userId: client.userId, text: message.text }).catch((err: unknown) => {
        log.error({ err }, 'realtime: storing a chat message failed');
        delivery.sendError(client, 'internal_error', 'The message could not be stored; send it again.');
      }),
      'realtime: chat message',
    );
  };

  const onEchoFrame = (client: Client, text: string): void => {
    if (!frames.echoText(text)) {
      const errors = frameErrors(frames.echoText);
      delivery.sendError(client, 'invalid_frame', invalidFrame(errors.length), errors);
      return;
    }
    delivery.send(client, serialize(frames.echoServerText, `Message text was: ${text}`));
    rooms.echo(`Client #${client.clientId} says: ${text}`);
  };

  return (client, data, isBinary) => {
    const now = performance.now();
    if (!client.limiter.take(now)) {
      // One error frame a second at most: a flood must not be answered with a flood.
      if (now - client.lastRateErrorAt >= 1000) {
        client.lastRateErrorAt = now;
        delivery.sendError(
          client,
          'rate_limited',
          `Too many frames: at most ${options.messagesPerSecond} a second.`,
        );
      }
      return;
    }
    if (isBinary) {
      delivery.sendError(client, 'binary_not_supported', 'Send text frames; binary frames are not accepted.');
      return;
    }
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.from(data as Buffer).toString('utf8');
    if (client.kind === 'chat') onChatFrame(client, text);
    else onEchoFrame(client, text);
  };
}
