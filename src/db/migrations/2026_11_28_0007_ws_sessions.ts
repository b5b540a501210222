import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * Open WebSocket connections, one row each, so the per-user connection cap
 * holds across server processes (PostgreSQL only; the embedded database has
 * one process and counts in memory). `instance` is the process that holds the
 * socket; it refreshes `seen_at` on every heartbeat, so the rows of a process
 * that died without deleting them stop counting after two heartbeats.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ws_sessions')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('user_id', 'bigint', (col) => col.notNull().references('users.id').onDelete('cascade'))
    .addColumn('instance', 'text', (col) => col.notNull())
    .addColumn('opened_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('seen_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('ws_sessions_user_id_idx').on('ws_sessions').column('user_id').execute();
  await db.schema.createIndex('ws_sessions_instance_idx').on('ws_sessions').column('instance').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('ws_sessions').execute();
}
