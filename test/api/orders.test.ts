import { expect } from 'chai';
import { insertItem } from '../../src/db/repos/items.repo.js';
import { countRows, resetDatabase, sharedDatabase, startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { bearer, postJson, seedUser, tokenFor } from '../helpers/users.js';
import { expectAnswer } from '../helpers/client.js';
import { expectProblem } from '../helpers/problems.js';
import type { components } from '../../generated/openapi.js';

type NewOrder = components['schemas']['OrderCreate'];

async function counts(): Promise<{ orders: number; lines: number }> {
  return { orders: await countRows('orders'), lines: await countRows('order_lines') };
}

async function item(price: string, tax: string | null = null, name = 'Thing'): Promise<number> {
  const { db } = await sharedDatabase();
  const seller = await seedUser();
  return (await insertItem(db, { owner_id: seller.id, name, price, tax })).id;
}

describe('orders', () => {
  let t: TestApp;
  let buyer: { id: number; headers: Record<string, string> };
  before(async () => {
    t = await startApp();
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await resetDatabase();
    const user = await seedUser();
    buyer = { id: user.id, headers: bearer(tokenFor(t, user.id)) };
  });

  /** POST /orders as the buyer (or with other headers), optionally with an Idempotency-Key. */
  const order = (body: NewOrder, key?: string, headers: Record<string, string> = buyer.headers, app = t) =>
    app.api.POST('/orders', {
      body,
      params: { header: key === undefined ? {} : { 'Idempotency-Key': key } },
      headers,
    });

  /** A body the contract forbids, sent as it is. */
  const orderRaw = (body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
    postJson(t, '/orders', body, { ...buyer.headers, ...headers });

  const getOrder = (order_id: number, headers: Record<string, string> = buyer.headers) =>
    t.api.GET('/orders/{order_id}', { params: { path: { order_id } }, headers });

  describe('createOrder', () => {
    it('places an order for the caller with prices and tax copied from the catalogue', async () => {
      const keyboard = await item('59.90', '0.1', 'Keyboard');
      const res = await order({ items: [{ item_id: keyboard, quantity: 2 }], shipping_address: 'London' });
      const placed = expectAnswer(res, 201);
      expect(res.response.headers.get('idempotent-replayed')).to.equal('false');
      expect(res.response.headers.get('location')).to.equal(`/orders/${placed.id}`);
      expect(placed).to.include({ user_id: buyer.id, total: 131.78 });
      expect(placed.lines).to.deep.equal([
        { item_id: keyboard, name: 'Keyboard', unit_price: 59.9, tax: 0.1, quantity: 2, line_total: 131.78 },
      ]);
    });

    it('rounds half-up to cents in exact decimal arithmetic (floating point would give 0.52)', async () => {
      // 0.35 × 1.5 = 0.525 exactly; in binary floating point it is 0.52499999…
      const cheap = await item('0.35', '0.5');
      const { data: placed } = await order({
        items: [{ item_id: cheap, quantity: 1 }],
        shipping_address: 'x',
      });
      expect(placed?.lines[0]?.line_total).to.equal(0.53);
      expect(placed?.total).to.equal(0.53);
    });

    it('rounds the total once over the exact sum of the lines', async () => {
      const cheap = await item('0.35', '0.5');
      const { data: placed } = await order({
        items: [
          { item_id: cheap, quantity: 1 },
          { item_id: cheap, quantity: 1 },
        ],
        shipping_address: 'x',
      });
      expect(placed?.lines.map((l) => l.line_total)).to.deep.equal([0.53, 0.53]);
      expect(placed?.total).to.equal(1.05);
    });

    it('keeps large amounts exact', async () => {
      const dear = await item('9999999.99', '0.0825');
      const { data: placed } = await order({
        items: [{ item_id: dear, quantity: 1000 }],
        shipping_address: 'x',
      });
      // 9,999,999.99 × 1.0825 × 1000 = 10,824,999,989.175 → 10,824,999,989.18
      expect(placed?.total).to.equal(10824999989.18);
      const { db } = await sharedDatabase();
      const row = await db.selectFrom('orders').select('total').executeTakeFirstOrThrow();
      expect(row.total).to.equal('10824999989.18');
    });

    it('answers 422 naming each unknown line and writes no order and no lines', async () => {
      const real = await item('10.00');
      const res = await order({
        items: [
          { item_id: real, quantity: 1 },
          { item_id: 424242, quantity: 1 },
          { item_id: real, quantity: 2 },
          { item_id: 434343, quantity: 1 },
        ],
        shipping_address: 'x',
      });
      const problem = await expectProblem(res, 422, 'validation-failed');
      expect(problem.errors?.map((e) => e.path)).to.deep.equal(['/items/1/item_id', '/items/3/item_id']);
      expect(await counts()).to.deep.equal({ orders: 0, lines: 0 });
    });

    const rules: [string, unknown, string][] = [
      ['no lines', { items: [], shipping_address: 'x' }, '/items minItems'],
      [
        '101 lines',
        { items: Array.from({ length: 101 }, () => ({ item_id: 1, quantity: 1 })), shipping_address: 'x' },
        '/items maxItems',
      ],
      [
        'a quantity of 0',
        { items: [{ item_id: 1, quantity: 0 }], shipping_address: 'x' },
        '/items/0/quantity minimum',
      ],
      [
        'a quantity of 1001',
        { items: [{ item_id: 1, quantity: 1001 }], shipping_address: 'x' },
        '/items/0/quantity maximum',
      ],
      [
        'an empty address',
        { items: [{ item_id: 1, quantity: 1 }], shipping_address: '' },
        '/shipping_address minLength',
      ],
      [
        'a user_id in the body',
        { user_id: 7, items: [{ item_id: 1, quantity: 1 }], shipping_address: 'x' },
        '/user_id additionalProperties',
      ],
    ];
    for (const [what, body, expected] of rules) {
      it(`answers 422 for ${what}`, async () => {
        await item('1.00');
        const problem = await expectProblem(await orderRaw(body), 422, 'validation-failed');
        expect(problem.errors?.map((e) => `${e.path} ${e.keyword}`)).to.include(expected);
        expect(await counts()).to.deep.equal({ orders: 0, lines: 0 });
      });
    }

    it('is not for guests (403)', async () => {
      const guest = await seedUser({ role: 'guest' });
      const res = await order(
        { items: [{ item_id: await item('1.00'), quantity: 1 }], shipping_address: 'x' },
        undefined,
        bearer(tokenFor(t, guest.id)),
      );
      await expectProblem(res, 403, 'forbidden');
    });

    it('keeps the snapshot when the item is repriced or deleted', async () => {
      const id = await item('10.00', null, 'Lamp');
      const placed = expectAnswer(
        await order({ items: [{ item_id: id, quantity: 1 }], shipping_address: 'x' }),
        201,
      );
      const { db } = await sharedDatabase();
      await db.updateTable('items').set({ price: '99.00' }).where('id', '=', id).execute();
      await db.deleteFrom('items').where('id', '=', id).execute();
      const { data: again } = await getOrder(placed.id);
      expect(again?.total).to.equal(10);
      expect(again?.lines).to.deep.equal([
        { item_id: null, name: 'Lamp', unit_price: 10, tax: null, quantity: 1, line_total: 10 },
      ]);
    });
  });

  describe('Idempotency-Key', () => {
    const body = async (): Promise<NewOrder> => ({
      items: [{ item_id: await item('5.00'), quantity: 1 }],
      shipping_address: 'x',
    });

    it('answers a retry with the first response and places one order', async () => {
      const request = await body();
      const first = await order(request, 'key-1');
      const second = await order(request, 'key-1');
      expect(first.response.status).to.equal(201);
      expect(second.response.status).to.equal(201);
      expect(second.response.headers.get('idempotent-replayed')).to.equal('true');
      expect(second.response.headers.get('location')).to.equal(first.response.headers.get('location'));
      expect(second.data).to.deep.equal(first.data);
      expect((await counts()).orders).to.equal(1);
    });

    it('treats the same body with its keys in another order as the same request', async () => {
      const id = await item('5.00');
      await order({ items: [{ item_id: id, quantity: 1 }], shipping_address: 'x' }, 'k');
      const res = await order({ shipping_address: 'x', items: [{ quantity: 1, item_id: id }] }, 'k');
      expect(res.response.status).to.equal(201);
      expect((await counts()).orders).to.equal(1);
    });

    it('answers 409 for the same key with another body', async () => {
      const request = await body();
      expect((await order(request, 'key-2')).response.status).to.equal(201);
      const res = await order({ ...request, shipping_address: 'elsewhere' }, 'key-2');
      await expectProblem(res, 409, 'idempotency-key-reused');
      expect((await counts()).orders).to.equal(1);
    });

    it('creates exactly one order for 20 concurrent requests with one key', async function () {
      this.timeout(60_000);
      const request = await body();
      const answers = await Promise.all(Array.from({ length: 20 }, () => order(request, 'storm')));
      expect(answers.map((a) => a.response.status)).to.deep.equal(Array(20).fill(201));
      expect(new Set(answers.map((a) => a.data?.id)).size).to.equal(1);
      expect(answers.filter((a) => a.response.headers.get('idempotent-replayed') === 'false')).to.have.length(
        1,
      );
      expect(await counts()).to.deep.equal({ orders: 1, lines: 1 });
    });

    it('scopes keys to the user', async () => {
      const request = await body();
      const other = await seedUser();
      expect((await order(request, 'shared')).response.status).to.equal(201);
      const res = await order(request, 'shared', bearer(tokenFor(t, other.id)));
      expect(res.response.headers.get('idempotent-replayed')).to.equal('false');
      expect((await counts()).orders).to.equal(2);
    });

    it('does not keep a key whose request failed, so a corrected retry works', async () => {
      const bad = { items: [{ item_id: 999999, quantity: 1 }], shipping_address: 'x' };
      expect((await order(bad, 'retry')).response.status).to.equal(422);
      expect((await order(bad, 'retry')).response.status).to.equal(422);
      expect((await counts()).orders).to.equal(0);
    });

    it('forgets keys after IDEMPOTENCY_TTL_SECONDS', async () => {
      const short = await startApp({ IDEMPOTENCY_TTL_SECONDS: '1' });
      try {
        const request = await body();
        const send = () => order(request, 'ttl', buyer.headers, short);
        expect((await send()).response.status).to.equal(201);
        await new Promise((resolve) => setTimeout(resolve, 1100));
        const res = await send();
        expect(res.response.headers.get('idempotent-replayed')).to.equal('false');
        expect((await counts()).orders).to.equal(2);
      } finally {
        await short.close();
      }
    });

    it('answers 422 for a key with spaces or over 255 characters', async () => {
      const request = await body();
      expect((await orderRaw(request, { 'Idempotency-Key': 'a b' })).status).to.equal(422);
      expect((await orderRaw(request, { 'Idempotency-Key': 'k'.repeat(256) })).status).to.equal(422);
    });
  });

  describe('listOrders and getOrder', () => {
    const listOrders = (headers: Record<string, string>, user_id?: number) =>
      t.api.GET('/orders', { params: { query: user_id === undefined ? {} : { user_id } }, headers });

    it('lists your own orders newest first; an admin sees all and may filter', async () => {
      const id = await item('1.00');
      const other = await seedUser();
      const mine = [];
      for (let i = 0; i < 3; i += 1) {
        const placed = expectAnswer(
          await order({ items: [{ item_id: id, quantity: i + 1 }], shipping_address: 'x' }),
          201,
        );
        mine.push(placed.id);
      }
      await order(
        { items: [{ item_id: id, quantity: 1 }], shipping_address: 'y' },
        undefined,
        bearer(tokenFor(t, other.id)),
      );

      const { data: page } = await listOrders(buyer.headers);
      expect(page?.total).to.equal(3);
      expect(page?.items.map((o) => o.id)).to.deep.equal([...mine].reverse());
      expect(page?.items[0]?.line_count).to.equal(1);

      const admin = bearer(tokenFor(t, (await seedUser({ role: 'admin' })).id));
      expect((await listOrders(admin)).data?.total).to.equal(4);
      const { data: filtered } = await listOrders(admin, other.id);
      expect(filtered?.total).to.equal(1);
    });

    it("answers 403 when a non-admin filters on someone else's orders", async () => {
      const other = await seedUser();
      expect((await listOrders(buyer.headers, other.id)).response.status).to.equal(403);
      expect((await listOrders(buyer.headers, buyer.id)).response.status).to.equal(200);
    });

    it("answers 404 for someone else's order, and the order with its lines to its buyer and admins", async () => {
      const id = await item('2.50', '0.2');
      const placed = expectAnswer(
        await order({ items: [{ item_id: id, quantity: 4 }], shipping_address: 'x' }),
        201,
      );
      const other = await seedUser();
      expect((await getOrder(placed.id, bearer(tokenFor(t, other.id)))).response.status).to.equal(404);
      const { data: mine } = await getOrder(placed.id);
      expect(mine).to.deep.equal(placed);
      const admin = bearer(tokenFor(t, (await seedUser({ role: 'admin' })).id));
      expect((await getOrder(placed.id, admin)).response.status).to.equal(200);
      expect((await getOrder(999999, admin)).response.status).to.equal(404);
    });
  });
});
