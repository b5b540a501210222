import { hash } from '@node-rs/argon2';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { resetDatabase, sharedDatabase, startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { bearer, PASSWORD, seedUser, tokenFor } from '../helpers/users.js';
import { expectAnswer, login } from '../helpers/client.js';
import { expectProblem } from '../helpers/problems.js';

const SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';
const ISSUER = 'fastapi-guide-ts';
const AUDIENCE = 'fastapi-guide-ts-api';

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

describe('login and bearer tokens', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(async () => {
    await t.close();
  });
  beforeEach(resetDatabase);

  const me = (token: string) => t.api.GET('/users/me', { headers: bearer(token) });

  describe('login', () => {
    it('answers an HS256 bearer token with sub, iat, exp, iss and aud, not to be cached', async () => {
      const user = await seedUser({ email: 'ada@example.com' });
      const res = await login(t, 'ada@example.com', PASSWORD);
      const body = expectAnswer(res, 200);
      expect(res.response.headers.get('cache-control')).to.equal('no-store');
      expect(body).to.include({ token_type: 'bearer', expires_in: 1800 });
      const decoded = jwt.decode(body.access_token, { complete: true });
      expect(decoded?.header.alg).to.equal('HS256');
      const claims = decoded?.payload as jwt.JwtPayload;
      expect(claims).to.include({ sub: String(user.id), iss: ISSUER, aud: AUDIENCE });
      expect((claims.exp ?? 0) - (claims.iat ?? 0)).to.equal(1800);
      expect((await me(body.access_token)).data).to.include({ id: user.id });
    });

    it('compares the email case-insensitively', async () => {
      await seedUser({ email: 'Ada@Example.com' });
      expect((await login(t, 'aDA@example.COM', PASSWORD)).response.status).to.equal(200);
    });

    it('gives the same 401 for an unknown email, a wrong password and a deactivated account', async () => {
      await seedUser({ email: 'ada@example.com' });
      await seedUser({ email: 'off@example.com', is_active: false });
      const answers = [
        await login(t, 'nobody@example.com', PASSWORD),
        await login(t, 'ada@example.com', 'Wrong1234'),
        await login(t, 'off@example.com', PASSWORD),
      ];
      const bodies = await Promise.all(
        answers.map(async (res) => {
          const { type, detail, title, status } = await expectProblem(res, 401, 'login-failed');
          expect(res.response.headers.get('www-authenticate')).to.equal('Bearer');
          return { type, detail, title, status };
        }),
      );
      expect(bodies[0]).to.deep.equal(bodies[1]).and.deep.equal(bodies[2]);
      expect(bodies[0]).to.include({ type: '/problems/login-failed', detail: 'Incorrect email or password' });
    });

    it('spends password-hashing time on an unknown email too (no timing oracle)', async () => {
      await seedUser({ email: 'ada@example.com' });
      const time = async (email: string): Promise<number> => {
        const started = performance.now();
        await login(t, email, 'Wrong1234');
        return performance.now() - started;
      };
      await time('warm-up@example.com');
      const unknown: number[] = [];
      const wrong: number[] = [];
      for (let i = 0; i < 3; i += 1) {
        unknown.push(await time(`nobody${i}@example.com`));
        wrong.push(await time('ada@example.com'));
      }
      // Both run one argon2 verification; a skipped one would be ~50x faster.
      expect(median(unknown)).to.be.greaterThan(median(wrong) * 0.4);
    });

    it('re-hashes a hash made with older parameters on a successful login', async () => {
      const weak = await hash(PASSWORD, { algorithm: 2, memoryCost: 1024, timeCost: 1, parallelism: 1 });
      const user = await seedUser({ email: 'old@example.com', password_hash: weak });
      expect((await login(t, 'old@example.com', PASSWORD)).response.status).to.equal(200);
      const { db } = await sharedDatabase();
      const row = await db
        .selectFrom('users')
        .select('password_hash')
        .where('id', '=', user.id)
        .executeTakeFirst();
      expect(row?.password_hash).to.match(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect((await login(t, 'old@example.com', PASSWORD)).response.status).to.equal(200);
    });

    it('takes only the form encoding and validates it', async () => {
      const json = await t.fetch('/token', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'a@example.com', password: PASSWORD }),
      });
      await expectProblem(json, 415, 'unsupported-media-type');
      await json.arrayBuffer();
      const line = t.logs.find((l) => l.msg === 'request' && l['reqId'] === json.headers.get('x-request-id'));
      expect(line, 'the log line names the operation even when the body is refused').to.include({
        operationId: 'login',
        status: 415,
      });
      const missing = await t.fetch('/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'username=a%40example.com',
      });
      await expectProblem(missing, 422, 'validation-failed');
      const grant = await t.fetch('/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `grant_type=client_credentials&username=a%40example.com&password=${PASSWORD}`,
      });
      await expectProblem(grant, 422, 'validation-failed');
    });
  });

  describe('token verification', () => {
    const sign = (payload: object, options: jwt.SignOptions, secret: string = SECRET): string =>
      jwt.sign(payload, secret, { issuer: ISSUER, audience: AUDIENCE, expiresIn: 600, ...options });

    const rejected: [string, (userId: number) => string][] = [
      [
        'alg none',
        (id) =>
          `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: String(id), iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url')}.`,
      ],
      ['another algorithm (HS512)', (id) => sign({}, { subject: String(id), algorithm: 'HS512' })],
      [
        'a bad signature',
        (id) => sign({}, { subject: String(id) }, 'another-secret-that-is-also-long-enough-0000'),
      ],
      ['an expired token', (id) => sign({}, { subject: String(id), expiresIn: -60 })],
      ['a token not valid yet', (id) => sign({}, { subject: String(id), notBefore: 3600 })],
      ['a wrong audience', (id) => sign({}, { subject: String(id), audience: 'someone-else' })],
      ['a wrong issuer', (id) => sign({}, { subject: String(id), issuer: 'someone-else' })],
      ['a token without sub', () => sign({}, {})],
      [
        'a token without exp',
        (id) => jwt.sign({ sub: String(id) }, SECRET, { issuer: ISSUER, audience: AUDIENCE }),
      ],
      ['garbage', () => 'not.a.jwt'],
    ];
    for (const [what, make] of rejected) {
      it(`refuses ${what} with 401 and error="invalid_token"`, async () => {
        const user = await seedUser();
        const res = await me(make(user.id));
        await expectProblem(res, 401, 'unauthorized');
        expect(res.response.headers.get('www-authenticate')).to.match(/^Bearer error="invalid_token"/);
      });
    }

    it('accepts a token made the same way with the right settings (the cases above are not refused by accident)', async () => {
      const user = await seedUser();
      const res = await me(sign({}, { subject: String(user.id) }));
      expect(res.response.status).to.equal(200);
    });

    it('refuses the token of an account deactivated after it was issued', async () => {
      const user = await seedUser();
      const token = tokenFor(t, user.id);
      const { db } = await sharedDatabase();
      await db.updateTable('users').set({ is_active: false }).where('id', '=', user.id).execute();
      const res = await me(token);
      await expectProblem(res, 401, 'unauthorized');
      expect(res.response.headers.get('www-authenticate')).to.match(/invalid_token/);
    });

    it('applies a role change on the next request', async () => {
      const user = await seedUser();
      const token = tokenFor(t, user.id);
      expect((await t.api.GET('/users', { headers: bearer(token) })).response.status).to.equal(403);
      const { db } = await sharedDatabase();
      await db.updateTable('users').set({ role: 'admin' }).where('id', '=', user.id).execute();
      expect((await t.api.GET('/users', { headers: bearer(token) })).response.status).to.equal(200);
    });

    it('refuses a malformed Authorization header as missing credentials', async () => {
      for (const value of ['Basic abc', 'Bearer', 'Bearer a b', 'bearer']) {
        const res = await t.fetch('/users/me', { headers: { Authorization: value } });
        expect(res.status, value).to.equal(401);
      }
    });
  });

  describe('throttling failed logins', () => {
    it('locks an account after repeated failures (429 with Retry-After), even for the right password', async () => {
      const strict = await startApp({
        LOGIN_MAX_FAILURES_PER_ACCOUNT: '3',
        LOGIN_FAILURE_WINDOW_SECONDS: '120',
      });
      try {
        await seedUser({ email: 'ada@example.com' });
        for (let i = 0; i < 3; i += 1)
          expect((await login(strict, 'ada@example.com', 'Wrong1234')).response.status).to.equal(401);
        const locked = await login(strict, 'ADA@example.com', PASSWORD);
        await expectProblem(locked, 429, 'login-throttled');
        const retryAfter = Number(locked.response.headers.get('retry-after'));
        expect(retryAfter).to.be.within(1, 120);
        expect(locked.error).to.include({ status: 429 });
        // Another account is not affected.
        await seedUser({ email: 'grace@example.com' });
        expect((await login(strict, 'grace@example.com', PASSWORD)).response.status).to.equal(200);
      } finally {
        await strict.close();
      }
    });

    it('locks a client address that fails on many accounts', async () => {
      const strict = await startApp({ LOGIN_MAX_FAILURES_PER_ADDRESS: '4' });
      try {
        await seedUser({ email: 'ada@example.com' });
        for (let i = 0; i < 4; i += 1)
          expect((await login(strict, `x${i}@example.com`, 'Wrong1234')).response.status).to.equal(401);
        expect((await login(strict, 'ada@example.com', PASSWORD)).response.status).to.equal(429);
      } finally {
        await strict.close();
      }
    });

    it('resets the account counter on a successful login', async () => {
      const strict = await startApp({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '3' });
      try {
        await seedUser({ email: 'ada@example.com' });
        for (let round = 0; round < 2; round += 1) {
          for (let i = 0; i < 2; i += 1) await login(strict, 'ada@example.com', 'Wrong1234');
          expect((await login(strict, 'ada@example.com', PASSWORD)).response.status).to.equal(200);
        }
      } finally {
        await strict.close();
      }
    });

    it('checks at most the limit of passwords when 100 wrong guesses arrive at once', async () => {
      const strict = await startApp({
        LOGIN_MAX_FAILURES_PER_ACCOUNT: '5',
        LOGIN_FAILURE_WINDOW_SECONDS: '120',
      });
      try {
        await seedUser({ email: 'ada@example.com' });
        const answers = await Promise.all(
          Array.from({ length: 100 }, async () => {
            const res = await login(strict, 'ada@example.com', 'Wrong1234');
            return res.response.status;
          }),
        );
        expect(answers.filter((status) => status === 401)).to.have.length(5);
        expect(answers.filter((status) => status === 429)).to.have.length(95);
        expect((await login(strict, 'ada@example.com', PASSWORD)).response.status).to.equal(429);
      } finally {
        await strict.close();
      }
    });

    it('holds the address limit against a parallel burst on many accounts', async () => {
      const strict = await startApp({ LOGIN_MAX_FAILURES_PER_ADDRESS: '20' });
      try {
        await seedUser({ email: 'ada@example.com' });
        const answers = await Promise.all(
          Array.from({ length: 60 }, async (_, i) => {
            const res = await login(strict, `guess${i}@example.com`, 'Wrong1234');
            return res.response.status;
          }),
        );
        expect(answers.filter((status) => status === 401)).to.have.length(20);
        expect(answers.filter((status) => status === 429)).to.have.length(40);
        expect((await login(strict, 'ada@example.com', PASSWORD)).response.status).to.equal(429);
      } finally {
        await strict.close();
      }
    });

    it('does not count a successful login against the address', async () => {
      const strict = await startApp({ LOGIN_MAX_FAILURES_PER_ADDRESS: '3' });
      try {
        await seedUser({ email: 'ada@example.com' });
        for (let i = 0; i < 5; i += 1)
          expect((await login(strict, 'ada@example.com', PASSWORD)).response.status).to.equal(200);
        for (let i = 0; i < 2; i += 1)
          expect((await login(strict, `x${i}@example.com`, 'Wrong1234')).response.status).to.equal(401);
        expect((await login(strict, 'ada@example.com', PASSWORD)).response.status).to.equal(200);
      } finally {
        await strict.close();
      }
    });

    it('holds across server processes sharing the database', async () => {
      const env = { LOGIN_MAX_FAILURES_PER_ACCOUNT: '2' };
      const [a, b] = [await startApp(env), await startApp(env)];
      try {
        await seedUser({ email: 'ada@example.com' });
        expect((await login(a, 'ada@example.com', 'Wrong1234')).response.status).to.equal(401);
        expect((await login(b, 'ada@example.com', 'Wrong1234')).response.status).to.equal(401);
        expect((await login(a, 'ada@example.com', PASSWORD)).response.status).to.equal(429);
        expect((await login(b, 'ada@example.com', PASSWORD)).response.status).to.equal(429);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
});
