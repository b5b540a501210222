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
import { bearer, seedUser, tokenFor, violations } from '../helpers/users.js';
import { expectAnswer } from '../helpers/client.js';
import type { ClientAnswer } from '../helpers/client.js';
import type { components } from '../../generated/openapi.js';

/** The URL in a `Link: <url>; rel="next"` header, or null without one. */
function nextLink(res: Response): string | null {
  const link = res.headers.get('link');
  if (link === null) return null;
  const match = /^<([^<>]+)>; rel="next"$/.exec(link);
  if (match?.[1] === undefined) throw new Error(`not a next link: ${link}`);
  return match[1];
}

/** A `Link: <url>; rel="next"` URL, and the path of the answer that carried it. */
interface NextLink {
  readonly url: string;
  readonly path: string;
}

/**
 * Request options that send the query of the answer's `Link: rel="next"` exactly as the server wrote it
 * (its path checked to be the list's own); an empty object for the first page.
 */
function follow(link: NextLink | undefined): { querySerializer?: () => string } {
  if (link === undefined) return {};
  const url = new URL(link.url, 'http://x');
  expect(url.pathname, 'the Link stays on the same list').to.equal(link.path);
  return { querySerializer: () => url.search.slice(1) };
}

/** The next-page Link of an answer, with the path it was answered on, for `follow`. */
function linkOf(res: Response): NextLink | undefined {
  const url = nextLink(res);
  return url === null ? undefined : { url, path: new URL(res.url).pathname };
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

  /**
   * Follows Link headers from the first page (`get()`) to the end; the pages, checked to agree with next_cursor.
   * `get(link)` requests the list with `follow(link)`.
   */
  async function walk<P extends components['schemas']['PageMeta']>(
    get: (link?: NextLink) => Promise<ClientAnswer<P>>,
  ): Promise<P[]> {
    const pages: P[] = [];
    let link: NextLink | undefined;
    do {
      const answer = await get(link);
      const page = expectAnswer(answer, 200);
      pages.push(page);
      link = linkOf(answer.response);
      expect(link === undefined).to.equal(page.next_cursor === null);
      if (link !== undefined)
        expect(new URL(link.url, 'http://x').searchParams.get('cursor')).to.equal(page.next_cursor);
      expect(pages.length).to.be.below(50);
    } while (link !== undefined);
    return pages;
  }

  const listItems = (query: { limit?: number; q?: string }) => (link?: NextLink) =>
    t.api.GET('/items', { params: { query }, ...follow(link) });

  describe('cursor', () => {
    it('walks every item once, newest first, by following Link; the last page has no cursor', async () => {
      await seedItems(
        owner.id,
        ['a', 'b', 'c', 'd', 'e'].map((n) => `Item ${n}`),
      );
      const pages = await walk(listItems({ limit: 2 }));
      expect(pages.map((p) => p.items.map((i) => i.name))).to.deep.equal([
        ['Item e', 'Item d'],
        ['Item c', 'Item b'],
        ['Item a'],
      ]);
      for (const page of pages) expect(page).to.include({ total: 5, total_capped: false, limit: 2, skip: 0 });
    });

    it('has no next page when the last page is exactly full', async () => {
      await seedItems(owner.id, ['w', 'x', 'y', 'z']);
      const pages = await walk(listItems({ limit: 2 }));
      expect(pages.map((p) => p.items.length)).to.deep.equal([2, 2]);
      expect(pages[1]?.next_cursor).to.equal(null);
    });

    it('keeps the search in the Link and pages only its matches', async () => {
      await seedItems(owner.id, ['Red lamp', 'Blue chair', 'Green lamp', 'Lamp shade', 'Table']);
      const pages = await walk(listItems({ q: 'lamp', limit: 2 }));
      expect(pages.flatMap((p) => p.items.map((i) => i.name))).to.deep.equal([
        'Lamp shade',
        'Green lamp',
        'Red lamp',
      ]);
      expect(pages[0]?.total).to.equal(3);
    });

    it('does not skip or repeat entries when rows are added while paging', async () => {
      await seedItems(owner.id, ['1', '2', '3', '4']);
      const first = await listItems({ limit: 2 })();
      const page = expectAnswer(first, 200);
      await seedItems(owner.id, ['5', '6']);
      const second = expectAnswer(await listItems({ limit: 2 })(linkOf(first.response)), 200);
      expect([...page.items, ...second.items].map((i) => i.name)).to.deep.equal(['4', '3', '2', '1']);
    });

    it('applies skip after the cursor position', async () => {
      await seedItems(owner.id, ['1', '2', '3', '4', '5']);
      const first = expectAnswer(await t.api.GET('/items', { params: { query: { limit: 1 } } }), 200);
      const res = await t.api.GET('/items', {
        params: { query: { limit: 2, skip: 1, cursor: first.next_cursor ?? '' } },
      });
      const page = expectAnswer(res, 200);
      expect(page.items.map((i) => i.name)).to.deep.equal(['3', '2']);
      expect(page.skip).to.equal(1);
    });

    it('refuses a cursor made for another search with a 422 on /cursor', async () => {
      await seedItems(owner.id, ['Red lamp', 'Green lamp', 'Blue lamp']);
      const page = expectAnswer(
        await t.api.GET('/items', { params: { query: { q: 'lamp', limit: 1 } } }),
        200,
      );
      const cursor = page.next_cursor ?? '';
      const other = await t.api.GET('/items', { params: { query: { q: 'Red', limit: 1, cursor } } });
      expect(await violations(other)).to.deep.equal(['query /cursor cursor']);
      const unfiltered = await t.api.GET('/items', { params: { query: { limit: 1, cursor } } });
      expect(await violations(unfiltered)).to.deep.equal(['query /cursor cursor']);
    });

    it('refuses a cursor made for another list', async () => {
      await seedItems(owner.id, ['1', '2']);
      const page = expectAnswer(await t.api.GET('/items', { params: { query: { limit: 1 } } }), 200);
      const res = await t.api.GET('/files', {
        params: { query: { cursor: page.next_cursor ?? '' } },
        headers: bearer(owner.token),
      });
      expect(await violations(res)).to.deep.equal(['query /cursor cursor']);
    });

    it('refuses an altered, made-up or malformed cursor with a 422, never a 500', async () => {
      await seedItems(owner.id, ['1', '2', '3']);
      const page = expectAnswer(await t.api.GET('/items', { params: { query: { limit: 1 } } }), 200);
      const [payload = '', signature = ''] = (page.next_cursor ?? '').split('.');
      const forged = Buffer.from(JSON.stringify([1])).toString('base64url');
      const flipped = `${payload.slice(0, -1)}${payload.endsWith('A') ? 'B' : 'A'}`;
      for (const cursor of [
        `${forged}.${signature}`,
        `${flipped}.${signature}`,
        `${payload}.${signature.slice(1)}`,
        `${payload}.AAAAAAAAAAAAAAAAAAAAAA`,
      ]) {
        const res = await t.api.GET('/items', { params: { query: { cursor } } });
        expect(await violations(res), cursor).to.deep.equal(['query /cursor cursor']);
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
        const res = await t.api.POST('/orders', { body, headers: bearer(owner.token) });
        expect(res.response.status).to.equal(201);
      }
      const headers = bearer(tokenFor(t, admin.id));
      const pages = await walk((link) =>
        t.api.GET('/orders', {
          params: { query: { user_id: owner.id, limit: 2 } },
          headers,
          ...follow(link),
        }),
      );
      expect(pages.flatMap((p) => p.items).length).to.equal(3);
      const cursor = pages[0]?.next_cursor ?? '';
      const res = await t.api.GET('/orders', { params: { query: { cursor } }, headers });
      expect(await violations(res)).to.deep.equal(['query /cursor cursor']);
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
      const pages = await walk((link) =>
        t.api.GET('/users/{user_id}/activity', {
          params: { path: { user_id: owner.id }, query: { limit: 1 } },
          headers: bearer(owner.token),
          ...follow(link),
        }),
      );
      expect(pages.flatMap((p) => p.items.map((i) => i.id))).to.deep.equal([ids[2], ids[1], ids[0], ids[3]]);
    });

    it('pages users, files and room messages by cursor too', async () => {
      const admin = await seedUser({ role: 'admin' });
      await seedUser();
      const users = await walk((link) =>
        t.api.GET('/users', {
          params: { query: { limit: 1 } },
          headers: bearer(tokenFor(t, admin.id)),
          ...follow(link),
        }),
      );
      expect(users.length).to.equal(3);
      const { db } = await sharedDatabase();
      for (let i = 0; i < 3; i += 1) {
        await db
          .insertInto('chat_messages')
          .values({ room: 'general', user_id: owner.id, text: `hi ${i}` })
          .execute();
      }
      const messages = await walk((link) =>
        t.api.GET('/rooms/{room}/messages', {
          params: { path: { room: 'general' }, query: { limit: 2 } },
          headers: bearer(owner.token),
          ...follow(link),
        }),
      );
      expect(messages.map((p) => p.items.length)).to.deep.equal([2, 1]);
      const files = await walk((link) =>
        t.api.GET('/files', {
          params: { query: { limit: 2 } },
          headers: bearer(owner.token),
          ...follow(link),
        }),
      );
      expect(files.map((p) => p.items.length)).to.deep.equal([0]);
    });
  });

  describe('skip', () => {
    it('answers 422 above 10,000 and accepts 10,000', async () => {
      expect(await violations(await t.fetch('/items?skip=10001'))).to.deep.equal(['query /skip maximum']);
      const res = await t.api.GET('/items', { params: { query: { skip: 10000 } } });
      expect(expectAnswer(res, 200).items).to.deep.equal([]);
    });
  });

  describe('total', () => {
    it(`counts exactly up to ${COUNT_CAP} and says total_capped above it`, async () => {
      const { db } = await sharedDatabase();
      await sql`insert into items (owner_id, name, price)
        select ${owner.id}, 'Item ' || g, 1 from generate_series(1, ${COUNT_CAP}) as g`.execute(db);
      const exact = (await t.api.GET('/items', { params: { query: { limit: 1 } } })).data;
      expect(exact).to.include({ total: COUNT_CAP, total_capped: false });
      await seedItems(owner.id, ['one more']);
      const capped = (await t.api.GET('/items', { params: { query: { limit: 1 } } })).data;
      expect(capped).to.include({ total: COUNT_CAP, total_capped: true });
      const search = (await t.api.GET('/items', { params: { query: { q: 'more' } } })).data;
      expect(search).to.include({ total: 1, total_capped: false });
    });

    it(`pages and counts a search exactly up to ${COUNT_CAP} matches, and newest first above it`, async () => {
      const { db } = await sharedDatabase();
      await sql`insert into items (owner_id, name, price)
        select ${owner.id}, 'Item ' || g, 1 from generate_series(1, ${COUNT_CAP}) as g`.execute(db);
      const search = async (query: { q: string; limit: number; skip?: number }) =>
        expectAnswer(await t.api.GET('/items', { params: { query } }), 200);
      const exact = await search({ q: 'item', limit: 3 });
      expect(exact).to.include({ total: COUNT_CAP, total_capped: false });
      expect(exact.items.map((item) => item.name)).to.deep.equal(['Item 10000', 'Item 9999', 'Item 9998']);
      const deep = await search({ q: 'item', limit: 2, skip: COUNT_CAP - 1 });
      expect(deep.items.map((item) => item.name)).to.deep.equal(['Item 1']);
      expect(deep.next_cursor).to.equal(null);
      await seedItems(owner.id, ['Item newest']);
      const capped = await search({ q: 'item', limit: 2 });
      expect(capped).to.include({ total: COUNT_CAP, total_capped: true });
      expect(capped.items.map((item) => item.name)).to.deep.equal(['Item newest', 'Item 10000']);
      const none = await search({ q: 'no such thing', limit: 2 });
      expect(none).to.include({ total: 0, total_capped: false });
    });
  });
});
