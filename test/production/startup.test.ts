/**
 * Start-up: the server listens at once, but refuses traffic (503, Retry-After)
 * until the database is open and migrated; liveness answers meanwhile.
 * A new embedded database takes seconds to create, which opens the window.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { spawnServer } from '../helpers/process.js';

describe('start-up', function () {
  this.timeout(90_000);

  it('answers liveness but refuses operations with 503 until migrations are done', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'startup-'));
    const server = await spawnServer({ DATA_DIR: dataDir });
    try {
      await server.waitFor('/health', 30_000);
      const ready = await fetch(`${server.url}/health/ready`);
      await ready.arrayBuffer();
      expect(ready.status, 'readiness while the database opens').to.equal(503);
      const early = await fetch(`${server.url}/items`);
      expect(early.status).to.equal(503);
      expect(early.headers.get('retry-after')).to.equal('1');
      expect(early.headers.get('content-type')).to.match(/^application\/problem\+json/);
      await early.arrayBuffer();

      await server.waitFor('/health/ready', 60_000);
      const later = await fetch(`${server.url}/items`);
      expect(later.status).to.equal(200);
      await later.arrayBuffer();
    } finally {
      server.kill('SIGTERM');
      await server.exited;
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
