/**
 * Target (a): the real app from buildApp (real contract, handlers, security,
 * middleware and response validation), with its per-request log line kept at
 * LOG_LEVEL=info but written to /dev/null. See serve.ts for the database.
 */
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { benchAppEnv, devNullLog, exitOnSignal, listenAndAnnounce } from './serve.js';

const config = loadConfig(benchAppEnv());
const app = await buildApp(config, { logDestination: devNullLog() });
exitOnSignal(() => app.close());
await listenAndAnnounce(app.server, {
  server: 'pipeline',
  logLevel: config.logLevel,
  responseValidation: config.responseValidation,
});
