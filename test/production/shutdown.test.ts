/**
 * Graceful shutdown under load: SIGTERM while 50 keep-alive connections keep
 * sending requests. Every request the server accepted must complete (the
 * client gets the whole response, the server logs none as aborted), and the
 * process must exit 0 within 10 s.
 */
import { expect } from 'chai';
import { Agent, request } from 'node:http';
import { serverDatabase, spawnServer } from '../helpers/process.js';
import type { ServerDatabase } from '../helpers/process.js';

interface Outcome {
  readonly status?: number;
  readonly error?: string;
  /** True when the response started but did not finish (a cut response). */
  readonly cut?: boolean;
}

/** One GET over a keep-alive agent; never throws. */
function get(url: string, agent: Agent): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request(url, { agent }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      res.on('error', (error) => resolve({ error: error.message, cut: true }));
      res.on('aborted', () => resolve({ error: 'aborted', cut: true }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end();
  });
}

describe('graceful shutdown under load', function () {
  this.timeout(90_000);
  let database: ServerDatabase | undefined;
  after(async () => {
    await database?.remove();
  });

  it('completes every accepted request and exits 0 within 10 s of SIGTERM', async () => {
    database = await serverDatabase('shutdown-');
    const server = await spawnServer({ SHUTDOWN_TIMEOUT_MS: '8000', ...database.env });
    await server.waitFor('/health/ready', 60_000);

    const agent = new Agent({ keepAlive: true, maxSockets: 50 });
    const outcomes: Outcome[] = [];
    let signalled = 0;
    const loops = Array.from({ length: 50 }, async () => {
      // Each loop sends until the server stops taking requests.
      for (;;) {
        const outcome = await get(`${server.url}/items?limit=5`, agent);
        outcomes.push(outcome);
        if (outcome.error !== undefined && signalled > 0) return;
        if (signalled > 0 && Date.now() - signalled > 15_000) return;
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const before = outcomes.length;
    signalled = Date.now();
    server.kill('SIGTERM');
    const code = await server.exited;
    const took = Date.now() - signalled;
    await Promise.all(loops);
    agent.destroy();

    expect(before, 'requests served before the signal').to.be.greaterThan(50);
    expect(code).to.equal(0);
    expect(took).to.be.below(10_000);
    const answered = outcomes.filter((o) => o.status !== undefined);
    expect(
      answered.filter((o) => (o.status ?? 0) >= 500),
      '5xx answers',
    ).to.deep.equal([]);
    expect(
      outcomes.filter((o) => o.cut === true),
      'responses cut off',
    ).to.deep.equal([]);
    // Every request the server logged as accepted reached the client whole.
    const logged = server.logs.filter((line) => line['msg'] === 'request' && line['path'] === '/items');
    expect(
      logged.filter((line) => line['aborted'] === true),
      'requests logged as aborted',
    ).to.deep.equal([]);
    expect(logged.length).to.equal(answered.length);
    // Refused connections after the listener closed are expected; nothing else is.
    const errors = new Set(outcomes.flatMap((o) => (o.error === undefined ? [] : [o.error])));
    for (const error of errors) expect(['ECONNREFUSED', 'ECONNRESET']).to.include(error);
  });
});

describe('a stop during start-up', function () {
  this.timeout(60_000);
  let database: ServerDatabase | undefined;
  afterEach(async () => {
    await database?.remove();
  });

  it('stops cleanly when told to stop while the database is still opening', async () => {
    database = await serverDatabase('early-stop-');
    const server = await spawnServer({ SHUTDOWN_GRACE_MS: '0', ...database.env });
    // Liveness answers at once; a new embedded database takes seconds more to create.
    await server.waitFor('/health');
    await server.stop(30_000);
    expect(await server.exited, server.output()).to.equal(0);
    expect(server.logs.filter((line) => line['level'] === 60)).to.deep.equal([]);
  });
});
