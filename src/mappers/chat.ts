/**
 * Chat rows as API objects, shared by the HTTP handler that lists a room's
 * messages and the WebSocket transport that delivers them.
 */
import type { components } from '../../generated/openapi.js';
import type { ChatMessageRow } from '../db/schema.js';

type ChatMessage = components['schemas']['ChatMessage'];

/** The only way a chat_messages row becomes a `ChatMessage`: timestamps as RFC 3339. */
export function chatMessageToApi(row: ChatMessageRow): ChatMessage {
  return {
    id: row.id,
    room: row.room,
    user_id: row.user_id,
    text: row.text,
    sent_at: row.sent_at.toISOString(),
  };
}
