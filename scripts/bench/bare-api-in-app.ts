/**
 * Baseline (c) of the database sections: bare-api.ts's server, unchanged, in a
 * process that has first built the whole app with buildApp (its validators,
 * handlers, pools, timers and caches, about as much heap as the pipeline's
 * process) and never serves a request through it.
 *
 * It does the same work per request as (b) (the bench counts its instructions
 * too; they differ from (b)'s by no more than the count moves between runs),
 * so what it costs over (b) in CPU time is the size of the process (caches,
 * TLB, garbage collection of a larger heap): the part of the gap between (a)
 * and (b) that no change to the request path can close.
 */
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { benchAppEnv, devNullLog } from './serve.js';

// Two database instances on one PGlite data directory would corrupt it: PostgreSQL only.
if (process.env['BENCH_DATA_DIR'] !== undefined)
  throw new Error('(c) runs on PostgreSQL only (BENCH_DATABASE_URL)');
const app = await buildApp(loadConfig(benchAppEnv()), { logDestination: devNullLog() });
// Held for the life of the process; bare-api.ts's signal handler ends it.
(globalThis as { benchIdleApp?: unknown }).benchIdleApp = app;
await import('./bare-api.js');
