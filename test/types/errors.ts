/**
 * Compile-only checks that errors are part of the typed contract: each
 * `@ts-expect-error` below must be an error for `tsc --noEmit` to pass.
 * Never run, never imported.
 */
import { ApiError } from '../../src/contract/errors.js';
import type { Fail, Input, UserPrincipal } from '../../src/contract/types.js';

declare const failCreateUser: Fail<'createUser'>;
declare const failGetItem: Fail<'getItem'>;
declare const failRegister: Fail<'register'>;

// A declared status with a type that status lists.
export const taken = failCreateUser(409, 'email-taken', 'Email already registered');
export const usernameTaken = failRegister(409, 'username-taken', 'Username already taken');

// A status the operation does not declare.
// @ts-expect-error createUser declares no 418
export const teapot = failCreateUser(418, 'not-found', 'I am a teapot');

// A status another operation declares but this one does not.
// @ts-expect-error getItem declares no 409
export const conflictOnRead = failGetItem(409, 'email-taken', 'Email already registered');

// A type the status does not list.
// @ts-expect-error createUser's 409 is email-taken or username-taken, not idempotency-key-reused
export const wrongType = failCreateUser(409, 'idempotency-key-reused', 'Used before');

// A type of another status.
// @ts-expect-error not-found is a 404 type, not a 409 one
export const crossed = failCreateUser(409, 'not-found', 'User not found');

// A success status is not an error.
// @ts-expect-error 201 of createUser is not a problem
export const success = failCreateUser(201, 'email-taken', 'Created');

// ApiError takes catalogued types only; the type fixes status and title.
export const routeMissing = new ApiError('route-not-found', 'No operation matches GET /nope.');
// @ts-expect-error a bare status is not a problem type
export const bareStatus = new ApiError(418, 'I am a teapot');
// @ts-expect-error not a catalogued type
export const uncatalogued = new ApiError('teapot', 'I am a teapot');

// A secured operation's principal is always there: no unwrapping.
export const callerId = (input: Input<'getCurrentUser'>): number => input.principal.userId;
export const role = (input: Input<'createItem'>): string => input.principal.role;

// A public operation has no principal to read.
// @ts-expect-error getItem declares no security: its principal is undefined
export const noCaller = (input: Input<'getItem'>): UserPrincipal => input.principal;

// An API key has no account behind it.
// @ts-expect-error getProtected's callers are API keys, which have no user id
export const keyUser = (input: Input<'getProtected'>): number => input.principal.userId;
export const keyKind = (input: Input<'getProtected'>): 'apiKey' => input.principal.kind;
