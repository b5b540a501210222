/** The signed-in caller of an operation that declares bearer security. */
import { ApiError } from '../contract/errors.js';
import type { Principal } from '../contract/types.js';

/** 401 with the `WWW-Authenticate: Bearer` challenge the contract's Unauthorized response requires. */
export function notSignedIn(detail = 'This operation needs a bearer token.'): ApiError {
  return new ApiError(401, detail, { headers: { 'WWW-Authenticate': 'Bearer' } });
}

export interface Caller {
  readonly id: number;
  readonly admin: boolean;
}

/**
 * The caller's user id and whether they are an admin. Security has already
 * run on these operations, so a missing user is a wiring mistake, answered 401.
 */
export function caller(principal: Principal | undefined): Caller {
  if (principal?.userId === undefined) throw notSignedIn();
  return { id: principal.userId, admin: principal.role === 'admin' };
}
