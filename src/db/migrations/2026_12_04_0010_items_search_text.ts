import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * One lower-cased search column for the items search, in place of a trigram
 * index on each of name and description. `search` is
 * `lower(name) || E'\n' || lower(description)`, kept by the database
 * (a stored generated column), with one trigram GIN index. The search then
 * tests one column with LIKE against a lower-cased pattern, which is what
 * ILIKE does (it lower-cases both sides with the same function) without
 * lower-casing every candidate row again, and finds its rows in one index
 * instead of OR-ing two. Adding the column rewrites the table once.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table items add column search text not null
    generated always as (lower(name) || E'\n' || lower(coalesce(description, ''))) stored`.execute(db);
  await db.schema
    .createIndex('items_search_trgm_idx')
    .on('items')
    .using('gin')
    .expression(sql`search gin_trgm_ops`)
    .execute();
  for (const column of ['name', 'description']) {
    await db.schema.dropIndex(`items_${column}_trgm_idx`).execute();
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const column of ['name', 'description']) {
    await db.schema
      .createIndex(`items_${column}_trgm_idx`)
      .on('items')
      .using('gin')
      .expression(sql`${sql.ref(column)} gin_trgm_ops`)
      .execute();
  }
  await db.schema.dropIndex('items_search_trgm_idx').execute();
  await db.schema.alterTable('items').dropColumn('search').execute();
}
