import type { Kysely } from 'kysely';

/**
 * Rate-limit counters shared by every server process on PostgreSQL, in the
 * shape rate-limiter-flexible's PostgreSQL store reads and writes: one row per
 * policy and client, `points` used in the window that ends at `expire` (ms
 * since the epoch). The embedded database has one process and counts in memory.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('rate_limits')
    .addColumn('key', 'varchar(255)', (col) => col.primaryKey())
    .addColumn('points', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('expire', 'bigint')
    .execute();
  await db.schema.createIndex('rate_limits_expire_idx').on('rate_limits').column('expire').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('rate_limits').execute();
}
