import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { ensureAdmin } from '../../src/auth/admin.js';
import { createPasswordHasher } from '../../src/auth/passwords.js';
import { loadConfig } from '../../src/config.js';
import { loadSpec } from '../../src/contract/spec.js';
import { createValidation } from '../../src/contract/validation.js';
import { findUserByEmail } from '../../src/db/repos/users.repo.js';
import { resetDatabase, sharedDatabase, startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { bearer, PASSWORD, seedUser } from '../helpers/users.js';
import { expectAnswer, login } from '../helpers/client.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');

/** Logs in with the password grant and lists the users with the token: the status of the list. */
async function listUsersAs(t: TestApp, email: string, password: string): Promise<number> {
  const { access_token } = expectAnswer(await login(t, email, password), 200);
  return (await t.api.GET('/users', { headers: bearer(access_token) })).response.status;
}

describe('the first admin', () => {
  const hasher = createPasswordHasher(loadConfig({}).argon2);
  const validation = createValidation(loadSpec());
  beforeEach(resetDatabase);

  it('creates an admin who can log in and list users', async () => {
    const { db } = await sharedDatabase();
    const result = await ensureAdmin(db, hasher, validation, {
      email: 'root@example.com',
      password: 'Admin1234',
      fullName: undefined,
    });
    expect(result).to.equal('created');
    const t = await startApp();
    try {
      expect(await listUsersAs(t, 'root@example.com', 'Admin1234')).to.equal(200);
    } finally {
      await t.close();
    }
  });

  it('promotes an existing account and keeps its password', async () => {
    const { db } = await sharedDatabase();
    await seedUser({ email: 'ada@example.com' });
    const account = { email: 'ADA@example.com', password: undefined, fullName: undefined };
    expect(await ensureAdmin(db, hasher, validation, account)).to.equal('promoted');
    expect(await ensureAdmin(db, hasher, validation, account)).to.equal('already-admin');
    expect((await findUserByEmail(db, 'ada@example.com'))?.role).to.equal('admin');
  });

  it('refuses a weak password or a bad email, creating nothing', async () => {
    const { db } = await sharedDatabase();
    const weak = { email: 'root@example.com', password: 'weakpass', fullName: undefined };
    await ensureAdmin(db, hasher, validation, weak).then(
      () => expect.fail('accepted a weak password'),
      (error: Error) => expect(error.message).to.include('digit'),
    );
    const bad = { email: 'nope', password: 'Admin1234', fullName: undefined };
    await ensureAdmin(db, hasher, validation, bad).then(
      () => expect.fail('accepted a bad email'),
      (error: Error) => expect(error.message).to.include('not a valid email'),
    );
    expect(await findUserByEmail(db, 'root@example.com')).to.equal(undefined);
  });

  it('promotes the ADMIN_EMAIL account at start-up', async () => {
    await seedUser({ email: 'boss@example.com' });
    const t = await startApp({ ADMIN_EMAIL: 'Boss@Example.com' });
    try {
      expect(await listUsersAs(t, 'boss@example.com', PASSWORD)).to.equal(200);
    } finally {
      await t.close();
    }
  });

  it('npm run create-admin explains its usage when the email is missing', async () => {
    const failure = await run(process.execPath, ['--import', 'tsx', 'scripts/create-admin.ts'], {
      cwd: root,
    }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).to.equal(2);
    expect(failure?.stderr).to.include('usage: npm run create-admin');
  });
});
