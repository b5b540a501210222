/** listUserActivity: the log written by background jobs, newest first, self or admin. */
import { expect } from 'chai';
import { sql } from 'kysely';
import { insertActivity } from '../../src/db/repos/activity.repo.js';
import { resetDatabase, sharedDatabase, startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { FAST_JOBS, waitForIdleQueue } from '../helpers/jobs.js';
import { PASSWORD, bearer, seedUser, tokenFor } from '../helpers/users.js';
import { expectAnswer, login } from '../helpers/client.js';

/** Sends an upload form's `file` as a text/plain file part with this filename. */
const textFileForm =
  (filename: string) =>
  (body: { file: string; description?: string }): FormData => {
    const form = new FormData();
    form.set('file', new Blob([body.file], { type: 'text/plain' }), filename);
    if (body.description !== undefined) form.set('description', body.description);
    return form;
  };

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

  const list = (user_id: number, token: string, query: { skip?: number; limit?: number } = {}) =>
    t.api.GET('/users/{user_id}/activity', { params: { path: { user_id }, query }, headers: bearer(token) });

  it('lists your own activity newest first, paged', async () => {
    const me = await seedUser();
    await entry(me.id, 'user_created', '2026-11-28T09:00:00Z');
    await entry(me.id, 'login', '2026-11-28T09:05:00Z', { ip: '203.0.113.7' });
    await entry(me.id, 'order_placed', '2026-11-28T09:10:00Z', { order_id: 1, total: 5 });
    const page = expectAnswer(await list(me.id, tokenFor(t, me.id), { limit: 2 }), 200);
    expect(page).to.include({ total: 3, skip: 0, limit: 2 });
    expect(page.items.map((i) => [i.kind, i.occurred_at])).to.deep.equal([
      ['order_placed', '2026-11-28T09:10:00.000Z'],
      ['login', '2026-11-28T09:05:00.000Z'],
    ]);
    expect(page.items[0]?.details).to.deep.equal({ order_id: 1, total: 5 });
    const { data: rest } = await list(me.id, tokenFor(t, me.id), { skip: 2 });
    expect(rest?.items.map((i) => i.kind)).to.deep.equal(['user_created']);
  });

  it("shows another user's activity to an admin only; others get 404", async () => {
    const owner = await seedUser();
    const stranger = await seedUser();
    const admin = await seedUser({ role: 'admin' });
    await entry(owner.id, 'login', '2026-11-28T09:05:00Z', { ip: '203.0.113.7' });
    expect((await list(owner.id, tokenFor(t, stranger.id))).response.status).to.equal(404);
    const { data: seen } = await list(owner.id, tokenFor(t, admin.id));
    expect(seen?.total).to.equal(1);
    expect((await list(424242, tokenFor(t, admin.id))).response.status).to.equal(404);
    const guest = await t.api.GET('/users/{user_id}/activity', { params: { path: { user_id: owner.id } } });
    expect(guest.response.status).to.equal(401);
  });

  it("shows the entries the API enqueued once the workers ran, each with its kind's details", async () => {
    const res = await t.api.POST('/users', {
      body: { email: 'ada@example.com', full_name: 'Ada', age: 36, password: PASSWORD },
    });
    const { id } = expectAnswer(res, 201);
    const token = expectAnswer(await login(t, 'ada@example.com', PASSWORD), 200);
    const { db } = await sharedDatabase();
    const item = await db
      .insertInto('items')
      .values({ owner_id: id, name: 'Pen', price: '1.00', tax: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    const headers = bearer(token.access_token);
    const placed = await t.api.POST('/orders', {
      body: { items: [{ item_id: item.id, quantity: 1 }], shipping_address: 'x' },
      headers,
    });
    const order = expectAnswer(placed, 201);
    const upload = await t.api.POST('/upload', {
      body: { file: 'Hello, world!' },
      bodySerializer: textFileForm('hello.txt'),
      headers,
    });
    const file = expectAnswer(upload, 201);
    await waitForIdleQueue();
    const page = expectAnswer(await list(id, token.access_token), 200);
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
    expect(res.response.status).to.equal(500);
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
