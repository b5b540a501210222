/**
 * Two server processes on one PostgreSQL database behave as one service:
 * an account made on A logs in on B, a token from A works on B, an order
 * placed on A with an Idempotency-Key and retried on B is one order, a file
 * uploaded through A downloads and deletes through B, and failed logins
 * counted on A lock the account on B. (Chat across processes:
 * test/api/realtime-processes.test.ts; jobs claimed by any process:
 * test/api/jobs.test.ts.)
 */
import { expect } from 'chai';
import { sql } from 'kysely';
import { sharedDatabase } from '../helpers/app.js';
import { spawnServer } from '../helpers/process.js';
import type { ServerProcess } from '../helpers/process.js';
import { expectProblem } from '../helpers/problems.js';

async function clearAddressCounters(): Promise<void> {
  const { db } = await sharedDatabase();
  await sql`delete from login_failures where key like 'address:%'`.execute(db);
}

describe('two server processes on one database', function () {
  this.timeout(120_000);
  let a: ServerProcess;
  let b: ServerProcess;

  before(async function () {
    const databaseUrl = process.env['DATABASE_URL'];
    if (!databaseUrl) {
      this.skip(); // more than one process needs PostgreSQL
      return;
    }
    // Failed logins other tests made from this machine's address must not count here.
    await clearAddressCounters();
    // Files in the database driver: the storage every process and instance can reach.
    const env = {
      DATABASE_URL: databaseUrl,
      LOGIN_MAX_FAILURES_PER_ACCOUNT: '3',
      LOGIN_MAX_FAILURES_PER_ADDRESS: '1000',
      FILE_STORAGE: 'database',
    };
    [a, b] = await Promise.all([spawnServer(env), spawnServer(env)]);
    await Promise.all([a.waitFor('/health/ready', 60_000), b.waitFor('/health/ready', 60_000)]);
  });
  after(async () => {
    for (const server of [a, b]) {
      if (server === undefined) continue;
      server.kill('SIGTERM');
      await server.exited;
    }
    // The attempts made here count against this machine's address for later tests.
    if (a !== undefined) await clearAddressCounters();
  });

  const json =
    (method: string, token?: string) =>
    (body: unknown, headers: Record<string, string> = {}) => ({
      method,
      headers: {
        'Content-Type': 'application/json',
        ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }),
        ...headers,
      },
      body: JSON.stringify(body),
    });
  const login = (server: ServerProcess, email: string, password: string): Promise<Response> =>
    fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: email, password }),
    });

  it('signs up on one, logs in and orders idempotently across both, and throttles logins together', async () => {
    const email = `two-${Date.now()}@example.com`;
    const signUp = await fetch(
      `${a.url}/users`,
      json('POST')({ email, full_name: 'Two Processes', age: 33, password: 'Secret123' }),
    );
    expect(signUp.status).to.equal(201);
    const user = (await signUp.json()) as { id: number };

    const loggedIn = await login(b, email, 'Secret123');
    expect(loggedIn.status, 'login on B for an account made on A').to.equal(200);
    const { access_token: token } = (await loggedIn.json()) as { access_token: string };
    const me = await fetch(`${a.url}/users/me`, { headers: { Authorization: `Bearer ${token}` } });
    expect(me.status, 'token from B accepted by A').to.equal(200);
    expect(((await me.json()) as { id: number }).id).to.equal(user.id);

    const item = await fetch(`${a.url}/items`, json('POST', token)({ name: 'Lamp', price: 19.99, tax: 0.2 }));
    expect(item.status).to.equal(201);
    const { id: itemId } = (await item.json()) as { id: number };
    const order = { items: [{ item_id: itemId, quantity: 2 }], shipping_address: '1 Cluster Road' };
    const key = { 'Idempotency-Key': `two-processes-${Date.now()}` };
    const first = await fetch(`${a.url}/orders`, json('POST', token)(order, key));
    expect(first.status).to.equal(201);
    const placed = (await first.json()) as { id: number; total: number };
    const retried = await fetch(`${b.url}/orders`, json('POST', token)(order, key));
    expect(retried.status).to.equal(201);
    expect(retried.headers.get('idempotent-replayed')).to.equal('true');
    expect(((await retried.json()) as { id: number }).id).to.equal(placed.id);
    const mine = await fetch(`${b.url}/orders`, { headers: { Authorization: `Bearer ${token}` } });
    expect(((await mine.json()) as { total: number }).total, 'one order, not two').to.equal(1);

    // A file uploaded through A downloads through B, byte for byte, and B deletes it for both.
    const form = new FormData();
    form.append('file', new Blob(['bytes shared by every process'], { type: 'text/plain' }), 'shared.txt');
    const uploaded = await fetch(`${a.url}/upload`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body: form,
    });
    expect(uploaded.status).to.equal(201);
    const { id: fileId } = (await uploaded.json()) as { id: number };
    const downloaded = await fetch(`${b.url}/download/${fileId}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(downloaded.status).to.equal(200);
    expect(await downloaded.text()).to.equal('bytes shared by every process');
    const deleted = await fetch(`${b.url}/files/${fileId}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(deleted.status).to.equal(204);
    const gone = await fetch(`${a.url}/download/${fileId}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    await expectProblem(gone, 404, 'not-found');
    await gone.arrayBuffer();

    // Three failures spread over both processes lock the account on either.
    for (const server of [a, b, a]) {
      const failed = await login(server, email, 'Wrong1234');
      await expectProblem(failed, 401, 'login-failed');
      await failed.arrayBuffer();
    }
    const locked = await login(b, email, 'Secret123');
    expect(locked.status, 'the right password after three failures on two processes').to.equal(429);
    await locked.arrayBuffer();

    // A parallel burst split over both processes checks no more passwords than the limit allows.
    const target = `burst-${Date.now()}@example.com`;
    const burst = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const res = await login(i % 2 === 0 ? a : b, target, 'Wrong1234');
        await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(
      burst.filter((status) => status === 401),
      'passwords checked',
    ).to.have.length(3);
    expect(burst.filter((status) => status === 429)).to.have.length(37);
  });
});
