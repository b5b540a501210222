/**
 * Who is where on this process: chat room members and the guide's echo
 * clients, and presence (joins and leaves) told to a room's members, here and,
 * through the bus, on the other processes.
 */
import type { Logger } from 'pino';
import type { BusEvent } from './bus.js';
import type { Client } from './connections.js';
import type { Delivery } from './delivery.js';
import { serialize } from './frames.js';
import type { FrameValidators } from './frames.js';

/** How long a large room's joins and leaves are gathered into one summary frame. */
const PRESENCE_SUMMARY_MS = 1000;
/** User ids listed in one summary frame, per direction (the contract's maxItems). */
const PRESENCE_SUMMARY_IDS = 100;

/** A large room's joins and leaves waiting for their summary frame. */
interface PendingPresence {
  readonly joined: Set<number>;
  readonly left: Set<number>;
  joinedCount: number;
  leftCount: number;
  readonly timer: NodeJS.Timeout;
}

export interface Rooms {
  /** This process's members of a chat room; undefined when it has none here. */
  members(room: string): ReadonlySet<Client> | undefined;
  /** The chat rooms with members on this process. */
  names(): string[];
  /** A new connection: into its room (announced) or among the echo clients. */
  join(client: Client): void;
  /** A closed connection: out of its room (announced), or its leaving said on the echo chat. */
  leave(client: Client): void;
  /** Says a line to every echo client, here and on the other processes. */
  echo(line: string): void;
  /** A line of the echo chat from another process. */
  echoFromElsewhere(line: string): void;
  /** A join or leave on another process, told to this process's members of the room. */
  presence(room: string, userId: number, event: 'join' | 'leave', at: string): void;
  /** Drops the presence summaries not sent yet. */
  close(): void;
}

export interface RoomsOptions {
  readonly log: Logger;
  readonly delivery: Delivery;
  readonly frames: FrameValidators;
  /** Members on this process from which joins and leaves are summed up once a second. */
  readonly presenceRoomLimit: number;
  /** Publishes an event to the other processes (this one skips its own). */
  readonly publish: (event: BusEvent) => void;
  readonly origin: string;
}

export function createRooms(options: RoomsOptions): Rooms {
  const { log, delivery, frames, publish, origin } = options;
  const rooms = new Map<string, Set<Client>>();
  const echoClients = new Set<Client>();
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
    delivery.fanOut(members, [serialize(frames.chatServer, frame)]);
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
    if (members.size < options.presenceRoomLimit) {
      delivery.fanOut(members, [serialize(frames.chatServer, { type: event, room, user_id: userId, at })]);
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
    publish({ kind: 'presence', origin, room, userId, event, at });
  };

  const echoHere = (line: string): void => {
    delivery.fanOut(echoClients, [serialize(frames.echoServerText, line)]);
  };

  const echo = (line: string): void => {
    echoHere(line);
    publish({ kind: 'echo', origin, line });
  };

  return {
    members: (room) => rooms.get(room),
    names: () => [...rooms.keys()],
    join(client) {
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
    },
    leave(client) {
      if (client.kind === 'echo') {
        echoClients.delete(client);
        echo(`Client #${client.clientId} left the chat`);
        return;
      }
      const members = rooms.get(client.room);
      members?.delete(client);
      if (members?.size === 0) rooms.delete(client.room);
      announce(client.room, client.userId, 'leave');
    },
    echo,
    echoFromElsewhere: echoHere,
    presence,
    close() {
      for (const pending of summaries.values()) clearTimeout(pending.timer);
      summaries.clear();
    },
  };
}
