/**
 * The `database` file driver's rows: an object is `file_chunks` rows of
 * `bytea` under one storage key, numbered from 0. Writes send the bytes as
 * binary parameters (node-postgres binds a Buffer in binary format), several
 * chunks per INSERT. Reads on PostgreSQL use `COPY … TO STDOUT (FORMAT
 * binary)`, a few chunks per COPY, so bytes cross the wire as bytes, not as
 * hex text twice their size. PGlite's node-postgres adapter cannot carry a
 * COPY stream, so there a chunk is one SELECT (text). Every call is one short
 * statement: on PGlite a long one would hold its only connection.
 */
import { to as copyTo } from 'pg-copy-streams';
import { sql } from 'kysely';
import type { Kysely, Transaction } from 'kysely';
import type { DatabaseHandle } from '../database.js';
import type { Database } from '../schema.js';

type Db = Kysely<Database> | Transaction<Database>;

/** One stored piece of an object. */
export interface Chunk {
  readonly seq: number;
  readonly data: Buffer;
}

const STORAGE_KEY = /^[0-9a-f]{32}$/;

/** Storage keys go into COPY's SQL text (COPY takes no parameters): only server-made hex keys pass. */
function checkedKey(key: string): string {
  if (!STORAGE_KEY.test(key)) throw new Error(`not a storage key: ${JSON.stringify(key)}`);
  return key;
}

/** Inserts the chunks of `key` in one statement. */
export async function insertChunks(db: Db, key: string, chunks: readonly Chunk[]): Promise<void> {
  if (chunks.length === 0) return;
  await db
    .insertInto('file_chunks')
    .values(chunks.map(({ seq, data }) => ({ storage_key: key, seq, data })))
    .execute();
}

/** Each chunk's number and length in bytes, in order; empty when the object is missing. */
export async function chunkSizes(db: Db, key: string): Promise<{ seq: number; bytes: number }[]> {
  const rows = await db
    .selectFrom('file_chunks')
    .select(['seq', sql<number>`octet_length(data)`.as('bytes')])
    .where('storage_key', '=', key)
    .orderBy('seq')
    .execute();
  return rows.map((row) => ({ seq: row.seq, bytes: Number(row.bytes) }));
}

/** The chunks of `key` numbered `from` to `to` (inclusive), in order. */
export async function readChunks(
  database: DatabaseHandle,
  key: string,
  from: number,
  to: number,
): Promise<Buffer[]> {
  if (database.kind === 'pglite') {
    const rows = await database.db
      .selectFrom('file_chunks')
      .select('data')
      .where('storage_key', '=', key)
      .where('seq', '>=', from)
      .where('seq', '<=', to)
      .orderBy('seq')
      .execute();
    return rows.map((row) => row.data);
  }
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to))
    throw new Error('chunk numbers must be integers');
  const text =
    `copy (select data from file_chunks where storage_key = '${checkedKey(key)}' ` +
    `and seq between ${from} and ${to} order by seq) to stdout (format binary)`;
  const copied = await database.withClient(async (client) => {
    const parts: Buffer[] = [];
    for await (const part of client.query(copyTo(text))) parts.push(part as Buffer);
    return Buffer.concat(parts);
  });
  return parseBinaryCopy(copied);
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * The one-column rows of a `COPY … (FORMAT binary)` output: a signature, flags
 * and a header extension, then per row a field count and a length-prefixed
 * value, then a -1 field count. Values are views into `copied`, not copies.
 */
export function parseBinaryCopy(copied: Buffer): Buffer[] {
  if (copied.length < 19 || !copied.subarray(0, 11).equals(SIGNATURE))
    throw new Error('not COPY binary output');
  let at = 15;
  at += 4 + copied.readUInt32BE(at);
  const rows: Buffer[] = [];
  for (;;) {
    const fields = copied.readInt16BE(at);
    at += 2;
    if (fields === -1) return rows;
    if (fields !== 1) throw new Error(`expected one column, got ${fields}`);
    const length = copied.readInt32BE(at);
    at += 4;
    if (length < 0 || at + length > copied.length) throw new Error('truncated COPY binary output');
    rows.push(copied.subarray(at, at + length));
    at += length;
  }
}

export async function deleteChunks(db: Db, key: string): Promise<void> {
  await db.deleteFrom('file_chunks').where('storage_key', '=', key).execute();
}

/** Keys whose newest chunk was written before `before` (an upload still being written is never stale). */
export async function staleChunkKeys(db: Db, before: Date): Promise<string[]> {
  const rows = await db
    .selectFrom('file_chunks')
    .select('storage_key')
    .groupBy('storage_key')
    .having((eb) => eb.fn.max('created_at'), '<', before)
    .execute();
  return rows.map((row) => row.storage_key);
}
