/**
 * The database driver: an object is rows of `file_chunks` (`bytea`, up to
 * CHUNK_BYTES each), so every process and instance sharing the database sees
 * it. Each chunk is its own short statement (never one transaction per
 * upload): PGlite has one connection, and a long transaction there would stall
 * every other request. Works the same on PGlite and PostgreSQL.
 */
import { Readable } from 'node:stream';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { assertStorageKey } from './storage.js';
import type { ByteRange, FileStorage } from './storage.js';

/** 1 MiB: few round trips, and a bounded buffer per upload. */
export const CHUNK_BYTES = 1024 * 1024;
/** Bytes fetched per query when reading (see readChunks). */
const READ_SLICE_BYTES = 64 * 1024;

async function writeChunks(db: Kysely<Database>, key: string, source: Readable): Promise<void> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let seq = 0;
  const flush = async (): Promise<void> => {
    const data = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    await db.insertInto('file_chunks').values({ storage_key: key, seq, data }).execute();
    seq += 1;
  };
  for await (const chunk of source as AsyncIterable<Buffer>) {
    let rest = chunk;
    while (pendingBytes + rest.length >= CHUNK_BYTES) {
      const take = CHUNK_BYTES - pendingBytes;
      pending.push(rest.subarray(0, take));
      pendingBytes += take;
      rest = rest.subarray(take);
      await flush();
    }
    if (rest.length > 0) {
      pending.push(rest);
      pendingBytes += rest.length;
    }
  }
  if (pendingBytes > 0 || seq === 0) await flush();
}

/** Yields the object's bytes in [start, end], one chunk (or the part of it in range) per query. */
async function* readChunks(
  db: Kysely<Database>,
  key: string,
  range: ByteRange | undefined,
): AsyncGenerator<Buffer> {
  const sizes = await db
    .selectFrom('file_chunks')
    .select(['seq', sql<number>`octet_length(data)`.as('bytes')])
    .where('storage_key', '=', key)
    .orderBy('seq')
    .execute();
  if (sizes.length === 0) throw new Error(`stored object ${key} is missing`);
  let offset = 0;
  for (const { seq, bytes } of sizes) {
    const length = Number(bytes);
    const first = range === undefined ? 0 : Math.max(0, range.start - offset);
    const last = range === undefined ? length - 1 : Math.min(length - 1, range.end - offset);
    offset += length;
    // Read in 64 KiB slices: each crosses the wire as a hex string twice its size, and small
    // strings are collected young instead of piling up until a full GC.
    for (let from = first; from <= last; from += READ_SLICE_BYTES) {
      const count = Math.min(READ_SLICE_BYTES, last - from + 1);
      // substring is 1-based; only the bytes in range cross the wire.
      const row = await db
        .selectFrom('file_chunks')
        .select(sql<Buffer>`substring(data from ${from + 1} for ${count})`.as('part'))
        .where('storage_key', '=', key)
        .where('seq', '=', seq)
        .executeTakeFirst();
      if (row === undefined) throw new Error(`stored object ${key} lost chunk ${seq}`);
      yield row.part;
    }
    if (range !== undefined && offset > range.end) return;
  }
}

export function createDatabaseStorage(db: Kysely<Database>): FileStorage {
  const remove = async (key: string): Promise<void> => {
    assertStorageKey(key);
    await db.deleteFrom('file_chunks').where('storage_key', '=', key).execute();
  };
  return {
    kind: 'database',
    async write(key, source) {
      assertStorageKey(key);
      try {
        await writeChunks(db, key, source);
      } catch (error) {
        source.destroy();
        await remove(key);
        throw error;
      }
    },
    read(key, range) {
      assertStorageKey(key);
      return Readable.from(readChunks(db, key, range), { objectMode: false });
    },
    remove,
    async staleKeys(before) {
      const rows = await db
        .selectFrom('file_chunks')
        .select('storage_key')
        .groupBy('storage_key')
        // The newest chunk: an upload still being written is never stale.
        .having((eb) => eb.fn.max('created_at'), '<', before)
        .execute();
      return rows.map((row) => row.storage_key);
    },
  };
}
