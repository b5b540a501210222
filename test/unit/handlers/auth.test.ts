import { expect } from 'chai';
import { login } from '../../../src/handlers/auth.js';
import { createUser, updateUser } from '../../../src/handlers/users.js';
import { findUserById, updateUser as updateUserRow } from '../../../src/db/repos/users.repo.js';
import type { Deps } from '../../../src/deps.js';
import { answered, apiError, input, resetDatabase, signedIn, unitDeps } from './deps.js';

const password = 'correct horse battery';

async function account(deps: Deps): Promise<number> {
  const body = { email: 'carol@example.com', full_name: 'Carol', age: 40, password };
  return answered(await createUser(input('createUser', { body }), deps), 201).body.id;
}

const attempt = (secret: string, email = 'carol@example.com') =>
  input('login', { body: { username: email, password: secret } });

describe('auth handlers, called directly', () => {
  beforeEach(resetDatabase);

  it('issues a bearer token for the account, not to be cached', async () => {
    const deps = await unitDeps();
    const id = await account(deps);
    const reply = answered(await login(attempt(password), deps), 200);
    expect(reply.headers['Cache-Control']).to.equal('no-store');
    expect(reply.body.token_type).to.equal('bearer');
    expect(deps.auth.tokens.verify(reply.body.access_token).userId).to.equal(id);
  });

  it('answers a wrong password and an unknown email alike: 401 with a Bearer challenge', async () => {
    const deps = await unitDeps();
    await account(deps);
    for (const call of [attempt('wrong password'), attempt(password, 'nobody@example.com')]) {
      const error = await apiError(login(call, deps));
      expect(error.status).to.equal(401);
      expect(error.detail).to.equal('Incorrect email or password');
      expect(error.headers['WWW-Authenticate']).to.equal('Bearer');
    }
  });

  it('refuses a deactivated account with the same 401', async () => {
    const deps = await unitDeps();
    const id = await account(deps);
    await updateUser(
      input('updateUser', {
        path: { user_id: id },
        body: { is_active: false },
        principal: signedIn(1, 'admin'),
      }),
      deps,
    );
    const error = await apiError(login(attempt(password), deps));
    expect(error.status).to.equal(401);
  });

  it('rehashes a password stored with older parameters once it is known', async () => {
    const deps = await unitDeps();
    const id = await account(deps);
    await updateUserRow(deps.db, id, { password_hash: `stale:${password}` });
    await login(attempt(password), deps);
    expect((await findUserById(deps.db, id))?.password_hash).to.equal(`fake:${password}`);
  });

  it('answers 429 once the account has used its failed attempts, even with the right password', async () => {
    const deps = await unitDeps({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '2' });
    await account(deps);
    for (let i = 0; i < 2; i++) expect((await apiError(login(attempt('wrong'), deps))).status).to.equal(401);
    const error = await apiError(login(attempt(password), deps));
    expect(error.status).to.equal(429);
    expect(error.headers).to.have.property('Retry-After');
  });
});
