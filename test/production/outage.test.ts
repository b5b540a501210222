/**
 * A database outage under load: requests fail fast with 503 problems (no hang,
 * no 500, no crash), readiness says 503, and everything recovers when the
 * database returns. PostgreSQL only (the embedded database cannot go away);
 * the outage is a TCP proxy between the app and the server being cut.
 */
import { expect } from 'chai';
import { resetDatabase, startApp } from '../helpers/app.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { expectProblem } from '../helpers/problems.js';

describe('database outage', function () {
  this.timeout(60_000);

  it('answers 503 quickly while the database is gone and recovers when it returns', async function () {
    const databaseUrl = process.env['DATABASE_URL'];
    if (!databaseUrl) {
      this.skip(); // PGlite lives in the process: there is no connection to lose
      return;
    }
    await resetDatabase(); // no queued jobs from earlier tests running into the outage
    const target = new URL(databaseUrl);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const viaProxy = new URL(databaseUrl);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const t = await startApp({ DATABASE_URL: viaProxy.toString() });
    try {
      const statuses = async (): Promise<{ status: number; ms: number; type: string | null }[]> =>
        Promise.all(
          Array.from({ length: 20 }, async () => {
            const started = Date.now();
            const res = await t.fetch('/items?limit=5');
            await res.arrayBuffer();
            return { status: res.status, ms: Date.now() - started, type: res.headers.get('content-type') };
          }),
        );
      expect((await statuses()).map((r) => r.status)).to.deep.equal(Array(20).fill(200));

      await proxy.cut();
      const during = await statuses();
      for (const answer of during) {
        expect(answer.status, 'status during the outage').to.equal(503);
        expect(answer.type).to.match(/^application\/problem\+json/);
        expect(answer.ms, 'fails fast, not after a timeout').to.be.below(4000);
      }
      const down = await t.fetch('/health/ready');
      await expectProblem(down, 503, 'database-unavailable');
      expect(down.headers.get('retry-after')).to.equal('5');
      await down.arrayBuffer();
      const live = await t.fetch('/health');
      expect(live.status, 'liveness does not touch the database').to.equal(200);
      await live.arrayBuffer();
      const problem = await t.fetch('/items');
      expect(problem.headers.get('retry-after')).to.equal('5');
      const body = (await problem.json()) as { status: number; detail: string };
      expect(body).to.include({ status: 503, type: '/problems/database-unavailable' });
      expect(body.detail).to.not.match(/ECONN|127\.0\.0\.1|postgres/i);

      await proxy.restore();
      const deadline = Date.now() + 15_000;
      let after = await statuses();
      while (after.some((r) => r.status !== 200) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        after = await statuses();
      }
      expect(after.map((r) => r.status)).to.deep.equal(Array(20).fill(200));
      const ready = await t.fetch('/health/ready');
      expect(ready.status).to.equal(200);
      await ready.arrayBuffer();
      expect(JSON.stringify(t.logs.filter((line) => line.level !== undefined && line.level >= 50))).to.equal(
        '[]',
      );
    } finally {
      await t.close();
      await proxy.close();
    }
  });
});
