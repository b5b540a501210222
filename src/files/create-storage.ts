/** Picks the FILE_STORAGE driver (kept apart from storage.ts, which the drivers import). */
import type { FilesConfig } from '../config.js';
import type { AppDb } from '../db/schema.js';
import { createDatabaseStorage } from './database-storage.js';
import { createLocalStorage } from './local-storage.js';
import type { FileStorage } from './storage.js';

/**
 * The configured driver.
 * @example const storage = createFileStorage(config.files, db);
 */
export function createFileStorage(config: FilesConfig, db: AppDb): FileStorage {
  return config.storage === 'database' ? createDatabaseStorage(db) : createLocalStorage(config.dir);
}
