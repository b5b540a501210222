/**
 * One process at a time on an embedded data directory. PGlite keeps the
 * database in its own memory and writes it back to the directory: a second
 * process opening the same directory works on a copy that the first one later
 * overwrites (or corrupts), so its writes are lost even though they succeeded.
 *
 * The lock is a file created with O_EXCL holding the owner's pid; it is removed
 * on close. A lock whose pid is no longer alive (a crash, SIGKILL) is taken
 * over. Written by hand rather than with proper-lockfile, whose mtime-refresh
 * scheme records no pid, and the refusal has to say which process holds the
 * directory.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

/** The lock file inside a data directory. */
export const LOCK_FILE = 'pglite.lock';

/** Another living process holds the data directory. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
    readonly lockFile: string,
  ) {
    super(
      `The embedded database in ${dataDir} is in use by process ${pid}. ` +
        'Stop that server first, or set DATABASE_URL to a PostgreSQL server, which many processes can share. ' +
        `(If no such process is running, remove ${lockFile}.)`,
    );
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  /** Removes the lock file if it is still ours. Safe to call twice. */
  release(): Promise<void>;
}

/** True when a process with this pid exists (EPERM: it exists, owned by someone else). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in a lock file; undefined when the file is gone; NaN when it holds no pid (a torn write). */
async function ownerOf(file: string): Promise<number | undefined> {
  try {
    const text = await readFile(file, 'utf8');
    return /^\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function createExclusive(file: string): Promise<boolean> {
  try {
    const handle = await open(file, 'wx');
    try {
      await handle.writeFile(`${process.pid}\n`);
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/**
 * Takes the lock on `dataDir` (which must exist) or throws DataDirLockedError.
 * @example const lock = await lockDataDir('./data'); ...; await lock.release();
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const file = path.join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 5; attempt += 1) {
    if (await createExclusive(file)) {
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          if ((await ownerOf(file)) === process.pid) await unlink(file).catch(() => undefined);
        },
      };
    }
    const owner = await ownerOf(file);
    if (owner === undefined) continue; // released meanwhile: try again
    // Our own pid can only be a leftover (a container's pid 1 restarted): we do not hold it yet.
    if (Number.isInteger(owner) && owner !== process.pid && alive(owner)) {
      throw new DataDirLockedError(dataDir, owner, file);
    }
    // Stale. Renaming it aside is atomic: of two processes taking over at once, one renames
    // and the other finds nothing (ENOENT) and competes for the O_EXCL create instead.
    const aside = `${file}.stale-${process.pid}`;
    try {
      await rename(file, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      continue;
    }
    // What was renamed could be a lock created by a live process in between: put it back then.
    const renamed = await ownerOf(aside);
    if (renamed !== undefined && renamed !== owner && !Number.isNaN(renamed) && alive(renamed)) {
      await rename(aside, file);
      throw new DataDirLockedError(dataDir, renamed, file);
    }
    await unlink(aside).catch(() => undefined);
  }
  const owner = (await ownerOf(file)) ?? Number.NaN;
  throw new DataDirLockedError(dataDir, owner, file);
}
