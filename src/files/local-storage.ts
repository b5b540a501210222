/**
 * The local filesystem driver: `<dir>/<first two hex digits>/<key>`. A write
 * goes to `<key>.part`, is flushed to disk, renamed into place and the
 * directory synced, so an object either exists whole or not at all.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertStorageKey, isStorageKey } from './storage.js';
import type { ByteRange, FileStorage } from './storage.js';

/** Larger than fs's 64 KiB default: fewer write calls for large uploads. */
const WRITE_BUFFER_BYTES = 1024 * 1024;

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function createLocalStorage(root: string): FileStorage {
  const base = path.resolve(root);
  const locate = (key: string): { directory: string; file: string } => {
    assertStorageKey(key);
    const directory = path.join(base, key.slice(0, 2));
    return { directory, file: path.join(directory, key) };
  };

  return {
    kind: 'local',
    async write(key, source) {
      const { directory, file } = locate(key);
      const partial = `${file}.part`;
      try {
        await mkdir(directory, { recursive: true });
        // wx: never overwrite; flush: fsync before close, so the bytes are on disk when this resolves.
        await pipeline(
          source,
          createWriteStream(partial, { flags: 'wx', flush: true, highWaterMark: WRITE_BUFFER_BYTES }),
        );
        await rename(partial, file);
        await syncDirectory(directory);
      } catch (error) {
        source.destroy();
        await rm(partial, { force: true });
        await rm(file, { force: true });
        throw error;
      }
    },
    read(key, range?: ByteRange): Readable {
      const { file } = locate(key);
      return createReadStream(file, range === undefined ? {} : { start: range.start, end: range.end });
    },
    async remove(key) {
      const { file } = locate(key);
      await rm(`${file}.part`, { force: true });
      await rm(file, { force: true });
    },
    async staleKeys(before) {
      const keys = new Set<string>();
      const entries = await readdir(base, { recursive: true, withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        const key = entry.name.replace(/\.part$/, '');
        if (!entry.isFile() || !isStorageKey(key)) continue;
        // mtime: a file still being written is touched by every write.
        const { mtime } = await stat(path.join(entry.parentPath, entry.name)).catch(() => ({
          mtime: new Date(),
        }));
        if (mtime < before) keys.add(key);
      }
      return [...keys];
    },
  };
}
