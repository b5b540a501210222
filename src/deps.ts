/**
 * Everything a handler may use, passed explicitly (no module-level singletons).
 * `app.ts` builds one `Deps` per app instance.
 */
import type { Logger } from 'pino';
import type { PasswordHasher } from './auth/passwords.js';
import type { RateLimits } from './auth/rate-limits.js';
import type { LoginThrottle } from './auth/throttle.js';
import type { TokenService } from './auth/tokens.js';
import type { Config } from './config.js';
import type { Validation } from './contract/validation.js';
import type { DatabaseHandle } from './db/database.js';
import type { AppDb, UserRow } from './db/schema.js';
import type { Metrics } from './metrics.js';
import type { FileStorage } from './files/storage.js';

export interface Deps {
  readonly config: Config;
  readonly log: Logger;
  /** The contract's one Ajv instance, for handlers that check a value against a schema themselves. */
  readonly validation: Validation;
  /** Where the process is in its life: true once shutdown began (readiness then answers 503). */
  readonly lifecycle: { readonly stopping: () => boolean };
  readonly db: AppDb;
  readonly database: DatabaseHandle;
  readonly metrics: Metrics;
  readonly auth: {
    readonly passwords: PasswordHasher;
    readonly tokens: TokenService;
    readonly throttle: LoginThrottle;
    /** The contract's rate-limit policies, counted per client. */
    readonly rateLimits: RateLimits;
  };
  /** Where uploaded bytes are stored (FILE_STORAGE). */
  readonly files: {
    readonly storage: FileStorage;
  };
}

// Binds the contract's handler types (Handler, SecurityHandler, Principal) to this app.
declare module './contract/types.js' {
  interface AppBinding {
    readonly deps: Deps;
    readonly account: UserRow;
  }
}
