import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * Chat rooms' history. Rooms are not rows: a room exists while someone talks
 * in it. History is read newest first per room, hence the (room, id) index.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('chat_messages')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('room', 'text', (col) => col.notNull().check(sql`room ~ '^[A-Za-z0-9_-]{1,64}$'`))
    .addColumn('user_id', 'bigint', (col) => col.notNull().references('users.id').onDelete('cascade'))
    .addColumn('text', 'text', (col) => col.notNull().check(sql`char_length(text) between 1 and 2000`))
    .addColumn('sent_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('chat_messages_room_id_idx')
    .on('chat_messages')
    .columns(['room', 'id'])
    .execute();
  await db.schema.createIndex('chat_messages_user_id_idx').on('chat_messages').column('user_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('chat_messages').execute();
}
