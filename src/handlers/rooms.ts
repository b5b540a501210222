/**
 * Handlers for the `realtime` tag. The WebSocket paths are served by
 * `src/realtime/` on the HTTP server's `upgrade` event; the handlers here only
 * see the requests that arrive without an upgrade, and answer 426.
 */
import type { ApiError } from '../contract/errors.js';
import type { Fail, Input, Reply } from '../contract/types.js';
import * as chat from '../db/repos/chat.repo.js';
import type { Deps } from '../deps.js';
import { chatMessageToApi } from '../mappers/chat.js';
import { byId, listReply, readPaging } from './paging.js';

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
  const { room } = input.path;
  const scope = { path: `/rooms/${room}/messages`, filters: {} };
  const paging = readPaging(deps.config, scope, input.query, byId);
  const page = await chat.listRoomMessages(deps.db, { ...paging, room });
  return listReply(deps.config, scope, paging, page, byId, chatMessageToApi);
}
