/**
 * File metadata. The bytes live in a storage driver (files/storage.ts); a row
 * is inserted only once its bytes are durably stored.
 */
import type { Db, FileRow, NewFileRow, Trx } from '../schema.js';
import { fetchPage } from './paging.js';
import type { Page, PageRequest } from './paging.js';

/** Inserts rows in the given order and returns them in that order. */
export async function insertFiles(trx: Trx, rows: readonly NewFileRow[]): Promise<FileRow[]> {
  if (rows.length === 0) return [];
  const inserted = await trx
    .insertInto('files')
    .values([...rows])
    .returningAll()
    .execute();
  const byKey = new Map(inserted.map((row) => [row.storage_key, row]));
  return rows.map((row) => {
    const found = byKey.get(row.storage_key);
    if (found === undefined) throw new Error('file insert returned fewer rows');
    return found;
  });
}

export async function findFile(db: Db, id: number): Promise<FileRow | undefined> {
  return db.selectFrom('files').selectAll().where('id', '=', id).executeTakeFirst();
}

/** One user's files, newest first (after the file with id `after`, when given). */
export async function listFiles(
  db: Db,
  page: PageRequest & { ownerId: number; after?: number | undefined },
): Promise<Page<FileRow>> {
  const matching = db.selectFrom('files').where('owner_id', '=', page.ownerId);
  let rows = matching.selectAll().orderBy('id', 'desc');
  if (page.after !== undefined) rows = rows.where('id', '<', page.after);
  return fetchPage(db, rows, matching, page);
}

/** Deletes the row; returns its storage key so the caller removes the bytes after commit. */
export async function deleteFile(db: Db, id: number): Promise<string | undefined> {
  const row = await db.deleteFrom('files').where('id', '=', id).returning('storage_key').executeTakeFirst();
  return row?.storage_key;
}

/** Of the given storage keys, those some file row references. */
export async function referencedKeys(db: Db, keys: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (let at = 0; at < keys.length; at += 1000) {
    const rows = await db
      .selectFrom('files')
      .select('storage_key')
      .where('storage_key', 'in', keys.slice(at, at + 1000))
      .execute();
    found.push(...rows.map((row) => row.storage_key));
  }
  return found;
}
