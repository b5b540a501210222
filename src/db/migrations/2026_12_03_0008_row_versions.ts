import type { Kysely } from 'kysely';

/**
 * A version per item and per account, raised by every change: their strong
 * ETag, and what `If-Match` compares in the same UPDATE/DELETE that writes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const table of ['items', 'users']) {
    await db.schema
      .alterTable(table)
      .addColumn('version', 'integer', (col) => col.notNull().defaultTo(1))
      .execute();
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['items', 'users']) {
    await db.schema.alterTable(table).dropColumn('version').execute();
  }
}
