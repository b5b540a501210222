/**
 * The `ApiKeyHeader` / `ApiKeyQuery` security schemes (the guide's `token`
 * dependency): keys come from configuration and are compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from '../contract/errors.js';
import type { Principal, SecurityHandler } from '../contract/types.js';

const digest = (key: string): Buffer => createHash('sha256').update(key).digest();

/** Constant-time membership test: comparing digests hides both the key and its length. */
function matcher(keys: readonly string[]): (candidate: string) => boolean {
  const known = keys.map(digest);
  return (candidate) => {
    const given = digest(candidate);
    let found = false;
    for (const key of known) found = timingSafeEqual(key, given) || found;
    return found;
  };
}

/** Handlers for the two API-key schemes; no key is 401, a wrong key is 403 ("Invalid token", as in the guide). */
export function apiKeySecurity(keys: readonly string[]): {
  ApiKeyHeader: SecurityHandler;
  ApiKeyQuery: SecurityHandler;
} {
  const isKnown = matcher(keys);
  const check = (candidate: string | undefined): Principal => {
    if (candidate === undefined || candidate === '')
      throw new ApiError('unauthorized', 'This operation needs an API key.');
    if (!isKnown(candidate)) throw new ApiError('forbidden', 'Invalid token');
    return { kind: 'apiKey' };
  };
  return {
    ApiKeyHeader: ({ headers }) => {
      const value = headers['x-api-key'];
      return check(Array.isArray(value) ? value[0] : value);
    },
    ApiKeyQuery: ({ query }) => check(query.get('token') ?? undefined),
  };
}
