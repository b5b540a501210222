import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * Trigram GIN indexes for the items search (`name ILIKE '%q%' OR description
 * ILIKE '%q%'`): the planner answers each side from its index and ORs the
 * bitmaps, instead of reading every row. pg_trgm is a trusted extension since
 * PostgreSQL 13 (a database owner may create it); embedded PGlite loads it at
 * open (PGLITE_EXTENSIONS in pglite-extensions.ts).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create extension if not exists pg_trgm`.execute(db);
  for (const column of ['name', 'description']) {
    await db.schema
      .createIndex(`items_${column}_trgm_idx`)
      .on('items')
      .using('gin')
      .expression(sql`${sql.ref(column)} gin_trgm_ops`)
      .execute();
  }
}

/** Drops the indexes; the extension stays, as other schemas may use it. */
export async function down(db: Kysely<unknown>): Promise<void> {
  for (const column of ['name', 'description']) {
    await db.schema.dropIndex(`items_${column}_trgm_idx`).execute();
  }
}
