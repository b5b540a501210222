/**
 * Every migration, by name, imported statically: no folder scanning, so it
 * works the same under tsx, compiled, and bundled. Names sort in run order;
 * add each new file here.
 */
import type { Migration } from 'kysely';
import * as users from './2026_11_28_0001_users.js';
import * as loginFailures from './2026_11_28_0002_login_failures.js';
import * as itemsOrders from './2026_11_28_0003_items_orders.js';
import * as files from './2026_11_28_0004_files.js';
import * as chat from './2026_11_28_0005_chat.js';
import * as jobs from './2026_11_28_0006_jobs.js';
import * as wsSessions from './2026_11_28_0007_ws_sessions.js';
import * as rateLimits from './2026_12_03_0001_rate_limits.js';
import * as rowVersions from './2026_12_03_0008_row_versions.js';
import * as itemsSearch from './2026_12_03_0009_items_search.js';
import * as itemsSearchText from './2026_12_04_0010_items_search_text.js';

export const migrations: Readonly<Record<string, Migration>> = {
  '2026_11_28_0001_users': users,
  '2026_11_28_0002_login_failures': loginFailures,
  '2026_11_28_0003_items_orders': itemsOrders,
  '2026_11_28_0004_files': files,
  '2026_11_28_0005_chat': chat,
  '2026_11_28_0006_jobs': jobs,
  '2026_11_28_0007_ws_sessions': wsSessions,
  '2026_12_03_0001_rate_limits': rateLimits,
  '2026_12_03_0008_row_versions': rowVersions,
  '2026_12_03_0009_items_search': itemsSearch,
  '2026_12_04_0010_items_search_text': itemsSearchText,
};
