/**
 * Draining loses nothing: 50 keep-alive clients loop on `GET /items` while the
 * server gets SIGTERM. No client may see its request reset (ECONNRESET, a
 * socket hang-up): a request is either answered or refused before it was sent
 * (ECONNREFUSED once the listener is closed). Readiness answers 503 while the
 * server drains.
 */
import { Agent, request } from 'node:http';
import { expect } from 'chai';
import { serverDatabase, spawnServer } from '../helpers/process.js';
import type { ServerDatabase } from '../helpers/process.js';

interface Outcome {
  readonly status?: number;
  readonly error?: string;
  readonly at: number;
}

/** One GET over the agent; never throws. */
function get(url: string, agent: Agent): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request(url, { agent }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, at: Date.now() }));
      res.on('error', (error: NodeJS.ErrnoException) =>
        resolve({ error: error.code ?? error.message, at: Date.now() }),
      );
      res.on('aborted', () => resolve({ error: 'aborted', at: Date.now() }));
    });
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ error: `${error.code ?? ''} ${error.message}`.trim(), at: Date.now() }),
    );
    req.end();
  });
}

describe('draining under keep-alive load', function () {
  this.timeout(120_000);
  let database: ServerDatabase | undefined;
  after(async () => {
    await database?.remove();
  });

  it('resets no request of 50 looping keep-alive clients on SIGTERM, and readiness answers 503', async () => {
    database = await serverDatabase('drain-');
    const server = await spawnServer({ SHUTDOWN_TIMEOUT_MS: '8000', ...database.env });
    await server.waitFor('/health/ready', 60_000);

    const agent = new Agent({ keepAlive: true, maxSockets: 50 });
    const outcomes: Outcome[] = [];
    const readiness: Outcome[] = [];
    let signalled = 0;
    let exited = false;
    void server.exited.then(() => {
      exited = true;
    });
    const loops = Array.from({ length: 50 }, async () => {
      // Like a real client: it keeps sending until the server refuses to connect.
      for (;;) {
        const outcome = await get(`${server.url}/items?limit=5`, agent);
        outcomes.push(outcome);
        if (outcome.error !== undefined && signalled > 0) return;
        if (exited || (signalled > 0 && Date.now() - signalled > 15_000)) return;
      }
    });
    const probe = (async () => {
      const probeAgent = new Agent({ keepAlive: true, maxSockets: 1 });
      while (!exited) {
        const sent = Date.now();
        const outcome = await get(`${server.url}/health/ready`, probeAgent);
        // Only probes sent after the signal: one sent just before may rightly still say 200.
        if (signalled > 0 && sent > signalled) readiness.push(outcome);
        if (outcome.error !== undefined && signalled > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      probeAgent.destroy();
    })();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const before = outcomes.length;
    signalled = Date.now();
    server.kill('SIGTERM');
    const code = await server.exited;
    await Promise.all([...loops, probe]);
    agent.destroy();

    expect(before, 'requests served before the signal').to.be.greaterThan(50);
    expect(code).to.equal(0);
    const after = outcomes.filter((o) => o.at >= signalled);
    expect(
      after.filter((o) => o.status === 200).length,
      'requests answered while draining',
    ).to.be.greaterThan(0);
    const resets = outcomes.filter((o) => o.error !== undefined && !o.error.startsWith('ECONNREFUSED'));
    expect(
      resets.map((o) => o.error),
      `resets among ${outcomes.length} requests`,
    ).to.deep.equal([]);
    expect(
      outcomes.filter((o) => o.status !== undefined && o.status !== 200),
      'answers other than 200',
    ).to.deep.equal([]);
    // Once the server has taken the signal readiness says 503, and stays so until it stops answering.
    const statuses = readiness.map((o) => o.status);
    const first503 = statuses.indexOf(503);
    expect(first503, `readiness while draining: ${statuses.join(',')}`).to.be.at.least(0);
    expect(statuses.slice(first503), 'readiness after its first 503').to.not.include(200);
  });
});
