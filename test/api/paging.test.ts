/**
 * Paging shared by every list: `cursor` / `next_cursor` / `Link: rel="next"`,
 * the cap on `skip`, and the capped count (`total_capped`).
 */
import { expect } from 'chai';
import { sql } from 'kysely';
import { insertActivity } from '../../src/db/repos/activity.repo.js';
import { COUNT_CAP } from '../../src/db/repos/paging.js';
import { resetDatabase, sharedDatabase, startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { bearer, postJson, seedUser, tokenFor, violations } from '../helpers/users.js';

interface Page {
  items: { id: number; name?: string; kind?: string }[];
  total: number;
  total_capped: boolean;
  skip: number;
  limit: number;
  next_cursor: string | null;
}

/** The URL in a `Link: <url>; rel="next"` header, or null without one. */
function nextLink(res: Response): string | null {
  const link = res.headers.get('link');
  if (link === null) return null;
  const match = /^<([^<>]+)>; rel="next"$/.exec(link);
  if (match?.[1] === undefined) throw new Error(`not a next link: ${link}`);
  return match[1];
}

async function seedItems(ownerId: number, names: readonly string[]): Promise<void> {
  const { db } = await sharedDatabase();
  for (const name of names) {
    await db.insertInto('items').values({ owner_id: ownerId, name, price: 1 }).execute();
  }
}

describe('paging', () => {
  let t: TestApp;
  let owner: { id: number; token: string };
  before(async () => {
    t = await startApp();
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await resetDatabase();
    const user = await seedUser();
    owner = { id: user.id, token: tokenFor(t, user.id) };
  });

  /** Follows Link headers from `first` to the end; the pages, checked to agree with next_cursor. */
  async function walk(first: string, headers: Record<string, string> = {}): Promise<Page[]> {
    const pages: Page[] = [];
    let url: string | null = first;
    while (url !== null) {
      const res = await t.fetch(url, { headers });
      expect(res.status, await res.clone().text()).to.equal(200);
      const page = (await res.json()) as Page;
      pages.push(page);
      url = nextLink(res);
      expect(url === null).to.equal(page.next_cursor === null);
      if (url !== null)
        expect(new URL(url, 'http://x').searchParams.get('cursor')).to.equal(page.next_cursor);
      expect(pages.length).to.be.below(50);
    }
    return pages;
  }

  describe('cursor', () => {
    it('walks every item once, newest first, by following Link; the last page has no cursor', async () => {
      await seedItems(
        owner.id,
        ['a', 'b', 'c', 'd', 'e'].map((n) => `Item ${n}`),
      );
      const pages = await walk('/items?limit=2');
      expect(pages.map((p) => p.items.map((i) => i.name))).to.deep.equal([
        ['Item e', 'Item d'],
        ['Item c', 'Item b'],
        ['Item a'],
      ]);
      for (const page of pages) expect(page).to.include({ total: 5, total_capped: false, limit: 2, skip: 0 });
    });

    it('has no next page when the last page is exactly full', async () => {
      await seedItems(owner.id, ['w', 'x', 'y', 'z']);
      const pages = await walk('/items?limit=2');
      expect(pages.map((p) => p.items.length)).to.deep.equal([2, 2]);
      expect(pages[1]?.next_cursor).to.equal(null);
    });

    it('keeps the search in the Link and pages only its matches', async () => {
      await seedItems(owner.id, ['Red lamp', 'Blue chair', 'Green lamp', 'Lamp shade', 'Table']);
      const pages = await walk('/items?q=lamp&limit=2');
      expect(pages.flatMap((p) => p.items.map((i) => i.name))).to.deep.equal([
        'Lamp shade',
        'Green lamp',
        'Red lamp',
      ]);
      expect(pages[0]?.total).to.equal(3);
    });

    it('does not skip or repeat entries when rows are added while paging', async () => {
      await seedItems(owner.id, ['1', '2', '3', '4']);
      const first = await t.fetch('/items?limit=2');
      const page = (await first.json()) as Page;
      await seedItems(owner.id, ['5', '6']);
      const second = (await (await t.fetch(nextLink(first) ?? '')).json()) as Page;
      expect([...page.items, ...second.items].map((i) => i.name)).to.deep.equal(['4', '3', '2', '1']);
    });

    it('applies skip after the cursor position', async () => {
      await seedItems(owner.id, ['1', '2', '3', '4', '5']);
      const first = (await (await t.fetch('/items?limit=1')).json()) as Page;
      const res = await t.fetch(`/items?limit=2&skip=1&cursor=${first.next_cursor ?? ''}`);
      const page = (await res.json()) as Page;
      expect(page.items.map((i) => i.name)).to.deep.equal(['3', '2']);
      expect(page.skip).to.equal(1);
    });

    it('refuses a cursor made for another search with a 422 on /cursor', async () => {
      await seedItems(owner.id, ['Red lamp', 'Green lamp', 'Blue lamp']);
      const page = (await (await t.fetch('/items?q=lamp&limit=1')).json()) as Page;
      const cursor = page.next_cursor ?? '';
      expect(await violations(await t.fetch(`/items?q=Red&limit=1&cursor=${cursor}`))).to.deep.equal([
        'query /cursor cursor',
      ]);
      expect(await violations(await t.fetch(`/items?limit=1&cursor=${cursor}`))).to.deep.equal([
        'query /cursor cursor',
      ]);
    });

    it('refuses a cursor made for another list', async () => {
      await seedItems(owner.id, ['1', '2']);
      const page = (await (await t.fetch('/items?limit=1')).json()) as Page;
      const res = await t.fetch(`/files?cursor=${page.next_cursor ?? ''}`, { headers: bearer(owner.token) });
      expect(await violations(res)).to.deep.equal(['query /cursor cursor']);
    });

    it('refuses an altered, made-up or malformed cursor with a 422, never a 500', async () => {
      await seedItems(owner.id, ['1', '2', '3']);
      const page = (await (await t.fetch('/items?limit=1')).json()) as Page;
      const [payload = '', signature = ''] = (page.next_cursor ?? '').split('.');
      const forged = Buffer.from(JSON.stringify([1])).toString('base64url');
      const flipped = `${payload.slice(0, -1)}${payload.endsWith('A') ? 'B' : 'A'}`;
      for (const cursor of [
        `${forged}.${signature}`,
        `${flipped}.${signature}`,
        `${payload}.${signature.slice(1)}`,
        `${payload}.AAAAAAAAAAAAAAAAAAAAAA`,
      ]) {
        expect(await violations(await t.fetch(`/items?cursor=${cursor}`)), cursor).to.deep.equal([
          'query /cursor cursor',
        ]);
      }
      for (const cursor of ['nodot', '..', `${payload}.${signature}.x`, 'a%20b.c', 'x'.repeat(401)]) {
        const res = await t.fetch(`/items?cursor=${cursor}`);
        expect(res.status, cursor).to.equal(422);
        expect((await violations(res))[0], cursor).to.match(/^query \/cursor /);
      }
    });

    it("binds an admin's orders cursor to its user_id filter", async () => {
      const admin = await seedUser({ role: 'admin' });
      await seedItems(owner.id, ['Pen']);
      const { db } = await sharedDatabase();
      const item = await db.selectFrom('items').select('id').executeTakeFirstOrThrow();
      for (let i = 0; i < 3; i += 1) {
        const body = { items: [{ item_id: item.id, quantity: 1 }], shipping_address: 'here' };
        expect((await postJson(t, '/orders', body, bearer(owner.token))).status).to.equal(201);
      }
      const headers = bearer(tokenFor(t, admin.id));
      const pages = await walk(`/orders?user_id=${owner.id}&limit=2`, headers);
      expect(pages.flatMap((p) => p.items).length).to.equal(3);
      const cursor = pages[0]?.next_cursor ?? '';
      expect(await violations(await t.fetch(`/orders?cursor=${cursor}`, { headers }))).to.deep.equal([
        'query /cursor cursor',
      ]);
    });

    it('pages the activity log by time, ties broken by id', async () => {
      const { db } = await sharedDatabase();
      const times = [
        '2026-11-28T09:00:00Z',
        '2026-11-28T09:05:00Z',
        '2026-11-28T09:05:00Z',
        '2026-11-28T08:00:00Z',
      ];
      let jobId = 5000;
      for (const at of times) {
        jobId += 1;
        await insertActivity(db, {
          userId: owner.id,
          kind: 'login',
          details: { ip: '192.0.2.1' },
          occurredAt: new Date(at),
          jobId,
        });
      }
      const rows = await db.selectFrom('activity').select('id').orderBy('id').execute();
      const ids = rows.map((r) => r.id);
      const pages = await walk(`/users/${owner.id}/activity?limit=1`, bearer(owner.token));
      expect(pages.flatMap((p) => p.items.map((i) => i.id))).to.deep.equal([ids[2], ids[1], ids[0], ids[3]]);
    });

    it('pages users, files and room messages by cursor too', async () => {
      const admin = await seedUser({ role: 'admin' });
      await seedUser();
      const users = await walk('/users?limit=1', bearer(tokenFor(t, admin.id)));
      expect(users.length).to.equal(3);
      const { db } = await sharedDatabase();
      for (let i = 0; i < 3; i += 1) {
        await db
          .insertInto('chat_messages')
          .values({ room: 'general', user_id: owner.id, text: `hi ${i}` })
          .execute();
      }
      const messages = await walk('/rooms/general/messages?limit=2', bearer(owner.token));
      expect(messages.map((p) => p.items.length)).to.deep.equal([2, 1]);
      const files = await walk('/files?limit=2', bearer(owner.token));
      expect(files.map((p) => p.items.length)).to.deep.equal([0]);
    });
  });

  describe('skip', () => {
    it('answers 422 above 10,000 and accepts 10,000', async () => {
      expect(await violations(await t.fetch('/items?skip=10001'))).to.deep.equal(['query /skip maximum']);
      const res = await t.fetch('/items?skip=10000');
      expect(res.status).to.equal(200);
      expect(((await res.json()) as Page).items).to.deep.equal([]);
    });
  });

  describe('total', () => {
    it(`counts exactly up to ${COUNT_CAP} and says total_capped above it`, async () => {
      const { db } = await sharedDatabase();
      await sql`insert into items (owner_id, name, price)
        select ${owner.id}, 'Item ' || g, 1 from generate_series(1, ${COUNT_CAP}) as g`.execute(db);
      const exact = (await (await t.fetch('/items?limit=1')).json()) as Page;
      expect(exact).to.include({ total: COUNT_CAP, total_capped: false });
      await seedItems(owner.id, ['one more']);
      const capped = (await (await t.fetch('/items?limit=1')).json()) as Page;
      expect(capped).to.include({ total: COUNT_CAP, total_capped: true });
      const search = (await (await t.fetch('/items?q=more')).json()) as Page;
      expect(search).to.include({ total: 1, total_capped: false });
    });
  });
});
