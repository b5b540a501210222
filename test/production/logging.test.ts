/**
 * The server's log lines are gathered before they are written (LOG_BUFFER_BYTES),
 * so a quiet server must still write them within LOG_FLUSH_MS, and a stopping
 * one must write what it holds before it exits.
 */
import { expect } from 'chai';
import { serverDatabase, spawnServer } from '../helpers/process.js';
import type { ServerDatabase, ServerProcess } from '../helpers/process.js';

const requestLine = (server: ServerProcess, id: string): Record<string, unknown> | undefined =>
  server.logs.find((line) => line['msg'] === 'request' && line['reqId'] === id);

describe('log lines of a running server', function () {
  this.timeout(60_000);
  let database: ServerDatabase | undefined;

  const start = async (env: Record<string, string>): Promise<ServerProcess> => {
    database = await serverDatabase('logging-');
    const server = await spawnServer({
      LOG_BUFFER_BYTES: '4096',
      SHUTDOWN_GRACE_MS: '0',
      ...env,
      ...database.env,
    });
    await server.waitFor();
    return server;
  };

  afterEach(async () => {
    await database?.remove();
  });

  it('writes a request line that fills no buffer within LOG_FLUSH_MS', async () => {
    const server = await start({ LOG_FLUSH_MS: '100' });
    try {
      const res = await fetch(`${server.url}/health`, { headers: { 'X-Request-ID': 'quiet-line-1' } });
      expect(res.status).to.equal(200);
      // Generous: the line is due 100 ms after it was logged; a slow machine still gets 5 s.
      const deadline = Date.now() + 5000;
      while (requestLine(server, 'quiet-line-1') === undefined && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(requestLine(server, 'quiet-line-1'), server.output()).to.include({
        status: 200,
        operationId: 'getHealth',
        path: '/health',
      });
    } finally {
      await server.stop();
    }
  });

  it('writes the lines it still holds when it stops', async () => {
    // A flush interval longer than the test and the largest buffer: only the exit can write the line.
    const server = await start({ LOG_FLUSH_MS: '60000', LOG_BUFFER_BYTES: '16000' });
    const res = await fetch(`${server.url}/health`, { headers: { 'X-Request-ID': 'held-line-1' } });
    expect(res.status).to.equal(200);
    await server.stop(30_000);
    expect(await server.exited).to.equal(0);
    expect(requestLine(server, 'held-line-1'), server.output()).to.include({ status: 200 });
  });
});
