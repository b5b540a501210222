/**
 * Handlers for the `realtime` tag. The WebSocket paths are served by
 * `src/realtime/` on the HTTP server's `upgrade` event; the handlers here only
 * see the requests that arrive without an upgrade, and answer 426.
 */
import type { components } from '../../generated/openapi.js';
import type { ApiError } from '../contract/errors.js';
import type { Fail, Input, Reply } from '../contract/types.js';
import * as chat from '../db/repos/chat.repo.js';
import type { ChatMessageRow } from '../db/schema.js';
import type { Deps } from '../deps.js';

type ChatMessage = components['schemas']['ChatMessage'];

export function chatMessageToApi(row: ChatMessageRow): ChatMessage {
  return {
    id: row.id,
    room: row.room,
    user_id: row.user_id,
    text: row.text,
    sent_at: row.sent_at.toISOString(),
  };
}

/** 426 with `Upgrade: websocket` (RFC 9110 §15.5.22): the client must repeat the request as an upgrade. */
function upgradeRequired(fail: Fail<'connectEcho' | 'connectChat'>): ApiError {
  return fail(
    426,
    'upgrade-required',
    'This path speaks WebSocket; send the request with Connection: Upgrade and Upgrade: websocket.',
    { headers: { Upgrade: 'websocket' } },
  );
}

export function connectEcho(input: Input<'connectEcho'>): Promise<Reply<'connectEcho'>> {
  return Promise.reject(upgradeRequired(input.fail));
}

export function connectChat(input: Input<'connectChat'>): Promise<Reply<'connectChat'>> {
  return Promise.reject(upgradeRequired(input.fail));
}

export async function listRoomMessages(
  input: Input<'listRoomMessages'>,
  deps: Deps,
): Promise<Reply<'listRoomMessages'>> {
  const skip = input.query.skip ?? 0;
  const limit = input.query.limit ?? 10;
  const { rows, total } = await chat.listRoomMessages(deps.db, { room: input.path.room, skip, limit });
  return { status: 200, body: { items: rows.map(chatMessageToApi), total, skip, limit } };
}
