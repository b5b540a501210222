/**
 * The `OAuth2PasswordBearer` security scheme: a valid token of an account that
 * still exists and is active. The account is read on every request, so a
 * deletion, a deactivation or a role change takes effect on the next one.
 */
import { ApiError } from '../contract/errors.js';
import type { Principal, SecurityHandler } from '../contract/types.js';
import { findUserById } from '../db/repos/users.repo.js';
import type { Deps } from '../deps.js';
import { invalidToken } from './tokens.js';

/**
 * The caller behind a bearer token, however it arrived (header, or a WebSocket's
 * `access_token` query): the token is verified and the account read now.
 */
export async function principalFromToken(token: string, deps: Deps): Promise<Principal> {
  const { userId, expiresAt } = deps.auth.tokens.verify(token);
  const user = await findUserById(deps.db, userId);
  if (user === undefined || !user.is_active)
    throw invalidToken('The account no longer exists or is deactivated.');
  return { kind: 'user', userId: user.id, role: user.role, user, tokenExpiresAt: expiresAt };
}

// Not async: it hands back principalFromToken's promise rather than wrapping it in another.
export const bearerSecurity: SecurityHandler = ({ headers }, deps) => {
  const header = headers['authorization'];
  const value = Array.isArray(header) ? header[0] : header;
  const found = value === undefined ? null : /^Bearer[ ]+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(value);
  if (found?.[1] === undefined) {
    throw new ApiError('unauthorized', 'This operation needs a bearer token.', {
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
  }
  return principalFromToken(found[1], deps);
};
