/**
 * WORKERS=N: a node cluster sharing one port, PostgreSQL only.
 */
import { expect } from 'chai';
import { spawnServer } from '../helpers/process.js';

describe('WORKERS (node cluster)', function () {
  this.timeout(90_000);

  it('refuses to start on the embedded database, saying why', async () => {
    const server = await spawnServer({ WORKERS: '2', DATA_DIR: 'memory://' });
    const code = await server.exited;
    expect(code).to.equal(1);
    expect(server.stderr()).to.match(/WORKERS .*embedded database.*DATABASE_URL/);
  });

  it('serves from two processes on one port, aggregates their metrics and stops both on SIGTERM', async function () {
    const databaseUrl = process.env['DATABASE_URL'];
    if (!databaseUrl) {
      this.skip(); // more than one process needs PostgreSQL (the case above)
      return;
    }
    const server = await spawnServer({ WORKERS: '2', DATABASE_URL: databaseUrl, METRICS_ACCESS: 'open' });
    try {
      await server.waitFor('/health/ready', 60_000);
      // Both workers must be ready (database open and migrated) before counting.
      const readyWorkers = (): Set<unknown> =>
        new Set(server.logs.filter((l) => l['msg'] === 'database ready').map((l) => l['pid']));
      const deadline = Date.now() + 60_000;
      while (readyWorkers().size < 2 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 100));
      expect(readyWorkers().size).to.equal(2);

      // Fresh connections each time, so the cluster spreads them over the workers.
      const n = 40;
      for (let i = 0; i < n; i++) {
        const res = await fetch(`${server.url}/`, { headers: { Connection: 'close' } });
        expect(res.status).to.equal(200);
        await res.arrayBuffer();
      }
      const served = new Set(
        server.logs.filter((l) => l['msg'] === 'request' && l['path'] === '/').map((l) => l['pid']),
      );
      expect(served.size, 'processes that answered GET /').to.equal(2);

      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      const count = /http_requests_total\{operation="getRoot",method="GET",status="200"\} (\d+)/.exec(
        metrics,
      );
      expect(Number(count?.[1]), 'GET / counted over both workers').to.equal(n);
    } finally {
      server.kill('SIGTERM');
    }
    expect(await server.exited).to.equal(0);
    expect(server.logs.some((l) => l['msg'] === 'all workers stopped')).to.equal(true);
  });
});
