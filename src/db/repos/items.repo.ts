/** Catalogue queries. Prices stay exact: numeric in SQL, decimal strings in rows. */
import { sql } from 'kysely';
import type { ExpressionBuilder, SelectQueryBuilder } from 'kysely';
import type { Database, Db, ItemRow, ItemTable } from '../schema.js';
import type { Insertable, Updateable } from 'kysely';
import { COUNT_CAP, fetchPage } from './paging.js';
import type { Page, PageRequest } from './paging.js';

/** A LIKE pattern that matches `text` literally anywhere (its %, _ and \ escaped). */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The search column's separator between name and description. */
const SEPARATOR = '\n';

/**
 * Name or description contains `q`, case-insensitively: `search LIKE
 * lower(pattern)` is ILIKE on each column, answered by the one trigram index.
 * A `q` holding the separator could match across the two, so it is also held
 * to ILIKE on each column.
 */
const matches = (q: string) => (eb: ExpressionBuilder<Database, 'items'>) => {
  const pattern = containsPattern(q);
  const found = eb('search', 'like', sql<string>`lower(${pattern})`);
  if (!q.includes(SEPARATOR)) return found;
  return eb.and([found, eb.or([eb('name', 'ilike', pattern), eb('description', 'ilike', pattern)])]);
};

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
  if (page.q !== undefined) {
    const found = await searchPage(db, matching, page);
    if (found !== undefined) return found;
  }
  let rows = matching.selectAll().orderBy('id', 'desc');
  if (page.after !== undefined) rows = rows.where('id', '<', page.after);
  return fetchPage(db, rows, matching, page);
}

/**
 * A search's page and its count from one pass over the matching rows. The
 * usual page query walks the id index backwards and tests every row against
 * `q` until the page is full, and the count finds the same rows again through
 * the trigram indexes; here the trigram indexes find the matches once (at most
 * COUNT_CAP + 1 of them), and the page is sorted out of those. On PGlite,
 * where every row tested is WebAssembly work, that halves a search.
 *
 * Exact only when every match was gathered: undefined (run the usual two
 * queries) when more than COUNT_CAP match, or when the page is empty and so
 * carries no count.
 */
async function searchPage(
  db: Db,
  matching: SelectQueryBuilder<Database, 'items', object>,
  page: PageRequest & { after?: number | undefined },
): Promise<Page<ItemRow> | undefined> {
  const gathered = matching
    .selectAll()
    .limit(COUNT_CAP + 1)
    .as('gathered');
  const counted = db
    .selectFrom(gathered)
    .selectAll()
    .select(sql<number>`count(*) over ()`.as('matches'))
    .as('counted');
  let query = db.selectFrom(counted).selectAll();
  if (page.after !== undefined) query = query.where('id', '<', page.after);
  const found = await query
    .orderBy('id', 'desc')
    .offset(page.skip)
    .limit(page.limit + 1)
    .execute();
  const total = Number(found[0]?.matches ?? NaN);
  if (!(total <= COUNT_CAP)) return undefined;
  const rows = found.slice(0, page.limit).map(({ matches: _matches, ...row }) => row);
  return { rows, total, totalCapped: false, more: found.length > page.limit };
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
