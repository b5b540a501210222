/**
 * Two real server processes on one PostgreSQL: what is said through one
 * reaches clients of the other (LISTEN/NOTIFY). Skipped on the embedded
 * database, which serves exactly one process by design.
 */
import { expect } from 'chai';
import { sql } from 'kysely';
import { createTokenService } from '../../src/auth/tokens.js';
import { loadConfig } from '../../src/config.js';
import { resetDatabase, sharedDatabase } from '../helpers/app.js';
import { spawnServer } from '../helpers/process.js';
import type { ServerProcess } from '../helpers/process.js';
import { bearer, seedUser } from '../helpers/users.js';
import { openSocket, refusedUpgrade, wsUrl } from '../helpers/ws.js';
import type { TestSocket } from '../helpers/ws.js';
import { expectProblem } from '../helpers/problems.js';

const SECRET = 'cross-process-secret-that-is-long-enough-0123456789';
const databaseUrl = process.env['DATABASE_URL'] || undefined;
/** The per-user cap, and a heartbeat short enough that a dead process's slots free within seconds. */
const CAP = 3;
const HEARTBEAT_MS = 2000;

/** Retries `attempt` until it resolves, for up to `timeoutMs`; rejects with the last error. */
async function eventually<T>(attempt: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

interface Frame {
  type: string;
  user_id?: number;
  message?: { id: number; text: string; user_id: number; room: string };
}

describe('realtime across two server processes (PostgreSQL only; skipped on the embedded database, which is one process)', function () {
  this.timeout(60_000);
  let a: ServerProcess | undefined;
  let b: ServerProcess | undefined;
  let sockets: TestSocket[] = [];
  const env = {
    DATABASE_URL: databaseUrl ?? '',
    JWT_SECRET: SECRET,
    DB_POOL_MAX: '4',
    WS_MAX_CONNECTIONS_PER_USER: String(CAP),
    WS_HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
  };
  const tokens = createTokenService(loadConfig({ JWT_SECRET: SECRET }));
  const connect = async (server: ServerProcess, path: string, userId: number): Promise<TestSocket> => {
    const socket = await openSocket(wsUrl(server.url, path), { headers: bearer(tokens.issue(userId).token) });
    sockets.push(socket);
    return socket;
  };

  before(async function () {
    if (databaseUrl === undefined) this.skip();
    // Reset once, not between tests: the servers remember delivered message ids, and
    // `truncate ... restart identity` would hand out the same ids again.
    await resetDatabase();
    [a, b] = await Promise.all([spawnServer(env), spawnServer(env)]);
    await Promise.all([a.waitFor(), b.waitFor()]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });
  afterEach(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    sockets = [];
  });

  it('delivers a chat message sent through process A to a member connected to process B', async () => {
    const ann = await seedUser();
    const bob = await seedUser();
    const onA = await connect(a!, '/ws/chat/general', ann.id);
    await onA.nextJson(); // own join
    const onB = await connect(b!, '/ws/chat/general', bob.id);
    await onB.nextJson(); // own join
    // Presence crosses too: A hears that Bob joined on B.
    expect(await onA.until<Frame>((f) => f.type === 'join')).to.include({ user_id: bob.id });
    onA.send(JSON.stringify({ type: 'message', text: 'across processes' }));
    const seenOnB = await onB.until<Frame>((f) => f.type === 'message');
    const seenOnA = await onA.until<Frame>((f) => f.type === 'message');
    expect(seenOnB).to.deep.equal(seenOnA);
    expect(seenOnB.message).to.include({ text: 'across processes', user_id: ann.id, room: 'general' });
    await onB.close();
    expect(await onA.until<Frame>((f) => f.type === 'leave')).to.include({ user_id: bob.id });
  });

  it("broadcasts the guide's echo lines to clients of both processes", async () => {
    const ann = await seedUser();
    const onA = await connect(a!, '/ws/1', ann.id);
    const onB = await connect(b!, '/ws/2', ann.id);
    onA.send('hi from A');
    expect(await onA.next()).to.equal('Message text was: hi from A');
    expect(await onB.next()).to.equal('Client #1 says: hi from A');
    await onA.close();
    expect(await onB.next()).to.equal('Client #1 left the chat');
  });

  it('catches up on messages said while its LISTEN connection was down', async () => {
    const ann = await seedUser();
    const onA = await connect(a!, '/ws/chat/resilient', ann.id);
    const onB = await connect(b!, '/ws/chat/resilient', ann.id);
    await onA.until<Frame>((f) => f.type === 'join');
    await onB.until<Frame>((f) => f.type === 'join');
    onA.send(JSON.stringify({ type: 'message', text: 'before' }));
    await onB.until<Frame>((f) => f.type === 'message');
    const { db } = await sharedDatabase();
    // Cut B's (and A's) LISTEN connections: they reconnect with backoff and read what they missed.
    const cut = await sql`select pg_terminate_backend(pid) from pg_stat_activity
              where datname = current_database() and query = 'LISTEN realtime_events'`.execute(db);
    expect(cut.rows).to.have.length(2);
    onA.send(JSON.stringify({ type: 'message', text: 'said during the outage' }));
    const seen = await onB.until<Frame>((f) => f.type === 'message', 15_000);
    expect(seen.message?.text).to.equal('said during the outage');
  });

  it('caps the connections of one user across both processes, and frees a slot when one closes', async () => {
    const ann = await seedUser();
    const headers = bearer(tokens.issue(ann.id).token);
    await connect(a!, '/ws/chat/general', ann.id);
    await connect(a!, '/ws/1', ann.id);
    const onB = await connect(b!, '/ws/chat/general', ann.id);
    for (const server of [a!, b!]) {
      const refused = await refusedUpgrade(wsUrl(server.url, '/ws/chat/general'), { headers });
      expect(refused.status, server.url).to.equal(429);
      expect(refused.opened).to.equal(false);
    }
    await onB.close();
    // B deletes the slot as the socket closes; A sees it free (retried: the delete is asynchronous).
    await eventually(() => connect(a!, '/ws/2', ann.id));
  });

  it("stops counting a killed process's connections once it has missed two heartbeats", async () => {
    const c = await spawnServer(env);
    try {
      await c.waitFor();
      const zed = await seedUser();
      for (let i = 1; i <= CAP; i += 1) await connect(c, `/ws/${i}`, zed.id);
      const full = await refusedUpgrade(wsUrl(a!.url, '/ws/chat/general'), {
        headers: bearer(tokens.issue(zed.id).token),
      });
      await expectProblem(full, 429, 'too-many-connections');
      c.kill('SIGKILL');
      await c.exited;
      // Its rows stay behind (nobody deleted them) but stop counting after 2 heartbeats.
      await eventually(() => connect(a!, '/ws/chat/general', zed.id));
    } finally {
      await c.stop();
    }
  });
});
