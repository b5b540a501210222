/**
 * kill -9 during a stream of POST /orders, then restart: see
 * scripts/faults/orders-crash.ts for what is checked. PostgreSQL only: the
 * server runs as a separate process against the test run's database.
 */
import { expect } from 'chai';
import { runOrdersCrash } from '../../scripts/faults/orders-crash.js';

describe('crash consistency of orders', function () {
  this.timeout(180_000);

  it('keeps every answered order whole and lets cut requests be retried without duplicates', async function () {
    const databaseUrl = process.env['DATABASE_URL'];
    if (!databaseUrl) {
      this.skip(); // needs a database that outlives the killed process; PGlite in memory does not
      return;
    }
    const report = await runOrdersCrash({ databaseUrl, concurrency: 12, killAfterMs: 1500 });
    expect(report.violations).to.deep.equal([]);
    expect(report.created, 'orders answered before the kill').to.be.greaterThan(0);
    expect(report.interrupted, 'requests cut by the kill').to.be.greaterThan(0);
  });
});
