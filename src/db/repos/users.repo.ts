/** User queries. The first argument is a Kysely instance or a transaction, so calls compose. */
import { sql } from 'kysely';
import type { ExpressionBuilder } from 'kysely';
import type { Database, Db, NewUserRow, UserRow, UserRowUpdate } from '../schema.js';
import { fetchPage } from './paging.js';
import type { Page, PageRequest } from './paging.js';

/** Postgres unique-violation on one of the users' unique indexes, or undefined. */
export function uniqueViolation(error: unknown): 'email' | 'username' | undefined {
  const { code, constraint } = (error ?? {}) as { code?: unknown; constraint?: unknown };
  if (code !== '23505') return undefined;
  if (constraint === 'users_email_lower_key') return 'email';
  if (constraint === 'users_username_lower_key') return 'username';
  return undefined;
}

export async function insertUser(db: Db, user: NewUserRow): Promise<UserRow> {
  return db.insertInto('users').values(user).returningAll().executeTakeFirstOrThrow();
}

export async function findUserById(db: Db, id: number): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Case-insensitive, matching the unique index on lower(email). */
export async function findUserByEmail(db: Db, email: string): Promise<UserRow | undefined> {
  return db
    .selectFrom('users')
    .selectAll()
    .where(sql<string>`lower(email)`, '=', email.toLowerCase())
    .executeTakeFirst();
}

/** Newest first (after the account with id `after`, when given). */
export async function listUsers(
  db: Db,
  page: PageRequest & { after?: number | undefined },
): Promise<Page<UserRow>> {
  const matching = db.selectFrom('users');
  let rows = matching.selectAll().orderBy('id', 'desc');
  if (page.after !== undefined) rows = rows.where('id', '<', page.after);
  return fetchPage(db, rows, matching, page);
}

/**
 * Changes the account and raises its version, in one statement that also
 * checks the version when `versions` is given; undefined when no row matched
 * (gone, or at another version).
 */
export async function updateUser(
  db: Db,
  id: number,
  changes: UserRowUpdate,
  versions?: readonly number[],
): Promise<UserRow | undefined> {
  let query = db
    .updateTable('users')
    .set((eb) => ({ ...changes, updated_at: sql`now()`, version: eb('version', '+', 1) }))
    .where('id', '=', id);
  if (versions !== undefined) query = query.where(atVersion(versions));
  return query.returningAll().executeTakeFirst();
}

/** Deletes the account (only at one of `versions` when given); false when no row matched. */
export async function deleteUser(db: Db, id: number, versions?: readonly number[]): Promise<boolean> {
  let query = db.deleteFrom('users').where('id', '=', id);
  if (versions !== undefined) query = query.where(atVersion(versions));
  const result = await query.executeTakeFirst();
  return result.numDeletedRows > 0n;
}

const atVersion = (versions: readonly number[]) => (eb: ExpressionBuilder<Database, 'users'>) =>
  versions.length === 0 ? eb.val(false) : eb('version', 'in', [...versions]);

/** Makes the account with this email an admin; false when there is none. */
export async function promoteToAdmin(db: Db, email: string): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set((eb) => ({ role: 'admin', updated_at: sql`now()`, version: eb('version', '+', 1) }))
    .where(sql<string>`lower(email)`, '=', email.toLowerCase())
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Of `ids`, those whose account still exists and is active; one query for all of them. */
export async function activeUserIds(db: Db, ids: readonly number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .selectFrom('users')
    .select('id')
    .where(sql<boolean>`id = any(${[...ids]}::bigint[])`)
    .where('is_active', '=', true)
    .execute();
  return new Set(rows.map((row) => Number(row.id)));
}
