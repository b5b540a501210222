import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * Uploaded files: one metadata row per file, and the chunks of the database
 * storage driver. A chunk row is written before its file row exists (bytes
 * first, metadata last), so chunks reference the file by storage key, not by
 * a foreign key.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('files')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('owner_id', 'bigint', (col) => col.notNull().references('users.id').onDelete('cascade'))
    .addColumn('storage_key', 'text', (col) => col.notNull().unique())
    .addColumn('filename', 'text', (col) => col.notNull().check(sql`char_length(filename) between 1 and 255`))
    .addColumn('content_type', 'text', (col) => col.notNull())
    .addColumn('declared_content_type', 'text', (col) => col.notNull())
    .addColumn('size', 'bigint', (col) => col.notNull().check(sql`size >= 0`))
    .addColumn('sha256', 'text', (col) => col.notNull().check(sql`sha256 ~ '^[0-9a-f]{64}$'`))
    .addColumn('description', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('files_owner_id_id_idx').on('files').columns(['owner_id', 'id']).execute();

  await db.schema
    .createTable('file_chunks')
    .addColumn('storage_key', 'text', (col) => col.notNull())
    .addColumn('seq', 'integer', (col) => col.notNull().check(sql`seq >= 0`))
    .addColumn('data', 'bytea', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('file_chunks_pkey', ['storage_key', 'seq'])
    .execute();
  // Out of line but uncompressed: most uploads (images, archives, PDFs) are compressed already,
  // and trying pglz on every 1 MiB chunk costs CPU for nothing.
  await sql`alter table file_chunks alter column data set storage external`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('file_chunks').execute();
  await db.schema.dropTable('files').execute();
}
