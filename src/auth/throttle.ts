/**
 * Failed-login throttling per account and per client address. State lives in
 * the database, so the limits hold across server processes.
 */
import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import { ApiError } from '../contract/errors.js';
import { clearFailures, recordFailure, secondsLocked } from '../db/repos/login-failures.repo.js';
import type { Database } from '../db/schema.js';

export interface LoginThrottle {
  /** Throws 429 with Retry-After while the account or the address is locked. */
  check(email: string, address: string): Promise<void>;
  failed(email: string, address: string): Promise<void>;
  succeeded(email: string): Promise<void>;
}

const accountKey = (email: string): string => `account:${email.toLowerCase()}`;
const addressKey = (address: string): string => `address:${address}`;

export function createLoginThrottle(db: Kysely<Database>, limits: Config['loginThrottle']): LoginThrottle {
  return {
    async check(email, address) {
      const seconds = await secondsLocked(db, [accountKey(email), addressKey(address)]);
      if (seconds > 0) {
        throw new ApiError(429, 'Too many failed logins; try again later.', {
          headers: { 'Retry-After': String(Math.max(1, seconds)) },
        });
      }
    },
    async failed(email, address) {
      await recordFailure(db, accountKey(email), limits.maxFailuresPerAccount, limits.windowSeconds);
      await recordFailure(db, addressKey(address), limits.maxFailuresPerAddress, limits.windowSeconds);
    },
    async succeeded(email) {
      await clearFailures(db, accountKey(email));
    },
  };
}
