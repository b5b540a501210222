/**
 * The contract's rate-limit policies (x-rate-limit), enforced per client: per
 * account when signed in, per address otherwise. RATE_LIMIT_FACTOR=0.01 scales
 * the contract's policies down so a test reaches them quickly: `default` allows
 * 6 requests a minute, `signup` 1 an hour. A public operation counts everyone
 * by address; only secured ones know the account.
 */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { loadSpec } from '../../src/contract/spec.js';
import { resetDatabase, startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { bearer, seedUser, tokenFor } from '../helpers/users.js';
import { expectProblem } from '../helpers/problems.js';
import { login } from '../helpers/client.js';

const SCALED = { RATE_LIMIT_FACTOR: '0.01' };
/** `login` (30 a minute, shared across processes) down to 3; `default` to 60. */
const LOGIN_SCALED = { RATE_LIMIT_FACTOR: '0.1' };

/** The status of a typed-client answer (whose body the client has read). */
const statusOf = (answer: { readonly response: Response }): number => answer.response.status;

/** The status of a raw answer, once its body is read. */
async function rawStatusOf(res: Response): Promise<number> {
  await res.arrayBuffer();
  return res.status;
}

describe('rate limits from the contract', () => {
  let t: TestApp;
  // A fresh app each time: on the embedded database the counters live in the app's memory.
  beforeEach(async () => {
    await resetDatabase();
    t = await startApp(SCALED);
  });
  afterEach(async () => {
    await t.close();
  });

  it('announces the policy and what is left on every answer, then answers 429 with Retry-After', async () => {
    for (let left = 5; left >= 0; left--) {
      const { response } = await t.api.GET('/items');
      expect(response.status).to.equal(200);
      expect(response.headers.get('ratelimit-policy')).to.equal('"default";q=6;w=60');
      expect(response.headers.get('ratelimit')).to.match(new RegExp(`^"default";r=${left};t=\\d+$`));
    }
    const refused = await t.api.GET('/items');
    const problem = await expectProblem(refused, 429, 'rate-limited');
    const { headers } = refused.response;
    expect(headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(Number(headers.get('retry-after'))).to.be.within(1, 60);
    expect(headers.get('ratelimit')).to.match(/^"default";r=0;t=\d+$/);
    expect(headers.get('ratelimit-policy')).to.equal('"default";q=6;w=60');
    expect(problem).to.include({ status: 429, type: '/problems/rate-limited', title: 'Rate limit exceeded' });
    expect(problem.detail).to.match(/"default" policy/);
  });

  it('counts an anonymous caller by its socket address, whatever X-Forwarded-For it sends, with no trusted proxy', async () => {
    for (let left = 5; left >= 0; left--) {
      const res = await t.fetch('/items', { headers: { 'x-forwarded-for': `203.0.113.${left}` } });
      expect(await rawStatusOf(res)).to.equal(200);
      expect(res.headers.get('ratelimit')).to.match(new RegExp(`^"default";r=${left};t=\\d+$`));
    }
    const refused = await t.fetch('/items', { headers: { 'x-forwarded-for': '198.51.100.7' } });
    await expectProblem(refused, 429, 'rate-limited');
  });

  it('counts signed-in callers per account, apart from their address and from each other', async () => {
    const [ada, grace] = [await seedUser(), await seedUser()];
    for (let i = 0; i < 6; i++) expect(statusOf(await t.api.GET('/items'))).to.equal(200);
    expect(statusOf(await t.api.GET('/items'))).to.equal(429);
    for (const user of [ada, grace]) {
      const auth = bearer(tokenFor(t, user.id));
      for (let i = 0; i < 6; i++)
        expect(statusOf(await t.api.GET('/users/me', { headers: auth })), `user ${user.id}`).to.equal(200);
      expect(statusOf(await t.api.GET('/users/me', { headers: auth }))).to.equal(429);
    }
  });

  it('shares one counter between the operations of a policy: sign-up and register', async () => {
    const signUp = await t.api.POST('/users', {
      body: { email: 'ada@example.com', full_name: 'Ada', age: 36, password: 'Secret123' },
    });
    expect(statusOf(signUp)).to.equal(201);
    expect(signUp.response.headers.get('ratelimit-policy')).to.equal('"signup";q=1;w=3600');
    const register = await t.api.POST('/register', {
      body: {
        username: 'grace',
        email: 'grace@example.com',
        password: 'Secret123',
        confirm_password: 'Secret123',
      },
    });
    expect(statusOf(register)).to.equal(429);
    expect(Number(register.response.headers.get('retry-after'))).to.be.within(3000, 3600);
    // Another policy still has its own quota.
    expect(statusOf(await t.api.GET('/items'))).to.equal(200);
  });

  it('counts calls that fail authentication against their address', async () => {
    for (let i = 0; i < 6; i++) expect(statusOf(await t.api.GET('/users/me'))).to.equal(401);
    expect(statusOf(await t.api.GET('/users/me'))).to.equal(429);
  });

  it('refuses before reading the body', async () => {
    const auth = bearer(tokenFor(t, (await seedUser()).id));
    for (let i = 0; i < 6; i++) await t.api.GET('/users/me', { headers: auth });
    const res = await t.fetch('/items', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"not json',
    });
    expect(await rawStatusOf(res)).to.equal(429);
  });

  it('shares a shared policy across server processes on PostgreSQL, and keeps a process policy apart', async function () {
    if (!process.env['DATABASE_URL']) {
      this.skip(); // the embedded database counts in its one process
      return;
    }
    const other = await startApp(LOGIN_SCALED);
    const first = await startApp(LOGIN_SCALED);
    try {
      // `login` is shared: 3 a minute at this factor, counted together by both processes.
      for (let i = 0; i < 3; i++)
        expect(
          statusOf(await login(i % 2 === 0 ? first : other, 'nobody@example.com', 'Wrong1234')),
        ).to.equal(401);
      expect(statusOf(await login(first, 'nobody@example.com', 'Wrong1234'))).to.equal(429);
      expect(statusOf(await login(other, 'nobody@example.com', 'Wrong1234'))).to.equal(429);
      // `default` is per process (scope: process): each has its own 60.
      expect(statusOf(await first.api.GET('/items'))).to.equal(200);
      expect(statusOf(await other.api.GET('/items'))).to.equal(200);
    } finally {
      await other.close();
      await first.close();
    }
  });

  it('answers 429 on every operation of the contract once its policy is spent', async () => {
    // Every policy down to one call per window: one call spends it for the whole policy.
    const tight = await startApp({ RATE_LIMIT_FACTOR: '0.000001' });
    try {
      const spent = new Set<string>();
      for (const operation of loadSpec().operations) {
        const policy = operation.rateLimit;
        expect(policy, `${operation.operationId} has no x-rate-limit`).to.not.equal(undefined);
        const path = operation.path.replace(/\{[^}]+\}/g, '1');
        const method = operation.method.toUpperCase();
        if (!spent.has(policy?.name ?? '')) {
          await rawStatusOf(await tight.fetch(path, { method }));
          spent.add(policy?.name ?? '');
        }
        const res = await tight.fetch(path, { method });
        expect(await rawStatusOf(res), `${method} ${operation.path}`).to.equal(429);
        expect(res.headers.get('retry-after'), operation.operationId).to.match(/^\d+$/);
      }
    } finally {
      await tight.close();
    }
  });

  it('holds across server processes through Redis when REDIS_URL is set', async function () {
    const url = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    try {
      await probe.connect();
    } catch {
      probe.disconnect();
      if (process.env['TEST_REDIS_URL'] !== undefined)
        throw new Error(`TEST_REDIS_URL ${url} is not reachable`);
      this.skip(); // no Redis on this machine; CI sets TEST_REDIS_URL and starts one
      return;
    }
    // Counters other runs left for this machine's address.
    await probe.del('login:ip:127.0.0.1');
    const env = { ...LOGIN_SCALED, REDIS_URL: url };
    const [a, b] = [await startApp(env), await startApp(env)];
    try {
      for (let i = 0; i < 3; i++)
        expect(statusOf(await login(i % 2 === 0 ? a : b, 'nobody@example.com', 'Wrong1234'))).to.equal(401);
      expect(statusOf(await login(a, 'nobody@example.com', 'Wrong1234'))).to.equal(429);
      expect(statusOf(await login(b, 'nobody@example.com', 'Wrong1234'))).to.equal(429);
      expect(Number(await probe.get('login:ip:127.0.0.1'))).to.be.at.least(3);
    } finally {
      await a.close();
      await b.close();
      await probe.del('login:ip:127.0.0.1');
      probe.disconnect();
    }
  });

  it('is off when RATE_LIMIT_FACTOR is 0: no headers and no 429', async () => {
    const unlimited = await startApp({ RATE_LIMIT_FACTOR: '0' });
    try {
      for (let i = 0; i < 20; i++) {
        const { response } = await unlimited.api.GET('/items');
        expect(response.status).to.equal(200);
        expect(response.headers.get('ratelimit')).to.equal(null);
      }
    } finally {
      await unlimited.close();
    }
  });
});
