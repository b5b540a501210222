/** Catalogue queries. Prices stay exact: numeric in SQL, decimal strings in rows. */
import { sql } from 'kysely';
import type { ExpressionBuilder } from 'kysely';
import type { Database, Db, ItemRow, ItemTable } from '../schema.js';
import type { Insertable, Updateable } from 'kysely';
import { fetchPage } from './paging.js';
import type { Page, PageRequest } from './paging.js';

/** A LIKE pattern that matches `text` literally anywhere (its %, _ and \ escaped). */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

const matches = (q: string) => (eb: ExpressionBuilder<Database, 'items'>) =>
  eb.or([eb('name', 'ilike', containsPattern(q)), eb('description', 'ilike', containsPattern(q))]);

export async function insertItem(db: Db, item: Insertable<ItemTable>): Promise<ItemRow> {
  return db.insertInto('items').values(item).returningAll().executeTakeFirstOrThrow();
}

export async function findItem(db: Db, id: number): Promise<ItemRow | undefined> {
  return db.selectFrom('items').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The item when it belongs to `ownerId` and, if `q` is given, matches it. */
export async function findUserItem(
  db: Db,
  ownerId: number,
  id: number,
  q: string | undefined,
): Promise<ItemRow | undefined> {
  let query = db.selectFrom('items').selectAll().where('id', '=', id).where('owner_id', '=', ownerId);
  if (q !== undefined) query = query.where(matches(q));
  return query.executeTakeFirst();
}

/** Newest first (after the item with id `after`, when given), optionally filtered by `q` over name and description. */
export async function listItems(
  db: Db,
  page: PageRequest & { q: string | undefined; after?: number | undefined },
): Promise<Page<ItemRow>> {
  let matching = db.selectFrom('items');
  if (page.q !== undefined) matching = matching.where(matches(page.q));
  let rows = matching.selectAll().orderBy('id', 'desc');
  if (page.after !== undefined) rows = rows.where('id', '<', page.after);
  return fetchPage(db, rows, matching, page);
}

/**
 * Changes the item and raises its version, in one statement that also checks
 * the version when `versions` is given; undefined when no row matched (gone,
 * or at another version).
 */
export async function updateItem(
  db: Db,
  id: number,
  changes: Updateable<ItemTable>,
  versions?: readonly number[],
): Promise<ItemRow | undefined> {
  let query = db
    .updateTable('items')
    .set((eb) => ({ ...changes, updated_at: sql`now()`, version: eb('version', '+', 1) }))
    .where('id', '=', id);
  if (versions !== undefined) query = query.where(atVersion(versions));
  return query.returningAll().executeTakeFirst();
}

/** Deletes the item (only at one of `versions` when given); false when no row matched. */
export async function deleteItem(db: Db, id: number, versions?: readonly number[]): Promise<boolean> {
  let query = db.deleteFrom('items').where('id', '=', id);
  if (versions !== undefined) query = query.where(atVersion(versions));
  const result = await query.executeTakeFirst();
  return result.numDeletedRows > 0n;
}

const atVersion = (versions: readonly number[]) => (eb: ExpressionBuilder<Database, 'items'>) =>
  versions.length === 0 ? eb.val(false) : eb('version', 'in', [...versions]);
