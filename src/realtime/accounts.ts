/**
 * The accounts behind open sockets, re-read on every heartbeat: a socket must
 * not outlive its account (deleted or deactivated after the upgrade).
 */
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/** Of `userIds`, those whose account still exists and is active; one query for all of them. */
export async function findAccounts(db: Kysely<Database>, userIds: readonly number[]): Promise<Set<number>> {
  if (userIds.length === 0) return new Set();
  const rows = await db
    .selectFrom('users')
    .select('id')
    .where(sql<boolean>`id = any(${[...userIds]}::bigint[])`)
    .where('is_active', '=', true)
    .execute();
  return new Set(rows.map((row) => Number(row.id)));
}
