/**
 * Login throttling per account and per client address. Each attempt is
 * reserved against both limits before its password is checked, in the
 * database, so the limits hold for parallel guesses and across server processes.
 */
import type { Config } from '../config.js';
import { ApiError } from '../contract/errors.js';
import { clearFailures, refundAttempt, reserveAttempt } from '../db/repos/login-failures.repo.js';
import type { AppDb } from '../db/schema.js';

export interface LoginThrottle {
  /** Counts an attempt; throws 429 with Retry-After when the account or the address is over its limit. */
  reserve(email: string, address: string): Promise<void>;
  /** The attempt was right: the account starts over and the address gets its attempt back. */
  succeeded(email: string, address: string): Promise<void>;
}

const accountKey = (email: string): string => `account:${email.toLowerCase()}`;
const addressKey = (address: string): string => `address:${address}`;

export function createLoginThrottle(db: AppDb, limits: Config['loginThrottle']): LoginThrottle {
  const windowSeconds = limits.windowSeconds;
  return {
    async reserve(email, address) {
      const { allowed, retryAfterSeconds } = await reserveAttempt(db, [
        { key: accountKey(email), max: limits.maxFailuresPerAccount, windowSeconds },
        { key: addressKey(address), max: limits.maxFailuresPerAddress, windowSeconds },
      ]);
      if (!allowed) {
        throw new ApiError('login-throttled', 'Too many failed logins; try again later.', {
          headers: { 'Retry-After': String(Math.max(1, retryAfterSeconds)) },
        });
      }
    },
    async succeeded(email, address) {
      await clearFailures(db, accountKey(email));
      await refundAttempt(db, addressKey(address), limits.maxFailuresPerAddress);
    },
  };
}
