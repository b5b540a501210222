/**
 * While the database is opening, every operation of the contract but liveness
 * and readiness answers 503 problem+json with Retry-After, before routing
 * work, security or body parsing. The database here never opens.
 */
import { expect } from 'chai';
import { loadSpec } from '../../src/contract/spec.js';
import { neverOpens, startApp } from '../helpers/app.js';

describe('start-up gate', () => {
  it('answers 503 with Retry-After for every operation but getHealth and getReadiness', async () => {
    // Through startApp, so the contract coverage recorder counts these 503s.
    const t = await startApp({ LOG_LEVEL: 'info' }, { database: neverOpens(), waitUntilReady: false });
    const port = new URL(t.url).port;
    try {
      const spec = loadSpec();
      expect(spec.operations.length).to.be.greaterThan(20);
      for (const operation of spec.operations) {
        const path = operation.path.replace(/\{[^}]+\}/g, 'abc1');
        const res = await fetch(`http://127.0.0.1:${port}${path}`, {
          method: operation.method.toUpperCase(),
          headers: { 'Content-Type': 'application/json' },
          ...(['get', 'head', 'delete'].includes(operation.method) ? {} : { body: '{}' }),
        });
        const label = `${operation.operationId} (${operation.method.toUpperCase()} ${operation.path})`;
        if (operation.operationId === 'getHealth') {
          expect(res.status, label).to.equal(200);
        } else {
          expect(res.status, label).to.equal(503);
          expect(res.headers.get('content-type'), label).to.match(/^application\/problem\+json/);
          expect(res.headers.get('retry-after'), label).to.match(/^\d+$/);
        }
        await res.arrayBuffer();
      }
    } finally {
      await t.close();
    }
  });
});
