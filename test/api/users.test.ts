import { expect } from 'chai';
import { countRows, resetDatabase, sharedDatabase, startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { bearer, PASSWORD, postJson, seedUser, tokenFor, violations } from '../helpers/users.js';
import { expectAnswer, formBody } from '../helpers/client.js';
import { expectProblem } from '../helpers/problems.js';
import type { components } from '../../generated/openapi.js';

const valid: components['schemas']['UserCreate'] = {
  email: 'ada@example.com',
  full_name: 'Ada Lovelace',
  age: 36,
  password: 'Secret123',
};

describe('users', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(async () => {
    await t.close();
  });
  beforeEach(resetDatabase);

  const createUser = (body: components['schemas']['UserCreate']) => t.api.POST('/users', { body });
  const register = (body: components['schemas']['UserRegistration']) => t.api.POST('/register', { body });

  describe('createUser', () => {
    it('creates a user with role user, a Location and no password in the answer', async () => {
      const res = await createUser({ ...valid, username: 'ada_l', phone: '+15551234567' });
      const user = expectAnswer(res, 201);
      expect(res.response.headers.get('location')).to.equal(`/users/${user.id}`);
      expect(user).to.include({
        email: 'ada@example.com',
        full_name: 'Ada Lovelace',
        age: 36,
        username: 'ada_l',
        phone: '+15551234567',
        role: 'user',
        is_active: true,
      });
      expect(user.created_at).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      expect(Object.keys(user)).to.not.include.members(['password', 'password_hash']);
      expect(JSON.stringify(user)).to.not.include('argon2');
    });

    it('stores an argon2id hash with the OWASP parameters, never the password', async () => {
      await createUser(valid);
      const { db } = await sharedDatabase();
      const row = await db.selectFrom('users').select('password_hash').executeTakeFirstOrThrow();
      expect(row.password_hash).to.match(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(row.password_hash).to.not.include(valid.password);
    });

    it('answers 409 for an email that is taken in any letter case, and writes nothing', async () => {
      expect((await createUser(valid)).response.status).to.equal(201);
      const res = await createUser({ ...valid, email: 'ADA@Example.COM' });
      const problem = await expectProblem(res, 409, 'email-taken');
      expect(problem).to.include({ detail: 'Email already registered' });
      expect(await countRows('users')).to.equal(1);
    });

    const rules: [string, Record<string, unknown>, string[]][] = [
      ['an invalid email', { email: 'not-an-email' }, ['body /email format']],
      ['a look-alike email with a Cyrillic letter', { email: 'аda@example.com' }, ['body /email format']],
      ['an empty full_name', { full_name: '' }, ['body /full_name minLength']],
      ['a 101-character full_name', { full_name: 'x'.repeat(101) }, ['body /full_name maxLength']],
      ['a 10 kB full_name', { full_name: 'x'.repeat(10_000) }, ['body /full_name maxLength']],
      ['a negative age', { age: -1 }, ['body /age minimum']],
      ['an age of 121', { age: 121 }, ['body /age maximum']],
      ['a fractional age', { age: 36.5 }, ['body /age type']],
      ['an age sent as a string', { age: '36' }, ['body /age type']],
      ['a 7-character password', { password: 'Secret1' }, ['body /password minLength']],
      ['a 101-character password', { password: `A1${'x'.repeat(99)}` }, ['body /password maxLength']],
      ['a password without a digit', { password: 'SecretPass' }, ['body /password pattern']],
      ['a password without an uppercase letter', { password: 'secret123' }, ['body /password pattern']],
      ['a bad username', { username: 'a b' }, ['body /username pattern']],
      ['a bad phone', { phone: '0123' }, ['body /phone pattern']],
      ['an extra property', { role: 'admin' }, ['body /role additionalProperties']],
      ['a SQL fragment as email', { email: "x' OR '1'='1" }, ['body /email format']],
    ];
    for (const [what, change, expected] of rules) {
      it(`answers 422 for ${what}, naming the field, and writes nothing`, async () => {
        const res = await postJson(t, '/users', { ...valid, ...change });
        expect(await violations(res)).to.deep.equal(expected);
        expect(await countRows('users')).to.equal(0);
      });
    }

    it('lists every violation at once', async () => {
      const res = await postJson(t, '/users', { email: 'x', age: 200 });
      expect(await violations(res)).to.have.members([
        'body /email format',
        'body /age maximum',
        'body /full_name required',
        'body /password required',
      ]);
    });

    it('stores SQL metacharacters as plain text', async () => {
      const full_name = "Robert'); DROP TABLE users;--";
      const res = await createUser({ ...valid, full_name });
      expect(expectAnswer(res, 201)).to.include({ full_name });
      expect(await countRows('users')).to.equal(1);
    });
  });

  describe('register', () => {
    const form: components['schemas']['UserRegistration'] = {
      username: 'grace_h',
      email: 'grace@example.com',
      password: 'Secret123',
      confirm_password: 'Secret123',
      phone: '+15551234567',
    };

    it('creates the same user resource, with the username as full name', async () => {
      expect(expectAnswer(await register(form), 201)).to.include({
        username: 'grace_h',
        email: 'grace@example.com',
        full_name: 'grace_h',
        age: null,
        phone: '+15551234567',
        role: 'user',
      });
    });

    it('answers 422 on /confirm_password when the passwords differ, and writes nothing', async () => {
      const res = await register({ ...form, confirm_password: 'Secret124' });
      expect(await violations(res)).to.deep.equal(['body /confirm_password const']);
      expect(await countRows('users')).to.equal(0);
    });

    it('applies the guide rules to username and phone', async () => {
      expect(await violations(await register({ ...form, username: 'ab' }))).to.deep.equal([
        'body /username pattern',
      ]);
      expect(await violations(await register({ ...form, username: 'a'.repeat(21) }))).to.deep.equal([
        'body /username pattern',
      ]);
      expect(await violations(await register({ ...form, phone: '+0123' }))).to.deep.equal([
        'body /phone pattern',
      ]);
    });

    it('answers 409 for a taken email or username', async () => {
      expect((await register(form)).response.status).to.equal(201);
      const sameEmail = await register({ ...form, username: 'other' });
      await expectProblem(sameEmail, 409, 'email-taken');
      const sameName = await register({ ...form, email: 'other@example.com', username: 'GRACE_H' });
      const problem = await expectProblem(sameName, 409, 'username-taken');
      expect(problem).to.include({ detail: 'Username already taken' });
    });
  });

  describe('getCurrentUser', () => {
    it('answers the caller', async () => {
      const user = await seedUser({ email: 'me@example.com' });
      const res = await t.api.GET('/users/me', { headers: bearer(tokenFor(t, user.id)) });
      expect(expectAnswer(res, 200)).to.include({ id: user.id, email: 'me@example.com' });
    });

    it('answers 401 with a Bearer challenge without a token', async () => {
      const res = await t.api.GET('/users/me');
      await expectProblem(res, 401, 'unauthorized');
      expect(res.response.headers.get('www-authenticate')).to.equal('Bearer');
    });
  });

  describe('listUsers', () => {
    it('pages newest first with the total', async () => {
      const admin = await seedUser({ role: 'admin' });
      const others = [await seedUser(), await seedUser(), await seedUser()];
      const res = await t.api.GET('/users', {
        params: { query: { skip: 1, limit: 2 } },
        headers: bearer(tokenFor(t, admin.id)),
      });
      const page = expectAnswer(res, 200);
      expect(page).to.include({ total: 4, skip: 1, limit: 2 });
      expect(page.items.map((u) => u.id)).to.deep.equal([others[1]?.id, others[0]?.id]);
    });

    it('defaults to skip 0 and limit 10', async () => {
      const admin = await seedUser({ role: 'admin' });
      const { data } = await t.api.GET('/users', { headers: bearer(tokenFor(t, admin.id)) });
      expect(data).to.include({ skip: 0, limit: 10, total: 1 });
    });

    it('answers 422 for a limit outside 1..100 or a negative skip', async () => {
      const admin = await seedUser({ role: 'admin' });
      const headers = bearer(tokenFor(t, admin.id));
      expect(await violations(await t.fetch('/users?limit=0', { headers }))).to.deep.equal([
        'query /limit minimum',
      ]);
      expect(await violations(await t.fetch('/users?limit=101', { headers }))).to.deep.equal([
        'query /limit maximum',
      ]);
      expect(await violations(await t.fetch('/users?skip=-1', { headers }))).to.deep.equal([
        'query /skip minimum',
      ]);
    });

    it('is for admins only: 403 for a user', async () => {
      const user = await seedUser();
      expect((await t.api.GET('/users', { headers: bearer(tokenFor(t, user.id)) })).response.status).to.equal(
        403,
      );
    });
  });

  describe('getUser', () => {
    const getUser = (user_id: number, token: string) =>
      t.api.GET('/users/{user_id}', { params: { path: { user_id } }, headers: bearer(token) });

    it('answers your own account and, for an admin, any account', async () => {
      const user = await seedUser();
      const admin = await seedUser({ role: 'admin' });
      expect((await getUser(user.id, tokenFor(t, user.id))).response.status).to.equal(200);
      const { data } = await getUser(user.id, tokenFor(t, admin.id));
      expect(data).to.include({ id: user.id });
    });

    it("answers 404 for someone else's account, as if it did not exist", async () => {
      const user = await seedUser();
      const other = await seedUser();
      const problem = await expectProblem(await getUser(other.id, tokenFor(t, user.id)), 404, 'not-found');
      expect(problem).to.include({ detail: 'User not found' });
    });

    it('answers 404 for a missing account and 422 for an id that is not a positive integer', async () => {
      const admin = await seedUser({ role: 'admin' });
      const headers = bearer(tokenFor(t, admin.id));
      expect((await getUser(999999, tokenFor(t, admin.id))).response.status).to.equal(404);
      expect(await violations(await t.fetch('/users/abc', { headers }))).to.deep.equal([
        'path /user_id type',
      ]);
      expect(await violations(await t.fetch('/users/0', { headers }))).to.deep.equal([
        'path /user_id minimum',
      ]);
      expect(await violations(await t.fetch("/users/1'%20OR%201=1", { headers }))).to.deep.equal([
        'path /user_id type',
      ]);
    });
  });

  describe('updateUser', () => {
    const patch = (user_id: number, body: components['schemas']['UserUpdate'], token: string) =>
      t.api.PATCH('/users/{user_id}', { params: { path: { user_id } }, body, headers: bearer(token) });
    /** A body the contract forbids, sent as it is. */
    const patchRaw = (id: number, body: unknown, token: string): Promise<Response> =>
      t.fetch(`/users/${id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', ...bearer(token) },
        body: JSON.stringify(body),
      });

    it('changes only the fields sent', async () => {
      const user = await seedUser({ email: 'keep@example.com', full_name: 'Old Name' });
      const res = await patch(user.id, { full_name: 'New Name' }, tokenFor(t, user.id));
      expect(expectAnswer(res, 200)).to.include({
        full_name: 'New Name',
        email: 'keep@example.com',
        age: 30,
      });
    });

    it('answers 403 when a non-admin sends role or is_active, and changes nothing', async () => {
      const user = await seedUser({ full_name: 'Same' });
      const token = tokenFor(t, user.id);
      expect((await patch(user.id, { role: 'admin', full_name: 'Other' }, token)).response.status).to.equal(
        403,
      );
      expect((await patch(user.id, { is_active: false }, token)).response.status).to.equal(403);
      const { data: me } = await t.api.GET('/users/me', { headers: bearer(token) });
      expect(me).to.include({ role: 'user', full_name: 'Same', is_active: true });
    });

    it('lets an admin change role and is_active', async () => {
      const user = await seedUser();
      const admin = await seedUser({ role: 'admin' });
      const { data } = await patch(user.id, { role: 'guest', is_active: false }, tokenFor(t, admin.id));
      expect(data).to.include({ role: 'guest', is_active: false });
    });

    it('answers 409 for an email another account has', async () => {
      await seedUser({ email: 'taken@example.com' });
      const user = await seedUser();
      const res = await patch(user.id, { email: 'Taken@example.com' }, tokenFor(t, user.id));
      await expectProblem(res, 409, 'email-taken');
    });

    it('answers 422 for an empty change and for an extra property', async () => {
      const user = await seedUser();
      const token = tokenFor(t, user.id);
      expect(await violations(await patch(user.id, {}, token))).to.deep.equal(['body  minProperties']);
      expect(await violations(await patchRaw(user.id, { password_hash: 'x' }, token))).to.deep.equal([
        'body /password_hash additionalProperties',
      ]);
    });

    it("answers 404 for someone else's account", async () => {
      const user = await seedUser();
      const other = await seedUser({ full_name: 'Untouched' });
      const res = await patch(other.id, { full_name: 'Hacked' }, tokenFor(t, user.id));
      expect(res.response.status).to.equal(404);
      const { db } = await sharedDatabase();
      const row = await db
        .selectFrom('users')
        .select('full_name')
        .where('id', '=', other.id)
        .executeTakeFirst();
      expect(row?.full_name).to.equal('Untouched');
    });
  });

  describe('deleteUser', () => {
    it('deletes (204), then answers 404; the deleted account’s token stops working', async () => {
      const admin = await seedUser({ role: 'admin' });
      const user = await seedUser();
      const userToken = tokenFor(t, user.id);
      const headers = bearer(tokenFor(t, admin.id));
      const del = () => t.api.DELETE('/users/{user_id}', { params: { path: { user_id: user.id } }, headers });
      const res = await del();
      expect(res.response.status).to.equal(204);
      expect(await res.response.text()).to.equal('');
      expect((await del()).response.status).to.equal(404);
      const me = await t.api.GET('/users/me', { headers: bearer(userToken) });
      await expectProblem(me, 401, 'unauthorized');
      expect(me.response.headers.get('www-authenticate')).to.match(/^Bearer error="invalid_token"/);
    });

    it('is for admins only', async () => {
      const user = await seedUser();
      const res = await t.api.DELETE('/users/{user_id}', {
        params: { path: { user_id: user.id } },
        headers: bearer(tokenFor(t, user.id)),
      });
      await expectProblem(res, 403, 'forbidden');
      expect(await countRows('users')).to.equal(1);
    });
  });

  it('accepts the seeded password through the real login', async () => {
    const user = await seedUser({ email: 'seeded@example.com' });
    const res = await t.api.POST('/token', {
      body: { username: 'seeded@example.com', password: PASSWORD },
      bodySerializer: formBody,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(res.response.status).to.equal(200);
    expect(user.id).to.be.a('number');
  });
});
