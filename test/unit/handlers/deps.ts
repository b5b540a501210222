/**
 * A `Deps` for calling handlers directly, without HTTP: the test run's shared
 * database (in-memory PGlite, or DATABASE_URL), the real token service, login
 * throttle and validation, and a password hasher that skips argon2 (a hash
 * costs tens of milliseconds by design; these tests are about the handlers'
 * branches, not hashing).
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import type { PasswordHasher } from '../../../src/auth/passwords.js';
import { createRateLimits } from '../../../src/auth/rate-limits.js';
import { createLoginThrottle } from '../../../src/auth/throttle.js';
import { createTokenService } from '../../../src/auth/tokens.js';
import { loadConfig } from '../../../src/config.js';
import { ApiError } from '../../../src/contract/errors.js';
import { loadSpec } from '../../../src/contract/spec.js';
import type { Spec } from '../../../src/contract/spec.js';
import type { ApiErrorOptions } from '../../../src/contract/errors.js';
import type { ProblemSlug } from '../../../src/contract/problems.js';
import type { Input, OperationId, UserPrincipal } from '../../../src/contract/types.js';
import { createValidation } from '../../../src/contract/validation.js';
import { insertUser } from '../../../src/db/repos/users.repo.js';
import type { Deps } from '../../../src/deps.js';
import { createLocalStorage } from '../../../src/files/local-storage.js';
import { createMetrics } from '../../../src/metrics.js';
import { sharedDatabase } from '../../helpers/app.js';

export { resetDatabase } from '../../helpers/app.js';

/** Stores `fake:<password>`; `stale:` hashes verify too but ask to be rehashed, as old argon2 parameters do. */
export function fakePasswords(): PasswordHasher & { hashed: string[] } {
  const hashed: string[] = [];
  return {
    hashed,
    hash: async (password) => {
      hashed.push(password);
      return `fake:${password}`;
    },
    verify: async (stored, password) => ({
      ok: stored === `fake:${password}` || stored === `stale:${password}`,
      needsRehash: stored === `stale:${password}`,
    }),
  };
}

// Opening the database (PGlite: create and migrate) is the one slow step: once per run, with room to spare.
before(async function () {
  this.timeout(120_000);
  await sharedDatabase();
});

let spec: Spec | undefined;

/** A fresh Deps on the shared database; `env` overrides configuration variables. */
export async function unitDeps(
  env: Record<string, string> = {},
): Promise<Deps & { passwords: ReturnType<typeof fakePasswords> }> {
  const config = loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: 'unit-test-secret-that-is-long-enough-for-hs256',
    ...env,
  });
  const database = await sharedDatabase();
  spec ??= loadSpec();
  const passwords = fakePasswords();
  return {
    config,
    log: pino({ level: 'silent' }),
    validation: createValidation(spec),
    lifecycle: { stopping: () => false },
    db: database.db,
    database,
    metrics: createMetrics({ processMetrics: false }),
    auth: {
      passwords,
      tokens: createTokenService(config),
      throttle: createLoginThrottle(database.db, config.loginThrottle),
      rateLimits: createRateLimits(spec, { factor: 0, store: undefined }),
    },
    files: { storage: createLocalStorage(path.join(tmpdir(), 'unit-deps-files-never-written')) },
    passwords,
  };
}

/** A handler's input with every part empty unless given. */
export function input<Id extends OperationId>(
  operationId: Id,
  parts: Partial<Omit<Input<Id>, 'operationId'>> = {},
): Input<Id> {
  return {
    operationId,
    path: {},
    query: {},
    header: {},
    cookie: {},
    body: undefined,
    principal: undefined,
    requestId: 'unit-test',
    clientIp: '192.0.2.1',
    // As the pipeline's: the problem type must be sent with the status the handler names.
    fail: (status: number, type: ProblemSlug, detail: string, options?: ApiErrorOptions): ApiError => {
      const error = new ApiError(type, detail, options);
      if (error.status !== status)
        throw new Error(`problem type ${type} is sent with ${error.status}, not ${status}`);
      return error;
    },
    ...parts,
  } as Input<Id>;
}

/** The principal a bearer token of this user would give. */
export const signedIn = (userId: number, role: 'user' | 'admin' = 'user'): UserPrincipal => ({
  kind: 'user',
  userId,
  role,
});

/** The reply, narrowed to `status`; fails the test on any other status. */
export function answered<R extends { readonly status: number }, S extends R['status']>(
  reply: R,
  status: S,
): Extract<R, { readonly status: S }> {
  expect(reply.status).to.equal(status);
  return reply as Extract<R, { readonly status: S }>;
}

/** The ApiError a handler call rejects with (fails the test when it resolves or throws something else). */
export async function apiError(call: Promise<unknown>): Promise<ApiError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected the handler to reject with an ApiError, but it answered');
}

let accounts = 0;

/** A new account (written straight to the table), as the principal its bearer token would give. */
export async function someone(deps: Deps, role: 'user' | 'admin' = 'user'): Promise<UserPrincipal> {
  accounts += 1;
  const row = await insertUser(deps.db, {
    email: `account-${accounts}@example.com`,
    full_name: `Account ${accounts}`,
    age: null,
    username: null,
    phone: null,
    password_hash: 'fake:unused',
    role,
  });
  return signedIn(row.id, role);
}
