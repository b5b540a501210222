/** Handlers for the `users` tag. Ownership ("self or admin") is decided here; roles come from x-roles. */
import type { components } from '../../generated/openapi.js';
import type { ApiError } from '../contract/errors.js';
import { violationsOf } from '../contract/errors.js';
import type { Fail, Input, Reply, UserPrincipal } from '../contract/types.js';
import * as users from '../db/repos/users.repo.js';
import type { NewUserRow, UserRow, UserRowUpdate } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { activityJob, enqueueAll, welcomeEmailJob } from '../jobs/index.js';
import { caller } from './caller.js';
import { changedMeanwhile, ifMatch, noneMatch, versionTag } from './conditional.js';
import type { Caller } from './caller.js';
import { byId, listReply, readPaging } from './paging.js';

type User = components['schemas']['User'];

/** The only way a users row becomes an API object: no hash, timestamps as RFC 3339. */
export function userRowToUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    full_name: row.full_name,
    age: row.age,
    username: row.username,
    phone: row.phone,
    role: row.role,
    is_active: row.is_active,
    created_at: row.created_at.toISOString(),
  };
}

/** Maps a unique-index violation to its 409; rethrows anything else. */
const conflict =
  (fail: Fail<'createUser' | 'register' | 'updateUser'>) =>
  (error: unknown): never => {
    const field = users.uniqueViolation(error);
    if (field === 'email') throw fail(409, 'email-taken', 'Email already registered');
    if (field === 'username') throw fail(409, 'username-taken', 'Username already taken');
    throw error;
  };

async function create(
  fail: Fail<'createUser' | 'register'>,
  deps: Deps,
  row: Omit<NewUserRow, 'password_hash'>,
  password: string,
): Promise<Reply<'createUser'>> {
  const password_hash = await deps.auth.passwords.hash(password);
  // The account and its background jobs commit together (hashed outside: no transaction held meanwhile).
  const created = await deps.db
    .transaction()
    .execute(async (trx) => {
      const user = await users.insertUser(trx, { ...row, password_hash, role: 'user' });
      await enqueueAll(trx, [welcomeEmailJob(user.id), activityJob(user.id, 'user_created', {})]);
      return user;
    })
    .catch(conflict(fail));
  return { status: 201, headers: { Location: `/users/${created.id}` }, body: userRowToUser(created) };
}

export async function createUser(input: Input<'createUser'>, deps: Deps): Promise<Reply<'createUser'>> {
  const { email, full_name, age, password, username, phone } = input.body;
  const row = { email, full_name, age, username: username ?? null, phone: phone ?? null };
  return create(input.fail, deps, row, password);
}

export async function register(input: Input<'register'>, deps: Deps): Promise<Reply<'register'>> {
  const { username, email, password, confirm_password, phone } = input.body;
  if (confirm_password !== password) {
    const { detail, options } = violationsOf([
      { in: 'body', path: '/confirm_password', message: 'must equal password', keyword: 'const' },
    ]);
    throw input.fail(422, 'validation-failed', detail, options);
  }
  const row = { email, full_name: username, age: null, username, phone: phone ?? null };
  return create(input.fail, deps, row, password);
}

/** Self or admin; anyone else is told the account does not exist. */
function ownAccount(
  input: { principal: UserPrincipal; fail: Fail<'getUser' | 'updateUser'> },
  userId: number,
): Caller {
  const me = caller(input.principal);
  if (!me.admin && me.id !== userId) throw input.fail(404, 'not-found', 'User not found');
  return me;
}

export async function getCurrentUser(
  input: Input<'getCurrentUser'>,
  deps: Deps,
): Promise<Reply<'getCurrentUser'>> {
  // The bearer check has just read the account; read it again only if it did not hand it over.
  const row = input.principal.user ?? (await users.findUserById(deps.db, input.principal.userId));
  if (row === undefined)
    throw input.fail(401, 'unauthorized', 'The account no longer exists.', {
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
  const etag = versionTag(row.version);
  if (noneMatch(input.header['If-None-Match'], etag)) return { status: 304, headers: { ETag: etag } };
  return { status: 200, headers: { ETag: etag }, body: userRowToUser(row) };
}

export async function listUsers(input: Input<'listUsers'>, deps: Deps): Promise<Reply<'listUsers'>> {
  const scope = { path: '/users', filters: {} };
  const paging = readPaging(deps.config, scope, input.query, byId);
  const page = await users.listUsers(deps.db, paging);
  return listReply(deps.config, scope, paging, page, byId, userRowToUser);
}

export async function getUser(input: Input<'getUser'>, deps: Deps): Promise<Reply<'getUser'>> {
  ownAccount(input, input.path.user_id);
  const row = await users.findUserById(deps.db, input.path.user_id);
  if (row === undefined) throw notFound(input.fail);
  const etag = versionTag(row.version);
  if (noneMatch(input.header['If-None-Match'], etag)) return { status: 304, headers: { ETag: etag } };
  return { status: 200, headers: { ETag: etag }, body: userRowToUser(row) };
}

const notFound = (fail: Fail<'getUser' | 'updateUser' | 'deleteUser'>): ApiError =>
  fail(404, 'not-found', 'User not found');

/** After a conditional write matched no row: 412 if the account is still there, 404 if it is gone. */
async function missedWrite(
  fail: Fail<'updateUser' | 'deleteUser'>,
  deps: Deps,
  id: number,
): Promise<ApiError> {
  return (await users.findUserById(deps.db, id)) === undefined
    ? notFound(fail)
    : changedMeanwhile(fail, 'account');
}

export async function updateUser(input: Input<'updateUser'>, deps: Deps): Promise<Reply<'updateUser'>> {
  const id = input.path.user_id;
  const condition = ifMatch(input.fail, deps, 'users', input.header['If-Match']);
  const me = ownAccount(input, id);
  const { role, is_active, ...fields } = input.body;
  if (!me.admin && (role !== undefined || is_active !== undefined)) {
    throw input.fail(403, 'forbidden', 'Only an admin may change role or is_active.');
  }
  // Only the fields that were sent; exactOptionalPropertyTypes keeps absent ones absent.
  const changes: UserRowUpdate = { ...fields };
  if (role !== undefined) changes.role = role;
  if (is_active !== undefined) changes.is_active = is_active;
  const versions = condition.kind === 'versions' ? condition.versions : undefined;
  const row = await users.updateUser(deps.db, id, changes, versions).catch(conflict(input.fail));
  if (row === undefined) throw await missedWrite(input.fail, deps, id);
  return { status: 200, headers: { ETag: versionTag(row.version) }, body: userRowToUser(row) };
}

export async function deleteUser(input: Input<'deleteUser'>, deps: Deps): Promise<Reply<'deleteUser'>> {
  const id = input.path.user_id;
  const condition = ifMatch(input.fail, deps, 'users', input.header['If-Match']);
  const versions = condition.kind === 'versions' ? condition.versions : undefined;
  if (!(await users.deleteUser(deps.db, id, versions))) throw await missedWrite(input.fail, deps, id);
  return { status: 204 };
}
