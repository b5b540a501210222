/**
 * The PostgreSQL extensions the schema needs that embedded PGlite must load
 * when it is created (`new PGlite(dir, { extensions: PGLITE_EXTENSIONS })`);
 * a migration then runs `create extension`. On a PostgreSQL server they come
 * with the server's contrib package.
 */
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';

/** pg_trgm: trigram GIN indexes for the items search (migration 2026_12_03_0009_items_search). */
export const PGLITE_EXTENSIONS = { pg_trgm } as const;
