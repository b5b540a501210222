/** Picks the FILE_STORAGE driver (kept apart from storage.ts, which the drivers import). */
import type { FilesConfig } from '../config.js';
import type { DatabaseHandle } from '../db/database.js';
import { createDatabaseStorage } from './database-storage.js';
import { createLocalStorage } from './local-storage.js';
import type { FileStorage } from './storage.js';

/**
 * The configured driver.
 * @example const storage = createFileStorage(config.files, database);
 */
export function createFileStorage(config: FilesConfig, database: DatabaseHandle): FileStorage {
  return config.storage === 'database' ? createDatabaseStorage(database) : createLocalStorage(config.dir);
}
