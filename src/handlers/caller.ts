/** The signed-in caller of an operation that declares bearer security. */
import type { UserPrincipal } from '../contract/types.js';

export interface Caller {
  readonly id: number;
  readonly admin: boolean;
}

/** The caller's user id and whether they are an admin. */
export function caller(principal: UserPrincipal): Caller {
  return { id: principal.userId, admin: principal.role === 'admin' };
}
