/**
 * File metadata. The bytes live in a storage driver (files/storage.ts); a row
 * is inserted only once its bytes are durably stored.
 */
import type { Db, FileRow, NewFileRow, Trx } from '../schema.js';

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

/** One user's files, newest first. */
export async function listFiles(
  db: Db,
  page: { ownerId: number; skip: number; limit: number },
): Promise<{ rows: FileRow[]; total: number }> {
  const [rows, counted] = await Promise.all([
    db
      .selectFrom('files')
      .selectAll()
      .where('owner_id', '=', page.ownerId)
      .orderBy('id', 'desc')
      .offset(page.skip)
      .limit(page.limit)
      .execute(),
    db
      .selectFrom('files')
      .select((eb) => eb.fn.countAll<number>().as('total'))
      .where('owner_id', '=', page.ownerId)
      .executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(counted.total) };
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
