/**
 * Removes stored bytes that no file row references: what a crash between
 * "bytes stored" and "row committed" left behind, and the bytes of files whose
 * rows went with a deleted account (`on delete cascade`). Only objects last
 * written longer ago than the grace period are considered, so an upload in
 * progress (whose row does not exist yet) is never touched.
 */
import { referencedKeys } from '../db/repos/files.repo.js';
import type { AppDb } from '../db/schema.js';
import type { FileStorage } from './storage.js';

/**
 * Returns how many orphaned objects it removed.
 * @example await sweepOrphans(deps.db, deps.files.storage, 3600 * 1000);
 */
export async function sweepOrphans(
  db: AppDb,
  storage: FileStorage,
  graceMs: number,
  now: Date = new Date(),
): Promise<number> {
  const stale = await storage.staleKeys(new Date(now.getTime() - graceMs));
  if (stale.length === 0) return 0;
  const referenced = new Set(await referencedKeys(db, stale));
  const orphans = stale.filter((key) => !referenced.has(key));
  for (const key of orphans) await storage.remove(key);
  return orphans.length;
}
