/** Accounts for tests, inserted directly (one argon2 hash per run) and tokens minted by the app's own service. */
import { hash } from '@node-rs/argon2';
import { loadConfig } from '../../src/config.js';
import { insertUser } from '../../src/db/repos/users.repo.js';
import type { UserRole, UserRow } from '../../src/db/schema.js';
import { sharedDatabase } from './app.js';
import { expectProblem } from './problems.js';
import type { ClientResult } from './problems.js';
import type { TestApp } from './app.js';

/** Satisfies the password rules: 8+ characters, a digit, an uppercase letter. */
export const PASSWORD = 'Secret123';

let passwordHash: Promise<string> | undefined;

/** PASSWORD hashed with the configured (OWASP) parameters, computed once. */
function hashOfPassword(): Promise<string> {
  const { argon2 } = loadConfig({});
  passwordHash ??= hash(PASSWORD, {
    algorithm: 2,
    memoryCost: argon2.memoryKiB,
    timeCost: argon2.timeCost,
    parallelism: argon2.parallelism,
  });
  return passwordHash;
}

let counter = 0;

/** Inserts an account whose password is PASSWORD. */
export async function seedUser(
  fields: {
    email?: string;
    role?: UserRole;
    is_active?: boolean;
    full_name?: string;
    password_hash?: string;
  } = {},
): Promise<UserRow> {
  counter += 1;
  const { db } = await sharedDatabase();
  return insertUser(db, {
    email: fields.email ?? `user${counter}@example.com`,
    full_name: fields.full_name ?? `User ${counter}`,
    age: 30,
    role: fields.role ?? 'user',
    is_active: fields.is_active ?? true,
    password_hash: fields.password_hash ?? (await hashOfPassword()),
  });
}

/** A valid access token for the account, from the app under test. */
export function tokenFor(t: TestApp, userId: number): string {
  return t.app.deps.auth.tokens.issue(userId).token;
}

export function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

/** POST /token as a form, the way OAuth2 clients do. */
export function postLogin(
  t: TestApp,
  username: string,
  password: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return t.fetch('/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ grant_type: 'password', username, password }).toString(),
  });
}

/** POST a JSON body. */
export function postJson(
  t: TestApp,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return t.fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** Asserts a 422 (a fetch Response or a typed-client result) and returns its entries as "in path keyword" strings. */
export async function violations(res: Response | ClientResult): Promise<string[]> {
  const body = await expectProblem(res, 422, 'validation-failed');
  return (body.errors ?? []).map((e) => `${e.in} ${e.path} ${e.keyword}`);
}
