/**
 * Every migration, by name, imported statically: no folder scanning, so it
 * works the same under tsx, compiled, and bundled. Names sort in run order;
 * add each new file here.
 */
import type { Migration } from 'kysely';
import * as users from './2026_11_28_0001_users.js';

export const migrations: Readonly<Record<string, Migration>> = {
  '2026_11_28_0001_users': users,
};
