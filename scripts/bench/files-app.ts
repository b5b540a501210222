/**
 * The real app for the files benchmark: buildApp on the database in
 * BENCH_DATABASE_URL (migrated on start), storage from BENCH_FILE_STORAGE
 * under BENCH_FILES_DIR, uploads up to 512 MiB. It seeds one account and
 * announces a bearer token for it with its port.
 */
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { insertUser } from '../../src/db/repos/users.repo.js';
import { benchAppEnv, devNullLog, exitOnSignal, listenAndAnnounce } from './serve.js';

const config = loadConfig({
  ...benchAppEnv(),
  MIGRATE_ON_START: 'true',
  FILE_STORAGE: process.env['BENCH_FILE_STORAGE'] ?? 'local',
  FILES_DIR: process.env['BENCH_FILES_DIR'],
  UPLOAD_MAX_FILE_BYTES: String(512 * 1024 * 1024),
  REQUEST_TIMEOUT_MS: '600000',
});
const app = await buildApp(config, { logDestination: devNullLog() });
exitOnSignal(() => app.close());
const user = await insertUser(app.deps.db, {
  email: `bench-files-${process.pid}-${Date.now()}@example.com`,
  full_name: 'Bench Files',
  age: 30,
  role: 'user',
  is_active: true,
  // Never used to log in: the token below is minted directly.
  password_hash: 'unused',
});
await listenAndAnnounce(app.server, {
  server: 'files-app',
  storage: config.files.storage,
  token: app.deps.auth.tokens.issue(user.id).token,
});
