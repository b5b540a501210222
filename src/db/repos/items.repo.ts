/** Catalogue queries. Prices stay exact: numeric in SQL, decimal strings in rows. */
import { sql } from 'kysely';
import type { ExpressionBuilder } from 'kysely';
import type { Database, Db, ItemRow, ItemTable } from '../schema.js';
import type { Insertable, Updateable } from 'kysely';

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

/** Newest first, optionally filtered by `q` over name and description, with the total. */
export async function listItems(
  db: Db,
  page: { skip: number; limit: number; q: string | undefined },
): Promise<{ rows: ItemRow[]; total: number }> {
  let rows = db.selectFrom('items').selectAll().orderBy('id', 'desc').offset(page.skip).limit(page.limit);
  let count = db.selectFrom('items').select((eb) => eb.fn.countAll<number>().as('total'));
  if (page.q !== undefined) {
    rows = rows.where(matches(page.q));
    count = count.where(matches(page.q));
  }
  const [found, counted] = await Promise.all([rows.execute(), count.executeTakeFirstOrThrow()]);
  return { rows: found, total: Number(counted.total) };
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
