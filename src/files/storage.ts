/**
 * Where uploaded bytes live, behind one small interface. Objects are named by
 * the server (`newStorageKey()`), never by the client. Two drivers: the local
 * filesystem (default) and chunked `bytea` in the database, which every
 * process and instance reaches.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FilesConfig } from '../config.js';
import type { DatabaseHandle } from '../db/database.js';
import { createDatabaseStorage } from './database-storage.js';
import { createLocalStorage } from './local-storage.js';

/** An inclusive byte range, as in HTTP (`bytes=start-end`). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export interface FileStorage {
  readonly kind: FilesConfig['storage'];
  /**
   * Stores a new object under `key` from `source` and resolves once the bytes
   * are durable. On any error (the source's too) it removes what it wrote and rejects.
   */
  write(key: string, source: Readable): Promise<void>;
  /** The object's bytes, or the range of them; the stream errors if the object is missing. */
  read(key: string, range?: ByteRange): Readable;
  /** Removes the object; a missing one is not an error. */
  remove(key: string): Promise<void>;
  /** Keys of objects (whole or partial) last written before `before`: candidates for the orphan sweep. */
  staleKeys(before: Date): Promise<string[]>;
}

const KEY = /^[0-9a-f]{32}$/;

/** A fresh, unguessable object name: 128 random bits in hex. */
export function newStorageKey(): string {
  return randomBytes(16).toString('hex');
}

export const isStorageKey = (value: string): boolean => KEY.test(value);

/** Refuses anything but a key made by `newStorageKey()`: no client text ever reaches a path or a query. */
export function assertStorageKey(key: string): void {
  if (!KEY.test(key)) throw new Error(`not a storage key: ${JSON.stringify(key)}`);
}

/**
 * The configured driver.
 * @example const storage = createFileStorage(config.files, database);
 */
export function createFileStorage(config: FilesConfig, database: DatabaseHandle): FileStorage {
  return config.storage === 'database' ? createDatabaseStorage(database) : createLocalStorage(config.dir);
}
