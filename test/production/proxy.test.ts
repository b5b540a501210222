/**
 * The deployment's proxy, for real: `deploy/nginx.conf` (the file
 * docker-compose.yml mounts) run by nginx in front of two API processes on one
 * PostgreSQL database. Only the upstream addresses and the listen port are
 * rewritten (Docker's DNS name "api" becomes the two local processes).
 *
 * What it shows: requests spread over both replicas; a client cannot choose
 * its own address with a forged X-Forwarded-For (the API trusts one hop: the
 * proxy's); a WebSocket upgrade passes through; and a replica restarting
 * behind the proxy costs no request.
 *
 * Needs nginx (Debian's package; `.ci/run` installs it) and PostgreSQL.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { sql } from 'kysely';
import { sharedDatabase } from '../helpers/app.js';
import { freePort, spawnServer } from '../helpers/process.js';
import type { ServerProcess } from '../helpers/process.js';
import { openSocket } from '../helpers/ws.js';

const NGINX = '/usr/sbin/nginx';

/** deploy/nginx.conf with the two local upstreams and a free listen port. */
async function renderConfig(listenPort: number, upstreamPorts: readonly number[]): Promise<string> {
  const original = await readFile(path.resolve('deploy/nginx.conf'), 'utf8');
  const upstream = /^(\s*)server api:8000 (.*);$/m;
  const match = upstream.exec(original);
  if (match === null) throw new Error('deploy/nginx.conf has no "server api:8000" upstream line to rewrite');
  const [, indent = '', options = ''] = match;
  const servers = upstreamPorts.map((port) => `${indent}server 127.0.0.1:${port} ${options};`).join('\n');
  const rendered = original
    .replace(upstream, servers)
    .replace(/^(\s*)listen 8080;$/m, `$1listen 127.0.0.1:${listenPort};`);
  if (!rendered.includes(`listen 127.0.0.1:${listenPort};`)) throw new Error('no "listen 8080;" to rewrite');
  return rendered;
}

interface Nginx {
  readonly url: string;
  stop(): Promise<void>;
}

async function startNginx(upstreamPorts: readonly number[]): Promise<Nginx> {
  const prefix = await mkdtemp(path.join(os.tmpdir(), 'nginx-test-'));
  await mkdir(path.join(prefix, 'logs'));
  const port = await freePort();
  const conf = path.join(prefix, 'nginx.conf');
  await writeFile(conf, await renderConfig(port, upstreamPorts));
  const child: ChildProcess = spawn(
    NGINX,
    ['-p', prefix, '-c', conf, '-g', `daemon off; pid ${prefix}/nginx.pid; error_log stderr warn;`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
    try {
      const res = await fetch(`${url}/health`);
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`nginx did not answer: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    async stop() {
      child.kill('SIGQUIT'); // graceful
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      await rm(prefix, { recursive: true, force: true });
    },
  };
}

/** The request lines a server logged for `pathname`. */
const requestLines = (server: ServerProcess, pathname: string): Record<string, unknown>[] =>
  server.logs.filter((line) => line['msg'] === 'request' && line['path'] === pathname);

describe('the deployment proxy (deploy/nginx.conf) in front of two replicas', function () {
  this.timeout(120_000);
  let a: ServerProcess;
  let b: ServerProcess;
  let proxy: Nginx | undefined;
  let env: Record<string, string>;

  before(async function () {
    const databaseUrl = process.env['DATABASE_URL'];
    if (!databaseUrl || !existsSync(NGINX)) {
      this.skip(); // two replicas need PostgreSQL; the proxy needs nginx (apt install nginx)
      return;
    }
    // Failed logins other tests made from this machine's address must not count here.
    const { db } = await sharedDatabase();
    await sql`delete from login_failures where key like 'address:%'`.execute(db);
    env = { DATABASE_URL: databaseUrl, TRUST_PROXY_HOPS: '1', LOGIN_MAX_FAILURES_PER_ADDRESS: '3' };
    [a, b] = await Promise.all([spawnServer(env), spawnServer(env)]);
    await Promise.all([a.waitFor('/health/ready', 60_000), b.waitFor('/health/ready', 60_000)]);
    proxy = await startNginx([Number(new URL(a.url).port), Number(new URL(b.url).port)]);
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
    // The forged-address test locks this machine's address: later tests log in from it too.
    if (proxy !== undefined) {
      const { db } = await sharedDatabase();
      await sql`delete from login_failures where key like 'address:%'`.execute(db);
    }
  });

  it('spreads requests over both replicas', async () => {
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${proxy?.url}/`);
      expect(res.status).to.equal(200);
      await res.arrayBuffer();
    }
    // The log line is written when the response closes: give the last one a moment.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(requestLines(a, '/'), 'replica A').to.have.length.greaterThan(0);
    expect(requestLines(b, '/'), 'replica B').to.have.length.greaterThan(0);
  });

  it('passes a WebSocket upgrade through to a replica', async () => {
    const email = `proxy-ws-${Date.now()}@example.com`;
    const signUp = await fetch(`${proxy?.url}/users`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email, full_name: 'Proxy Socket', age: 30, password: 'Secret123' }),
    });
    expect(signUp.status).to.equal(201);
    const login = await fetch(`${proxy?.url}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: email, password: 'Secret123' }),
    });
    expect(login.status).to.equal(200);
    const { access_token: token } = (await login.json()) as { access_token: string };
    const socket = await openSocket(`${proxy?.url.replace('http', 'ws')}/ws/7?access_token=${token}`);
    try {
      socket.send('through the proxy');
      expect(await socket.next()).to.equal('Message text was: through the proxy');
    } finally {
      await socket.close();
    }
  });

  it('does not let a client pick its address with a forged X-Forwarded-For', async () => {
    const email = `proxy-${Date.now()}@example.com`;
    const failedLogin = (forged: string): Promise<Response> =>
      fetch(`${proxy?.url}/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Forwarded-For': forged },
        body: new URLSearchParams({ username: email, password: 'Wrong-password-1' }),
      });
    // Each attempt claims another address; the API must count them all against the
    // proxy-reported one, so the per-address limit (3) is reached anyway.
    const statuses: number[] = [];
    for (let i = 1; i <= 6; i++) {
      const res = await failedLogin(`203.0.113.${i}`);
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    expect(statuses.slice(0, 3)).to.deep.equal([401, 401, 401]);
    expect(statuses.slice(3)).to.deep.equal([429, 429, 429]);
  });

  it('loses no request while a replica restarts behind it', async () => {
    let stop = false;
    const statuses = new Map<number, number>();
    const errors: string[] = [];
    const traffic = (async () => {
      while (!stop) {
        try {
          const res = await fetch(`${proxy?.url}/items?limit=1`);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          await res.arrayBuffer();
        } catch (error) {
          errors.push(String(error));
        }
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await a.stop(); // SIGTERM: drains, then exits
    expect(await a.exited).to.equal(0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    a = await spawnServer({ ...env, PORT: new URL(a.url).port });
    await a.waitFor('/health/ready', 60_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    stop = true;
    await traffic;
    expect(errors, 'network errors').to.deep.equal([]);
    expect([...statuses.keys()], 'statuses seen').to.deep.equal([200]);
    expect(statuses.get(200)).to.be.greaterThan(10);
  });
});
