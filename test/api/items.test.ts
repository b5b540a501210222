import { expect } from 'chai';
import { countRows, resetDatabase, sharedDatabase, startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { bearer, postJson, seedUser, tokenFor, violations } from '../helpers/users.js';
import { expectAnswer } from '../helpers/client.js';
import { expectProblem } from '../helpers/problems.js';
import type { components } from '../../generated/openapi.js';

type Item = components['schemas']['Item'];
type NewItem = components['schemas']['ItemCreate'];

describe('items', () => {
  let t: TestApp;
  let seller: { id: number; token: string };
  before(async () => {
    t = await startApp();
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await resetDatabase();
    const user = await seedUser();
    seller = { id: user.id, token: tokenFor(t, user.id) };
  });

  const create = async (body: NewItem, token = seller.token): Promise<Item> =>
    expectAnswer(await t.api.POST('/items', { body, headers: bearer(token) }), 201);

  describe('createItem', () => {
    it('creates an item owned by the caller, with a Location', async () => {
      const answer = await t.api.POST('/items', {
        body: { name: 'Keyboard', price: 59.9, tax: 0.1 },
        headers: bearer(seller.token),
      });
      const item = expectAnswer(answer, 201);
      expect(answer.response.headers.get('location')).to.equal(`/items/${item.id}`);
      expect(item).to.include({
        owner_id: seller.id,
        name: 'Keyboard',
        price: 59.9,
        tax: 0.1,
        description: null,
      });
    });

    it('keeps money exact: 19.99 and 0.0825 come back as sent and are stored as numeric', async () => {
      const item = await create({ name: 'Pen', price: 19.99, tax: 0.0825 });
      expect(item).to.include({ price: 19.99, tax: 0.0825 });
      const { db } = await sharedDatabase();
      const row = await db.selectFrom('items').select(['price', 'tax']).executeTakeFirstOrThrow();
      expect(row).to.deep.equal({ price: '19.99', tax: '0.0825' });
    });

    const rules: [string, Record<string, unknown>, string[]][] = [
      ['an empty name', { name: '' }, ['body /name minLength']],
      ['a 201-character name', { name: 'x'.repeat(201) }, ['body /name maxLength']],
      ['a zero price', { price: 0 }, ['body /price exclusiveMinimum']],
      ['a negative price', { price: -1 }, ['body /price exclusiveMinimum']],
      ['a price with three decimals', { price: 1.005 }, ['body /price multipleOf']],
      ['a price sent as a string', { price: '10.00' }, ['body /price type']],
      ['a tax over 1', { tax: 1.5 }, ['body /tax maximum']],
      ['a negative tax', { tax: -0.1 }, ['body /tax minimum']],
      ['an owner in the body', { owner_id: 99 }, ['body /owner_id additionalProperties']],
    ];
    for (const [what, change, expected] of rules) {
      it(`answers 422 for ${what}, and writes nothing`, async () => {
        const res = await postJson(
          t,
          '/items',
          { name: 'Keyboard', price: 10, ...change },
          bearer(seller.token),
        );
        expect(await violations(res)).to.deep.equal(expected);
        expect(await countRows('items')).to.equal(0);
      });
    }

    it('is not for guests (403)', async () => {
      const guest = await seedUser({ role: 'guest' });
      const res = await t.api.POST('/items', {
        body: { name: 'Keyboard', price: 10 },
        headers: bearer(tokenFor(t, guest.id)),
      });
      await expectProblem(res, 403, 'forbidden');
    });
  });

  describe('listItems', () => {
    it('pages newest first with the total', async () => {
      for (let i = 1; i <= 5; i += 1) await create({ name: `Item ${i}`, price: i });
      const { data: page } = await t.api.GET('/items', { params: { query: { skip: 1, limit: 2 } } });
      expect(page).to.include({ total: 5, skip: 1, limit: 2 });
      expect(page?.items.map((i) => i.name)).to.deep.equal(['Item 4', 'Item 3']);
    });

    it('searches name and description case-insensitively, with the total of matches', async () => {
      await create({ name: 'Mechanical KEYBOARD', price: 1 });
      await create({ name: 'Mouse', description: 'pairs with any keyboard', price: 1 });
      await create({ name: 'Monitor', price: 1 });
      const { data: page } = await t.api.GET('/items', { params: { query: { q: 'Keyboard' } } });
      expect(page?.total).to.equal(2);
      expect(page?.items.map((i) => i.name)).to.have.members(['Mechanical KEYBOARD', 'Mouse']);
    });

    it('matches % and _ literally', async () => {
      await create({ name: '100% cotton', price: 1 });
      await create({ name: '1000 cotton', price: 1 });
      const { data: page } = await t.api.GET('/items', { params: { query: { q: '0% c' } } });
      expect(page?.total).to.equal(1);
      const { data: none } = await t.api.GET('/items', { params: { query: { q: '___' } } });
      expect(none?.total).to.equal(0);
    });

    it('matches within name or within description, never across the two', async () => {
      await create({ name: 'Oak desk', description: 'Lamp included', price: 1 });
      await create({ name: 'Lamp', description: 'with a\nline break', price: 1 });
      const search = async (q: string) =>
        (await t.api.GET('/items', { params: { query: { q } } })).data?.items.map((i) => i.name);
      expect(await search('desk\nlamp')).to.deep.equal([]);
      expect(await search('oak desk')).to.deep.equal(['Oak desk']);
      expect(await search('A\nLINE')).to.deep.equal(['Lamp']);
    });

    it('answers 422 for q shorter than 3 or longer than 50, and for a bad limit', async () => {
      expect(await violations(await t.fetch('/items?q=ab'))).to.deep.equal(['query /q minLength']);
      expect(await violations(await t.fetch(`/items?q=${'x'.repeat(51)}`))).to.deep.equal([
        'query /q maxLength',
      ]);
      expect(await violations(await t.fetch('/items?limit=101'))).to.deep.equal(['query /limit maximum']);
    });
  });

  describe('getItem', () => {
    it('answers the item, or 404', async () => {
      const item = await create({ name: 'Keyboard', price: 10 });
      const found = await t.api.GET('/items/{item_id}', { params: { path: { item_id: item.id } } });
      expect(found.data).to.include({ id: item.id });
      const missing = await t.api.GET('/items/{item_id}', { params: { path: { item_id: 999999 } } });
      await expectProblem(missing, 404, 'not-found');
    });
  });

  describe('updateItem', () => {
    const patch = (id: number, body: components['schemas']['ItemUpdate'], token: string) =>
      t.api.PATCH('/items/{item_id}', { params: { path: { item_id: id } }, body, headers: bearer(token) });

    it('changes only the fields sent; null clears description and tax', async () => {
      const item = await create({ name: 'Keyboard', description: 'old', price: 10, tax: 0.2 });
      const { data, response } = await patch(item.id, { price: 12.5, description: null }, seller.token);
      expect(response.status).to.equal(200);
      expect(data).to.include({ name: 'Keyboard', price: 12.5, description: null, tax: 0.2 });
    });

    it("answers 404 to someone else's item, and an admin may change it", async () => {
      const item = await create({ name: 'Keyboard', price: 10 });
      const other = await seedUser();
      await expectProblem(await patch(item.id, { price: 1 }, tokenFor(t, other.id)), 404, 'not-found');
      const admin = await seedUser({ role: 'admin' });
      expect((await patch(item.id, { price: 1 }, tokenFor(t, admin.id))).response.status).to.equal(200);
    });

    it('answers 422 for an empty change', async () => {
      const item = await create({ name: 'Keyboard', price: 10 });
      expect(await violations(await patch(item.id, {}, seller.token))).to.deep.equal(['body  minProperties']);
    });
  });

  describe('deleteItem', () => {
    it('deletes for the owner (204), then 404', async () => {
      const item = await create({ name: 'Keyboard', price: 10 });
      const path = { item_id: item.id };
      const del = () => t.api.DELETE('/items/{item_id}', { params: { path }, headers: bearer(seller.token) });
      expect((await del()).response.status).to.equal(204);
      await expectProblem(await t.api.GET('/items/{item_id}', { params: { path } }), 404, 'not-found');
      await expectProblem(await del(), 404, 'not-found');
    });

    it("answers 404 to someone else's item and keeps it", async () => {
      const item = await create({ name: 'Keyboard', price: 10 });
      const other = await seedUser();
      const res = await t.api.DELETE('/items/{item_id}', {
        params: { path: { item_id: item.id } },
        headers: bearer(tokenFor(t, other.id)),
      });
      await expectProblem(res, 404, 'not-found');
      expect(await countRows('items')).to.equal(1);
    });
  });

  describe('getUserItem', () => {
    it("answers the user's item; short=true leaves out the description", async () => {
      const item = await create({ name: 'Keyboard', description: 'clicky', price: 10 });
      const path = { user_id: seller.id, item_id: item.id };
      const full = await t.api.GET('/users/{user_id}/items/{item_id}', { params: { path } });
      expect(full.data).to.include({ id: item.id, description: 'clicky' });
      const short = await t.api.GET('/users/{user_id}/items/{item_id}', {
        params: { path, query: { short: true } },
      });
      expect(short.data).to.not.have.property('description');
      expect(short.data).to.include({ id: item.id, name: 'Keyboard' });
    });

    it("answers 404 when the item is not that user's, or does not match q", async () => {
      const item = await create({ name: 'Keyboard', price: 10 });
      const other = await seedUser();
      const get = (user_id: number, q?: string) =>
        t.api.GET('/users/{user_id}/items/{item_id}', {
          params: { path: { user_id, item_id: item.id }, query: q === undefined ? {} : { q } },
        });
      await expectProblem(await get(other.id), 404, 'not-found');
      await expectProblem(await get(seller.id, 'mouse'), 404, 'not-found');
      expect((await get(seller.id, 'KEY')).response.status).to.equal(200);
    });

    it('answers 422 for short that is not a boolean', async () => {
      const item = await create({ name: 'Keyboard', price: 10 });
      expect(
        await violations(await t.fetch(`/users/${seller.id}/items/${item.id}?short=maybe`)),
      ).to.deep.equal(['query /short type']);
    });
  });
});
