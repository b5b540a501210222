/** listUserActivity: the log written by background jobs, newest first, self or admin. */
import { expect } from 'chai';
import { sql } from 'kysely';
import { insertActivity } from '../../src/db/repos/activity.repo.js';
import { resetDatabase, sharedDatabase, startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { FAST_JOBS, waitForIdleQueue } from '../helpers/jobs.js';
import { multipart, postForm, textFile } from '../helpers/multipart.js';
import { PASSWORD, bearer, postJson, postLogin, seedUser, tokenFor } from '../helpers/users.js';

interface Page {
  items: { id: number; kind: string; details: Record<string, unknown>; occurred_at: string }[];
  total: number;
  skip: number;
  limit: number;
}

let jobId = 1000;
async function entry(userId: number, kind: string, occurredAt: string, details = {}): Promise<void> {
  const { db } = await sharedDatabase();
  jobId += 1;
  await insertActivity(db, { userId, kind, details, occurredAt: new Date(occurredAt), jobId });
}

describe('listUserActivity', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ ...FAST_JOBS });
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await resetDatabase();
  });

  const list = (userId: number, token: string, query = ''): Promise<Response> =>
    t.fetch(`/users/${userId}/activity${query}`, { headers: bearer(token) });

  it('lists your own activity newest first, paged', async () => {
    const me = await seedUser();
    await entry(me.id, 'user_created', '2026-11-28T09:00:00Z');
    await entry(me.id, 'login', '2026-11-28T09:05:00Z', { ip: '203.0.113.7' });
    await entry(me.id, 'order_placed', '2026-11-28T09:10:00Z', { order_id: 1, total: 5 });
    const res = await list(me.id, tokenFor(t, me.id), '?limit=2');
    expect(res.status).to.equal(200);
    const page = (await res.json()) as Page;
    expect(page).to.include({ total: 3, skip: 0, limit: 2 });
    expect(page.items.map((i) => [i.kind, i.occurred_at])).to.deep.equal([
      ['order_placed', '2026-11-28T09:10:00.000Z'],
      ['login', '2026-11-28T09:05:00.000Z'],
    ]);
    expect(page.items[0]?.details).to.deep.equal({ order_id: 1, total: 5 });
    const rest = (await (await list(me.id, tokenFor(t, me.id), '?skip=2')).json()) as Page;
    expect(rest.items.map((i) => i.kind)).to.deep.equal(['user_created']);
  });

  it("shows another user's activity to an admin only; others get 404", async () => {
    const owner = await seedUser();
    const stranger = await seedUser();
    const admin = await seedUser({ role: 'admin' });
    await entry(owner.id, 'login', '2026-11-28T09:05:00Z', { ip: '203.0.113.7' });
    expect((await list(owner.id, tokenFor(t, stranger.id))).status).to.equal(404);
    const seen = (await (await list(owner.id, tokenFor(t, admin.id))).json()) as Page;
    expect(seen.total).to.equal(1);
    expect((await list(424242, tokenFor(t, admin.id))).status).to.equal(404);
    expect((await t.fetch(`/users/${owner.id}/activity`)).status).to.equal(401);
  });

  it("shows the entries the API enqueued once the workers ran, each with its kind's details", async () => {
    const res = await postJson(t, '/users', {
      email: 'ada@example.com',
      full_name: 'Ada',
      age: 36,
      password: PASSWORD,
    });
    const { id } = (await res.json()) as { id: number };
    const login = (await (await postLogin(t, 'ada@example.com', PASSWORD)).json()) as {
      access_token: string;
    };
    const { db } = await sharedDatabase();
    const item = await db
      .insertInto('items')
      .values({ owner_id: id, name: 'Pen', price: '1.00', tax: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    const order = (await (
      await postJson(
        t,
        '/orders',
        { items: [{ item_id: item.id, quantity: 1 }], shipping_address: 'x' },
        bearer(login.access_token),
      )
    ).json()) as { id: number; total: number };
    const upload = await postForm(
      t,
      '/upload',
      multipart([textFile('Hello, world!')]),
      bearer(login.access_token),
    );
    const file = (await upload.json()) as { id: number };
    await waitForIdleQueue();
    const page = (await (await list(id, login.access_token)).json()) as Page;
    expect(page.items.map((i) => [i.kind, i.details])).to.deep.equal([
      ['file_uploaded', { file_id: file.id, filename: 'hello.txt', size: 13 }],
      ['order_placed', { order_id: order.id, total: 1 }],
      ['login', { ip: '127.0.0.1' }],
      ['user_created', {}],
    ]);
  });

  it("answers 500, and logs why, when an entry's details are not what its kind declares", async () => {
    const me = await seedUser();
    await entry(me.id, 'order_placed', '2026-11-28T09:10:00Z', { order_id: '1', total: 5 });
    const res = await list(me.id, tokenFor(t, me.id));
    expect(res.status).to.equal(500);
    expect(JSON.stringify(t.logs)).to.include('details.order_id is not a number');
  });

  it('writes nothing for a user deleted before the job ran, and the job still succeeds', async () => {
    const gone = await seedUser();
    const { db } = await sharedDatabase();
    await sql`insert into jobs (kind, payload) values ('activity', ${JSON.stringify({ user_id: gone.id, kind: 'login', details: {} })}::jsonb)`.execute(
      db,
    );
    await db.deleteFrom('users').where('id', '=', gone.id).execute();
    const counts = await waitForIdleQueue();
    expect(counts).to.include({ succeeded: 1, failed: 0 });
    expect((await db.selectFrom('activity').selectAll().execute()).length).to.equal(0);
  });
});
