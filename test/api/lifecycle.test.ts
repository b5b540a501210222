/** Start-up and shutdown: the real entry point as a child process, and draining in-flight requests. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { expect } from 'chai';
import createClient from 'openapi-fetch';
import { indexDocument } from '../../src/contract/spec.js';
import { startApp } from '../helpers/app.js';
import type { paths } from '../../generated/openapi.js';

const root = path.resolve(import.meta.dirname, '../..');

function startServer(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: root,
    env: { PATH: process.env['PATH'] ?? '', NODE_ENV: 'test', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

async function waitForListening(output: () => string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = /"address":"(http:\/\/[^"]+)"/.exec(output());
    if (found?.[1] !== undefined) return found[1];
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`server did not start:\n${output()}`);
}

describe('process lifecycle', function () {
  this.timeout(60_000);

  it('refuses to start on an invalid setting and names it', async () => {
    const { child, output } = startServer({ PORT: 'eighty' });
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).to.equal(1);
    expect(output()).to.include('PORT');
  });

  it('serves, then exits 0 on SIGTERM', async () => {
    const db = process.env['DATABASE_URL'];
    const { child, output } = startServer({
      PORT: '0',
      HOST: '127.0.0.1',
      ...(db ? { DATABASE_URL: db } : { DATA_DIR: 'memory://' }),
    });
    try {
      const url = (await waitForListening(output, 50_000)).replace('0.0.0.0', '127.0.0.1');
      const api = createClient<paths>({ baseUrl: url });
      const { data: health } = await api.GET('/health');
      expect(health).to.deep.equal({ status: 'healthy' });
      if (!db) {
        // A new embedded database takes seconds to create: the server listens first,
        // live but not ready.
        expect(output()).to.not.include('database ready');
        // (Operations answer 503 meanwhile: test/api/startup-gate.test.ts, without a race.)
        expect((await api.GET('/health/ready')).response.status).to.equal(503);
      }
      let ready = 0;
      for (let i = 0; i < 100 && ready !== 200; i += 1) {
        ready = (await api.GET('/health/ready')).response.status;
        if (ready !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(ready).to.equal(200);
      // Once ready, the server collects start-up's garbage before traffic comes (src/heap.ts).
      for (let i = 0; i < 50 && !output().includes('start-up garbage collected'); i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(output()).to.include('start-up garbage collected');
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number];
      expect(code).to.equal(0);
      expect(output()).to.include('shutting down');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('lets an in-flight request finish before close() resolves', async () => {
    const spec = indexDocument({
      openapi: '3.1.0',
      info: { title: 'slow', version: '1' },
      paths: {
        '/slow': {
          get: {
            operationId: 'slow',
            responses: {
              '200': { description: 'ok', content: { 'application/json': { schema: { type: 'object' } } } },
            },
          },
        },
      },
    });
    let started = (): void => undefined;
    const inFlight = new Promise<void>((resolve) => (started = resolve));
    const t = await startApp(
      {},
      {
        spec,
        handlers: {
          slow: async () => {
            started();
            await new Promise((resolve) => setTimeout(resolve, 300));
            return { status: 200, body: { done: true } };
          },
        },
        security: {},
      },
    );
    const pending = t.fetch('/slow');
    // Closed once the handler runs: a fixed pause loses the race on a busy machine (the connection is not yet accepted).
    await inFlight;
    const closed = t.close();
    const res = await pending;
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ done: true });
    await closed;
    let refused = false;
    await t.fetch('/slow').catch(() => {
      refused = true;
    });
    expect(refused, 'no new connections after close').to.be.true;
  });
});
