import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { loadSpec } from '../../src/contract/spec.js';
import { deleteUser, updateUser } from '../../src/db/repos/users.repo.js';
import { countRows, neverOpens, resetDatabase, sharedDatabase, startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { bearer, seedUser, tokenFor } from '../helpers/users.js';
import { openSocket, refusedUpgrade, wsUrl } from '../helpers/ws.js';
import type { TestSocket } from '../helpers/ws.js';
import { expectProblem } from '../helpers/problems.js';
import { expectAnswer } from '../helpers/client.js';

interface ChatFrame {
  type: string;
  message?: { id: number; room: string; user_id: number; text: string; sent_at: string };
  code?: string;
  detail?: string;
  errors?: { path: string; keyword: string }[];
  room?: string;
  user_id?: number;
}

interface Summary {
  type: string;
  joined: number[];
  left: number[];
  joined_count: number;
  left_count: number;
}

describe('realtime', () => {
  let t: TestApp;
  let sockets: TestSocket[] = [];
  const connect = async (path: string, userId: number, app: TestApp = t): Promise<TestSocket> => {
    const socket = await openSocket(wsUrl(app.url, path), { headers: bearer(tokenFor(app, userId)) });
    sockets.push(socket);
    return socket;
  };
  before(async () => {
    t = await startApp();
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await resetDatabase();
  });
  afterEach(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    sockets = [];
  });

  describe('connectEcho', () => {
    it("echoes to the sender and broadcasts to everyone with the guide's exact texts (three clients)", async () => {
      const user = await seedUser();
      const one = await connect('/ws/1', user.id);
      const two = await connect('/ws/2', user.id);
      const three = await connect('/ws/3', user.id);
      one.send('hello');
      expect(await one.next()).to.equal('Message text was: hello');
      expect(await one.next()).to.equal('Client #1 says: hello');
      expect(await two.next()).to.equal('Client #1 says: hello');
      expect(await three.next()).to.equal('Client #1 says: hello');
      three.send('bye');
      expect(await three.next()).to.equal('Message text was: bye');
      for (const s of [one, two, three]) expect(await s.next()).to.equal('Client #3 says: bye');
    });

    it('tells the others when a client leaves', async () => {
      const user = await seedUser();
      const one = await connect('/ws/1', user.id);
      const two = await connect('/ws/2', user.id);
      const three = await connect('/ws/3', user.id);
      await two.close();
      expect(await one.next()).to.equal('Client #2 left the chat');
      expect(await three.next()).to.equal('Client #2 left the chat');
    });

    it('answers a binary or too long frame with an error frame and stays open', async () => {
      const user = await seedUser();
      const one = await connect('/ws/7', user.id);
      one.ws.send(Buffer.from([1, 2, 3]));
      expect(await one.nextJson()).to.include({ type: 'error', code: 'binary_not_supported' });
      one.send('x'.repeat(1001));
      const error = await one.nextJson<ChatFrame>();
      expect(error).to.include({ type: 'error', code: 'invalid_frame' });
      expect(error.errors?.[0]).to.include({ path: '', keyword: 'maxLength' });
      one.send('still here');
      expect(await one.next()).to.equal('Message text was: still here');
    });

    it('closes with 1009 on a frame over maxPayload (64 KiB by default)', async () => {
      const user = await seedUser();
      const one = await connect('/ws/7', user.id);
      one.send('x'.repeat(64 * 1024 + 1));
      expect((await one.closed()).code).to.equal(1009);
    });

    it('answers a plain GET without the upgrade with 426', async () => {
      const user = await seedUser();
      const res = await t.api.GET('/ws/{client_id}', {
        params: { path: { client_id: 1 } },
        headers: bearer(tokenFor(t, user.id)),
      });
      await expectProblem(res, 426, 'upgrade-required');
      expect(res.response.headers.get('upgrade')).to.equal('websocket');
      expect(res.response.headers.get('content-type')).to.match(/^application\/problem\+json/);
    });

    it('answers a plain GET with an invalid path parameter with 422, like any operation', async () => {
      const user = await seedUser();
      for (const path of ['/ws/abc', '/ws/chat/no%20spaces']) {
        const res = await t.fetch(path, { headers: bearer(tokenFor(t, user.id)) });
        expect(res.status, path).to.equal(422);
        expect(res.headers.get('content-type'), path).to.match(/^application\/problem\+json/);
        const problem = await expectProblem(res, 422, 'validation-failed');
        expect(problem.errors?.[0]?.in, path).to.equal('path');
      }
    });
  });

  describe('upgrade checks (before the handshake)', () => {
    it('refuses an upgrade without a token with 401 problem+json and opens no socket', async () => {
      const refused = await refusedUpgrade(wsUrl(t.url, '/ws/chat/general'));
      expect(refused.opened).to.equal(false);
      await expectProblem(refused, 401, 'unauthorized');
      expect(refused.headers['www-authenticate']).to.equal('Bearer');
      expect(refused.headers['content-type']).to.match(/^application\/problem\+json/);
      expect(refused.headers['x-request-id']).to.be.a('string');
      expect(JSON.parse(refused.body)).to.include({
        status: 401,
        type: '/problems/unauthorized',
        title: 'Authentication required',
        instance: '/ws/chat/general',
      });
    });

    it('refuses a bad token, and the token of a deactivated account', async () => {
      const bad = await refusedUpgrade(wsUrl(t.url, '/ws/1'), { headers: bearer('not.a.token') });
      await expectProblem(bad, 401, 'unauthorized');
      const user = await seedUser();
      const token = tokenFor(t, user.id);
      await updateUser((await sharedDatabase()).db, user.id, { is_active: false });
      const inactive = await refusedUpgrade(wsUrl(t.url, `/ws/1?access_token=${token}`));
      await expectProblem(inactive, 401, 'unauthorized');
      expect(inactive.opened).to.equal(false);
    });

    it('accepts the token in the access_token query parameter', async () => {
      const user = await seedUser();
      const socket = await openSocket(wsUrl(t.url, `/ws/5?access_token=${tokenFor(t, user.id)}`));
      sockets.push(socket);
      socket.send('hi');
      expect(await socket.next()).to.equal('Message text was: hi');
    });

    it('refuses invalid path parameters with 400 before authenticating', async () => {
      for (const path of ['/ws/abc', '/ws/0', '/ws/chat/no%20spaces', `/ws/chat/${'r'.repeat(65)}`]) {
        const refused = await refusedUpgrade(wsUrl(t.url, path));
        expect(refused.status, path).to.equal(400);
        expect(JSON.parse(refused.body), path)
          .to.have.property('detail')
          .that.matches(/invalid parameter/);
      }
      const unknown = await refusedUpgrade(wsUrl(t.url, '/ws/chat/a/b'));
      await expectProblem(unknown, 404, 'route-not-found');
    });

    it("refuses a role the operation's x-roles does not list with 403 (a fixture contract narrows connectChat to admins)", async () => {
      const spec = loadSpec();
      const operations = spec.operations.map((op) =>
        op.operationId === 'connectChat' ? { ...op, roles: ['admin'] } : op,
      );
      const byId = new Map(operations.map((op) => [op.operationId, op]));
      const adminsOnly = await startApp({}, { spec: { ...spec, operations, byId } });
      try {
        const user = await seedUser();
        const admin = await seedUser({ role: 'admin' });
        const refused = await refusedUpgrade(wsUrl(adminsOnly.url, '/ws/chat/general'), {
          headers: bearer(tokenFor(adminsOnly, user.id)),
        });
        await expectProblem(refused, 403, 'forbidden');
        expect(refused.opened).to.equal(false);
        expect(JSON.parse(refused.body)).to.include({ status: 403, instance: '/ws/chat/general' });
        await connect('/ws/chat/general', admin.id, adminsOnly);
      } finally {
        await Promise.all(sockets.map((s) => s.close()));
        sockets = [];
        await adminsOnly.close();
      }
    });

    it('refuses upgrades with 503 and Retry-After while the database is still opening', async () => {
      const starting = await startApp({}, { database: neverOpens(), waitUntilReady: false });
      try {
        // A well-formed token: without the gate the upgrade would wait on the account lookup for ever.
        const headers = bearer(tokenFor(starting, 1));
        for (const path of ['/ws/chat/general', '/ws/1']) {
          const refused = await refusedUpgrade(wsUrl(starting.url, path), { headers });
          expect(refused.opened, path).to.equal(false);
          expect(refused.status, path).to.equal(503);
          expect(refused.headers['retry-after'], path).to.equal('1');
          expect(refused.headers['content-type'], path).to.match(/^application\/problem\+json/);
          expect(JSON.parse(refused.body), path).to.include({ status: 503, instance: path });
        }
      } finally {
        await starting.close();
      }
    });

    it('caps the connections per user with 429', async () => {
      const capped = await startApp({ WS_MAX_CONNECTIONS_PER_USER: '2' });
      try {
        const user = await seedUser();
        const other = await seedUser();
        await connect('/ws/chat/general', user.id, capped);
        await connect('/ws/1', user.id, capped);
        const refused = await refusedUpgrade(wsUrl(capped.url, '/ws/2'), {
          headers: bearer(tokenFor(capped, user.id)),
        });
        await expectProblem(refused, 429, 'too-many-connections');
        expect(refused.headers['retry-after']).to.match(/^\d+$/);
        // One count over both paths: the chat path is refused too.
        const chat = await refusedUpgrade(wsUrl(capped.url, '/ws/chat/general'), {
          headers: bearer(tokenFor(capped, user.id)),
        });
        await expectProblem(chat, 429, 'too-many-connections');
        expect(chat.opened).to.equal(false);
        await connect('/ws/3', other.id, capped);
      } finally {
        await Promise.all(sockets.map((s) => s.close()));
        sockets = [];
        await capped.close();
      }
    });
  });

  describe('rate limits', () => {
    it('counts upgrades under the operation policy and refuses one over it with 429', async () => {
      await resetDatabase();
      // RATE_LIMIT_FACTOR 0.01: the contract's default policy allows 6 calls a minute.
      const limited = await startApp({ RATE_LIMIT_FACTOR: '0.01' });
      try {
        const user = await seedUser();
        const auth = bearer(tokenFor(limited, user.id));
        for (let i = 0; i < 6; i++) await limited.api.GET('/users/me', { headers: auth });
        const refused = await refusedUpgrade(wsUrl(limited.url, '/ws/1'), { headers: auth });
        await expectProblem(refused, 429, 'rate-limited');
        expect(refused.opened).to.equal(false);
        expect(refused.headers['retry-after']).to.match(/^\d+$/);
        expect(refused.headers['ratelimit-policy']).to.equal('"default";q=6;w=60');
      } finally {
        await limited.close();
      }
    });
  });

  describe('connectChat', () => {
    it('stamps, stores and delivers a message to every member of the room and nobody else', async () => {
      const ann = await seedUser();
      const bob = await seedUser();
      const a = await connect('/ws/chat/general', ann.id);
      const b = await connect('/ws/chat/general', bob.id);
      const elsewhere = await connect('/ws/chat/random', bob.id);
      await elsewhere.nextJson(); // own join
      await a.until<ChatFrame>((f) => f.type === 'join' && f.user_id === bob.id);
      a.send(JSON.stringify({ type: 'message', text: 'Hello, everyone' }));
      const gotA = await a.until<ChatFrame>((f) => f.type === 'message');
      const gotB = await b.until<ChatFrame>((f) => f.type === 'message');
      expect(gotA).to.deep.equal(gotB);
      expect(gotA.message).to.include({ room: 'general', user_id: ann.id, text: 'Hello, everyone' });
      expect(gotA.message?.id).to.be.a('number');
      expect(Date.parse(gotA.message?.sent_at ?? '')).to.be.closeTo(Date.now(), 60_000);
      await elsewhere.silentFor(300);

      const res = await t.api.GET('/rooms/{room}/messages', {
        params: { path: { room: 'general' } },
        headers: bearer(tokenFor(t, bob.id)),
      });
      expect(expectAnswer(res, 200)).to.deep.equal({
        items: [gotA.message],
        total: 1,
        total_capped: false,
        skip: 0,
        limit: 10,
        next_cursor: null,
      });
    });

    it('sends join and leave notices to the room', async () => {
      const ann = await seedUser();
      const bob = await seedUser();
      const a = await connect('/ws/chat/lobby', ann.id);
      expect(await a.nextJson()).to.include({ type: 'join', room: 'lobby', user_id: ann.id });
      const b = await connect('/ws/chat/lobby', bob.id);
      expect(await a.nextJson()).to.include({ type: 'join', room: 'lobby', user_id: bob.id });
      await b.close();
      expect(await a.nextJson()).to.include({ type: 'leave', room: 'lobby', user_id: bob.id });
    });

    it('sums up joins and leaves in a large room in one presence frame instead of one frame each', async () => {
      const limited = await startApp({ WS_PRESENCE_ROOM_LIMIT: '3' });
      try {
        const [ann, bob, cid, dan] = [await seedUser(), await seedUser(), await seedUser(), await seedUser()];
        const a = await connect('/ws/chat/big', ann.id, limited);
        expect(await a.nextJson()).to.include({ type: 'join', user_id: ann.id });
        await connect('/ws/chat/big', bob.id, limited);
        expect(await a.nextJson()).to.include({ type: 'join', user_id: bob.id });
        // Three members and more: no frame per join, but summaries (one a second at most).
        await connect('/ws/chat/big', cid.id, limited);
        const d = await connect('/ws/chat/big', dan.id, limited);
        const joined: number[] = [];
        let joins = 0;
        while (joins < 2) {
          const summary = await a.nextJson<Summary>();
          expect(summary).to.include({ type: 'presence', room: 'big', left_count: 0 });
          joined.push(...summary.joined);
          joins += summary.joined_count;
        }
        expect(joined).to.deep.equal([cid.id, dan.id]);
        await d.close();
        expect(await a.nextJson()).to.deep.include({
          type: 'presence',
          joined: [],
          left: [dan.id],
          joined_count: 0,
          left_count: 1,
        });
      } finally {
        await Promise.all(sockets.map((s) => s.close()));
        sockets = [];
        await limited.close();
      }
    });

    it('answers invalid frames with error frames, stores nothing, and stays open', async () => {
      const ann = await seedUser();
      const a = await connect('/ws/chat/general', ann.id);
      await a.nextJson(); // own join
      a.send('{not json');
      expect(await a.nextJson()).to.include({ type: 'error', code: 'invalid_json' });
      a.send(JSON.stringify({ type: 'message', text: '', extra: 1 }));
      const shape = await a.nextJson<ChatFrame>();
      expect(shape).to.include({ type: 'error', code: 'invalid_frame' });
      expect(shape.errors?.map((e) => `${e.path} ${e.keyword}`)).to.have.members([
        '/extra additionalProperties',
        '/text minLength',
      ]);
      a.send(JSON.stringify({ type: 'message', text: 'x'.repeat(2001) }));
      expect((await a.nextJson<ChatFrame>()).errors?.[0]).to.include({ path: '/text', keyword: 'maxLength' });
      a.send(JSON.stringify({ type: 'message', text: 'nul \u0000 inside' }));
      expect((await a.nextJson<ChatFrame>()).errors?.[0]).to.include({ path: '/text', keyword: 'pattern' });
      a.send(JSON.stringify([1, 2]));
      expect(await a.nextJson()).to.include({ code: 'invalid_frame' });
      expect(await countRows('chat_messages')).to.equal(0);
      a.send(JSON.stringify({ type: 'message', text: 'valid' }));
      expect((await a.nextJson<ChatFrame>()).message?.text).to.equal('valid');
    });

    it('rate-limits each connection: extra frames get one error frame and are dropped', async () => {
      const limited = await startApp({ WS_MESSAGES_PER_SECOND: '1', WS_MESSAGE_BURST: '2' });
      try {
        const ann = await seedUser();
        const a = await connect('/ws/chat/general', ann.id, limited);
        await a.nextJson(); // own join
        for (let i = 0; i < 5; i += 1) a.send(JSON.stringify({ type: 'message', text: `m${i}` }));
        const seen: ChatFrame[] = [await a.nextJson(), await a.nextJson(), await a.nextJson()];
        expect(seen.filter((f) => f.type === 'message').map((f) => f.message?.text)).to.deep.equal([
          'm0',
          'm1',
        ]);
        expect(seen.filter((f) => f.code === 'rate_limited')).to.have.length(1);
        await a.silentFor(300);
        expect(await countRows('chat_messages')).to.equal(2);
      } finally {
        await Promise.all(sockets.map((s) => s.close()));
        sockets = [];
        await limited.close();
      }
    });

    it('pages the history newest first', async () => {
      const ann = await seedUser();
      const a = await connect('/ws/chat/history', ann.id);
      await a.nextJson();
      for (const text of ['one', 'two', 'three']) {
        a.send(JSON.stringify({ type: 'message', text }));
        await a.until<ChatFrame>((f) => f.message?.text === text);
      }
      const history = { path: { room: 'history' } };
      const res = await t.api.GET('/rooms/{room}/messages', {
        params: { ...history, query: { skip: 1, limit: 1 } },
        headers: bearer(tokenFor(t, ann.id)),
      });
      const page = expectAnswer(res, 200);
      expect(page.total).to.equal(3);
      expect(page.items.map((m) => m.text)).to.deep.equal(['two']);
      expect((await t.api.GET('/rooms/{room}/messages', { params: history })).response.status).to.equal(401);
      const bad = await t.fetch('/rooms/bad%20room/messages', { headers: bearer(tokenFor(t, ann.id)) });
      await expectProblem(bad, 422, 'validation-failed');
    });
  });

  describe('robustness', () => {
    it('drops a client that stops answering pings, and keeps one that answers', async () => {
      const quick = await startApp({ WS_HEARTBEAT_INTERVAL_MS: '100' });
      try {
        const ann = await seedUser();
        const headers = bearer(tokenFor(quick, ann.id));
        const dead = await openSocket(wsUrl(quick.url, '/ws/chat/general'), { headers, autoPong: false });
        const alive = await openSocket(wsUrl(quick.url, '/ws/chat/general'), { headers });
        sockets.push(dead, alive);
        expect((await dead.closed(5000)).code).to.equal(1006);
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(alive.ws.readyState).to.equal(alive.ws.OPEN);
        expect(quick.app.realtime.connectionCount).to.equal(1);
      } finally {
        await Promise.all(sockets.map((s) => s.close()));
        sockets = [];
        await quick.close();
      }
    });

    it('closes a slow consumer with 1013 instead of buffering for it', async () => {
      const slow = await startApp({
        WS_MAX_BUFFERED_BYTES: '65536',
        WS_MESSAGES_PER_SECOND: '100000',
        WS_MESSAGE_BURST: '100000',
      });
      try {
        const ann = await seedUser();
        const headers = bearer(tokenFor(slow, ann.id));
        const reader = await openSocket(wsUrl(slow.url, '/ws/2'), { headers });
        const sender = await openSocket(wsUrl(slow.url, '/ws/1'), { headers });
        sockets.push(reader, sender);
        // The reader stops reading: the server's frames pile up in its socket buffer.
        (reader.ws as unknown as { _socket: { pause(): void } })._socket.pause();
        const text = 'x'.repeat(1000);
        for (let i = 0; i < 20_000 && slow.app.realtime.connectionCount > 1; i += 1) {
          sender.send(text);
          if (i % 500 === 0) await new Promise((resolve) => setTimeout(resolve, 10));
        }
        const deadline = Date.now() + 5000;
        while (slow.app.realtime.connectionCount > 1 && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 50));
        expect(slow.app.realtime.connectionCount).to.equal(1);
        expect(slow.logs.some((line) => line.msg === 'realtime: slow consumer closed')).to.equal(true);
      } finally {
        // The paused reader would never complete a close handshake.
        sockets[0]?.ws.terminate();
        await Promise.all(sockets.map((s) => s.close()));
        sockets = [];
        await slow.close();
      }
    });

    it('closes a socket with 4401 when its access token expires', async () => {
      const ann = await seedUser();
      const { jwtSecret, jwtIssuer, jwtAudience } = t.app.deps.config;
      // The app's own tokens live 60 s at least (JWT_TTL_SECONDS); this one, signed the same way, 2 s.
      const token = jwt.sign({}, jwtSecret, {
        algorithm: 'HS256',
        subject: String(ann.id),
        issuer: jwtIssuer,
        audience: jwtAudience,
        expiresIn: 2,
      });
      const chat = await openSocket(wsUrl(t.url, '/ws/chat/general'), { headers: bearer(token) });
      const echo = await openSocket(wsUrl(t.url, `/ws/1?access_token=${token}`));
      const lasting = await connect('/ws/chat/general', ann.id);
      sockets.push(chat, echo);
      expect(await chat.closed(15_000)).to.deep.equal({ code: 4401, reason: 'Token expired' });
      expect(await echo.closed(15_000)).to.deep.equal({ code: 4401, reason: 'Token expired' });
      expect(lasting.ws.readyState).to.equal(lasting.ws.OPEN);
    });

    it('closes the sockets of an account deleted or deactivated after it connected, at the next heartbeat', async () => {
      const quick = await startApp({ WS_HEARTBEAT_INTERVAL_MS: '100' });
      try {
        const ann = await seedUser();
        const bob = await seedUser();
        const cid = await seedUser();
        const a = await connect('/ws/chat/general', ann.id, quick);
        const b = await connect('/ws/1', bob.id, quick);
        const c = await connect('/ws/chat/general', cid.id, quick);
        const { db } = await sharedDatabase();
        await deleteUser(db, ann.id);
        await updateUser(db, bob.id, { is_active: false });
        const gone = { code: 4401, reason: 'The account no longer exists or is deactivated' };
        expect(await a.closed(15_000)).to.deep.equal(gone);
        expect(await b.closed(15_000)).to.deep.equal(gone);
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(c.ws.readyState).to.equal(c.ws.OPEN);
      } finally {
        await Promise.all(sockets.map((s) => s.close()));
        sockets = [];
        await quick.close();
      }
    });

    it('closes every socket with 1001 when the app shuts down', async () => {
      const app = await startApp();
      const ann = await seedUser();
      const socket = await openSocket(wsUrl(app.url, '/ws/chat/general'), {
        headers: bearer(tokenFor(app, ann.id)),
      });
      const closing = app.close();
      expect(await socket.closed()).to.deep.equal({ code: 1001, reason: 'Server shutting down' });
      await closing;
    });
  });
});
