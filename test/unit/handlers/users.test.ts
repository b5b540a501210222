import { expect } from 'chai';
import { createUser, getUser, register, updateUser } from '../../../src/handlers/users.js';
import { countRows } from '../../helpers/app.js';
import { answered, apiError, input, resetDatabase, signedIn, unitDeps } from './deps.js';

const alice = { email: 'alice@example.com', full_name: 'Alice', age: 30, password: 'correct horse battery' };

describe('users handlers, called directly', () => {
  beforeEach(resetDatabase);

  it('creates an account: 201 with its Location, the password hashed and never returned', async () => {
    const deps = await unitDeps();
    const reply = answered(await createUser(input('createUser', { body: alice }), deps), 201);
    expect(reply.headers.Location).to.equal(`/users/${reply.body.id}`);
    expect(reply.body).to.include({ email: alice.email, role: 'user', is_active: true });
    expect(reply.body).to.not.have.property('password_hash');
    expect(deps.passwords.hashed).to.deep.equal([alice.password]);
  });

  it('refuses a second account with the same email, whatever its case, with 409', async () => {
    const deps = await unitDeps();
    await createUser(input('createUser', { body: alice }), deps);
    const error = await apiError(
      createUser(input('createUser', { body: { ...alice, email: 'ALICE@example.com' } }), deps),
    );
    expect(error.status).to.equal(409);
    expect(error.detail).to.equal('Email already registered');
    expect(await countRows('users')).to.equal(1);
  });

  it('refuses a sign-up whose passwords differ with 422 on confirm_password, before hashing or writing', async () => {
    const deps = await unitDeps();
    const body = {
      username: 'bob',
      email: 'bob@example.com',
      password: 'one password',
      confirm_password: 'another',
    };
    const error = await apiError(register(input('register', { body }), deps));
    expect(error.status).to.equal(422);
    expect(error.errors?.map((e) => e.path)).to.deep.equal(['/confirm_password']);
    expect(deps.passwords.hashed).to.be.empty;
    expect(await countRows('users')).to.equal(0);
  });

  it("answers 404 for another user's account, and shows it to an admin", async () => {
    const deps = await unitDeps();
    const { body: created } = answered(await createUser(input('createUser', { body: alice }), deps), 201);
    const path = { user_id: created.id };
    const error = await apiError(
      getUser(input('getUser', { path, principal: signedIn(created.id + 1) }), deps),
    );
    expect(error.status).to.equal(404);
    const reply = await getUser(
      input('getUser', { path, principal: signedIn(created.id + 1, 'admin') }),
      deps,
    );
    expect(reply.status).to.equal(200);
  });

  it('lets only an admin change a role (403 for the account itself)', async () => {
    const deps = await unitDeps();
    const { body: created } = answered(await createUser(input('createUser', { body: alice }), deps), 201);
    const change = { path: { user_id: created.id }, body: { role: 'admin' as const } };
    const error = await apiError(
      updateUser(input('updateUser', { ...change, principal: signedIn(created.id) }), deps),
    );
    expect(error.status).to.equal(403);
    const reply = await updateUser(
      input('updateUser', { ...change, principal: signedIn(99, 'admin') }),
      deps,
    );
    expect(answered(reply, 200).body.role).to.equal('admin');
  });
});
