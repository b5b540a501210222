import { expect } from 'chai';
import { insertItem } from '../../src/db/repos/items.repo.js';
import { countRows, resetDatabase, sharedDatabase, startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { bearer, postJson, seedUser, tokenFor } from '../helpers/users.js';
import { expectProblem } from '../helpers/problems.js';

interface OrderLine {
  item_id: number | null;
  name: string;
  unit_price: number;
  tax: number | null;
  quantity: number;
  line_total: number;
}
interface Order {
  id: number;
  user_id: number;
  total: number;
  lines: OrderLine[];
}

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

  const order = (body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
    postJson(t, '/orders', body, { ...buyer.headers, ...headers });

  describe('createOrder', () => {
    it('places an order for the caller with prices and tax copied from the catalogue', async () => {
      const keyboard = await item('59.90', '0.1', 'Keyboard');
      const res = await order({ items: [{ item_id: keyboard, quantity: 2 }], shipping_address: 'London' });
      expect(res.status).to.equal(201);
      expect(res.headers.get('idempotent-replayed')).to.equal('false');
      const placed = (await res.json()) as Order;
      expect(res.headers.get('location')).to.equal(`/orders/${placed.id}`);
      expect(placed).to.include({ user_id: buyer.id, total: 131.78 });
      expect(placed.lines).to.deep.equal([
        { item_id: keyboard, name: 'Keyboard', unit_price: 59.9, tax: 0.1, quantity: 2, line_total: 131.78 },
      ]);
    });

    it('rounds half-up to cents in exact decimal arithmetic (floating point would give 0.52)', async () => {
      // 0.35 × 1.5 = 0.525 exactly; in binary floating point it is 0.52499999…
      const cheap = await item('0.35', '0.5');
      const res = await order({ items: [{ item_id: cheap, quantity: 1 }], shipping_address: 'x' });
      const placed = (await res.json()) as Order;
      expect(placed.lines[0]?.line_total).to.equal(0.53);
      expect(placed.total).to.equal(0.53);
    });

    it('rounds the total once over the exact sum of the lines', async () => {
      const cheap = await item('0.35', '0.5');
      const res = await order({
        items: [
          { item_id: cheap, quantity: 1 },
          { item_id: cheap, quantity: 1 },
        ],
        shipping_address: 'x',
      });
      const placed = (await res.json()) as Order;
      expect(placed.lines.map((l) => l.line_total)).to.deep.equal([0.53, 0.53]);
      expect(placed.total).to.equal(1.05);
    });

    it('keeps large amounts exact', async () => {
      const dear = await item('9999999.99', '0.0825');
      const res = await order({ items: [{ item_id: dear, quantity: 1000 }], shipping_address: 'x' });
      const placed = (await res.json()) as Order;
      // 9,999,999.99 × 1.0825 × 1000 = 10,824,999,989.175 → 10,824,999,989.18
      expect(placed.total).to.equal(10824999989.18);
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
      await expectProblem(res, 422, 'validation-failed');
      const body = (await res.json()) as { errors: { path: string }[] };
      expect(body.errors.map((e) => e.path)).to.deep.equal(['/items/1/item_id', '/items/3/item_id']);
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
        const res = await order(body);
        await expectProblem(res, 422, 'validation-failed');
        const problem = (await res.json()) as { errors: { path: string; keyword: string }[] };
        expect(problem.errors.map((e) => `${e.path} ${e.keyword}`)).to.include(expected);
        expect(await counts()).to.deep.equal({ orders: 0, lines: 0 });
      });
    }

    it('is not for guests (403)', async () => {
      const guest = await seedUser({ role: 'guest' });
      const res = await postJson(
        t,
        '/orders',
        { items: [{ item_id: await item('1.00'), quantity: 1 }], shipping_address: 'x' },
        bearer(tokenFor(t, guest.id)),
      );
      await expectProblem(res, 403, 'forbidden');
    });

    it('keeps the snapshot when the item is repriced or deleted', async () => {
      const id = await item('10.00', null, 'Lamp');
      const placed = (await (
        await order({ items: [{ item_id: id, quantity: 1 }], shipping_address: 'x' })
      ).json()) as Order;
      const { db } = await sharedDatabase();
      await db.updateTable('items').set({ price: '99.00' }).where('id', '=', id).execute();
      await db.deleteFrom('items').where('id', '=', id).execute();
      const res = await t.fetch(`/orders/${placed.id}`, { headers: buyer.headers });
      const again = (await res.json()) as Order;
      expect(again.total).to.equal(10);
      expect(again.lines).to.deep.equal([
        { item_id: null, name: 'Lamp', unit_price: 10, tax: null, quantity: 1, line_total: 10 },
      ]);
    });
  });

  describe('Idempotency-Key', () => {
    const body = async (): Promise<unknown> => ({
      items: [{ item_id: await item('5.00'), quantity: 1 }],
      shipping_address: 'x',
    });

    it('answers a retry with the first response and places one order', async () => {
      const request = await body();
      const first = await order(request, { 'Idempotency-Key': 'key-1' });
      const second = await order(request, { 'Idempotency-Key': 'key-1' });
      expect(first.status).to.equal(201);
      expect(second.status).to.equal(201);
      expect(second.headers.get('idempotent-replayed')).to.equal('true');
      expect(second.headers.get('location')).to.equal(first.headers.get('location'));
      expect(await second.json()).to.deep.equal(await first.json());
      expect((await counts()).orders).to.equal(1);
    });

    it('treats the same body with its keys in another order as the same request', async () => {
      const id = await item('5.00');
      await order(
        { items: [{ item_id: id, quantity: 1 }], shipping_address: 'x' },
        { 'Idempotency-Key': 'k' },
      );
      const res = await order(
        { shipping_address: 'x', items: [{ quantity: 1, item_id: id }] },
        { 'Idempotency-Key': 'k' },
      );
      expect(res.status).to.equal(201);
      expect((await counts()).orders).to.equal(1);
    });

    it('answers 409 for the same key with another body', async () => {
      const request = (await body()) as { items: unknown[]; shipping_address: string };
      expect((await order(request, { 'Idempotency-Key': 'key-2' })).status).to.equal(201);
      const res = await order({ ...request, shipping_address: 'elsewhere' }, { 'Idempotency-Key': 'key-2' });
      await expectProblem(res, 409, 'idempotency-key-reused');
      expect((await counts()).orders).to.equal(1);
    });

    it('creates exactly one order for 20 concurrent requests with one key', async function () {
      this.timeout(60_000);
      const request = await body();
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => order(request, { 'Idempotency-Key': 'storm' })),
      );
      const bodies = (await Promise.all(answers.map((res) => res.json()))) as Order[];
      expect(answers.map((res) => res.status)).to.deep.equal(Array(20).fill(201));
      expect(new Set(bodies.map((b) => b.id)).size).to.equal(1);
      expect(answers.filter((res) => res.headers.get('idempotent-replayed') === 'false')).to.have.length(1);
      expect(await counts()).to.deep.equal({ orders: 1, lines: 1 });
    });

    it('scopes keys to the user', async () => {
      const request = await body();
      const other = await seedUser();
      expect((await order(request, { 'Idempotency-Key': 'shared' })).status).to.equal(201);
      const res = await postJson(t, '/orders', request, {
        ...bearer(tokenFor(t, other.id)),
        'Idempotency-Key': 'shared',
      });
      expect(res.headers.get('idempotent-replayed')).to.equal('false');
      expect((await counts()).orders).to.equal(2);
    });

    it('does not keep a key whose request failed, so a corrected retry works', async () => {
      const bad = { items: [{ item_id: 999999, quantity: 1 }], shipping_address: 'x' };
      expect((await order(bad, { 'Idempotency-Key': 'retry' })).status).to.equal(422);
      expect((await order(bad, { 'Idempotency-Key': 'retry' })).status).to.equal(422);
      expect((await counts()).orders).to.equal(0);
    });

    it('forgets keys after IDEMPOTENCY_TTL_SECONDS', async () => {
      const short = await startApp({ IDEMPOTENCY_TTL_SECONDS: '1' });
      try {
        const request = await body();
        const send = (): Promise<Response> =>
          postJson(short, '/orders', request, { ...buyer.headers, 'Idempotency-Key': 'ttl' });
        expect((await send()).status).to.equal(201);
        await new Promise((resolve) => setTimeout(resolve, 1100));
        const res = await send();
        expect(res.headers.get('idempotent-replayed')).to.equal('false');
        expect((await counts()).orders).to.equal(2);
      } finally {
        await short.close();
      }
    });

    it('answers 422 for a key with spaces or over 255 characters', async () => {
      const request = await body();
      expect((await order(request, { 'Idempotency-Key': 'a b' })).status).to.equal(422);
      expect((await order(request, { 'Idempotency-Key': 'k'.repeat(256) })).status).to.equal(422);
    });
  });

  describe('listOrders and getOrder', () => {
    it('lists your own orders newest first; an admin sees all and may filter', async () => {
      const id = await item('1.00');
      const other = await seedUser();
      const mine = [];
      for (let i = 0; i < 3; i += 1) {
        mine.push(
          (
            (await (
              await order({ items: [{ item_id: id, quantity: i + 1 }], shipping_address: 'x' })
            ).json()) as Order
          ).id,
        );
      }
      await postJson(
        t,
        '/orders',
        { items: [{ item_id: id, quantity: 1 }], shipping_address: 'y' },
        bearer(tokenFor(t, other.id)),
      );

      const page = (await (await t.fetch('/orders', { headers: buyer.headers })).json()) as {
        items: { id: number; line_count: number }[];
        total: number;
      };
      expect(page.total).to.equal(3);
      expect(page.items.map((o) => o.id)).to.deep.equal([...mine].reverse());
      expect(page.items[0]?.line_count).to.equal(1);

      const admin = bearer(tokenFor(t, (await seedUser({ role: 'admin' })).id));
      expect(
        ((await (await t.fetch('/orders', { headers: admin })).json()) as { total: number }).total,
      ).to.equal(4);
      const filtered = (await (await t.fetch(`/orders?user_id=${other.id}`, { headers: admin })).json()) as {
        total: number;
      };
      expect(filtered.total).to.equal(1);
    });

    it("answers 403 when a non-admin filters on someone else's orders", async () => {
      const other = await seedUser();
      expect((await t.fetch(`/orders?user_id=${other.id}`, { headers: buyer.headers })).status).to.equal(403);
      expect((await t.fetch(`/orders?user_id=${buyer.id}`, { headers: buyer.headers })).status).to.equal(200);
    });

    it("answers 404 for someone else's order, and the order with its lines to its buyer and admins", async () => {
      const id = await item('2.50', '0.2');
      const placed = (await (
        await order({ items: [{ item_id: id, quantity: 4 }], shipping_address: 'x' })
      ).json()) as Order;
      const other = await seedUser();
      expect(
        (await t.fetch(`/orders/${placed.id}`, { headers: bearer(tokenFor(t, other.id)) })).status,
      ).to.equal(404);
      const mine = (await (
        await t.fetch(`/orders/${placed.id}`, { headers: buyer.headers })
      ).json()) as Order;
      expect(mine).to.deep.equal(placed);
      const admin = bearer(tokenFor(t, (await seedUser({ role: 'admin' })).id));
      expect((await t.fetch(`/orders/${placed.id}`, { headers: admin })).status).to.equal(200);
      expect((await t.fetch('/orders/999999', { headers: admin })).status).to.equal(404);
    });
  });
});
