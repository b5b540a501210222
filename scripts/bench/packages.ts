/**
 * The third-party packages the app loads at start-up, roughly in the order it
 * loads them. Timed one by one by start-up-probe.ts and, with and without the
 * tsx loader, by scripts/bench.ts; a dependency shared by two counts for the first.
 */
export const STARTUP_PACKAGES = [
  'pino',
  'express',
  'openapi-backend',
  'ajv/dist/2020.js',
  'ajv-formats',
  'kysely',
  'pg',
  '@electric-sql/pglite',
  'yaml',
  'cors',
] as const;
