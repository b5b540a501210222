/**
 * Fault drills against real server processes, for operators and for CI-like
 * checks by hand:
 *
 *   npm run fault -- orders-crash --database-url postgres://...   kill -9 during POST /orders
 *   npm run fault -- db-outage --database-url postgres://... [--real] [--seconds 5]
 *
 * db-outage drives load at a server process while the database goes away:
 * by default through a TCP proxy that is cut (safe on a shared machine);
 * with --real it stops this machine's PostgreSQL cluster with pg_ctlcluster
 * (root, and every other user of that server notices). Each prints what it
 * saw and exits non-zero when an invariant broke.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startTcpProxy } from '../test/helpers/tcp-proxy.js';
import { spawnServer } from '../test/helpers/process.js';
import { runOrdersCrash } from './faults/orders-crash.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    'database-url': { type: 'string', default: process.env['DATABASE_URL'] },
    real: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '5' },
  },
});
const databaseUrl = values['database-url'];
if (databaseUrl === undefined || databaseUrl === '') {
  console.error('--database-url (or DATABASE_URL) must name a PostgreSQL database the drill may use');
  process.exit(2);
}

async function dbOutage(url: string): Promise<string[]> {
  const seconds = Number(values.seconds);
  const target = new URL(url);
  const proxy = values.real ? undefined : await startTcpProxy(target.hostname, Number(target.port || 5432));
  const serverUrl = new URL(url);
  if (proxy !== undefined) {
    serverUrl.hostname = '127.0.0.1';
    serverUrl.port = String(proxy.port);
  }
  const server = await spawnServer({ DATABASE_URL: serverUrl.toString(), LOG_LEVEL: 'warn' });
  const violations: string[] = [];
  try {
    await server.waitFor('/health/ready', 60_000);
    const cluster = readdirSync('/etc/postgresql')[0] ?? '15';
    const counts = new Map<string, number>();
    let slowest = 0;
    let running = true;
    const loops = Array.from({ length: 20 }, async () => {
      while (running) {
        const started = Date.now();
        let key: string;
        try {
          const res = await fetch(`${server.url}/items?limit=5`, { signal: AbortSignal.timeout(10_000) });
          await res.arrayBuffer();
          key = String(res.status);
        } catch (error) {
          key = (error as Error).name;
        }
        slowest = Math.max(slowest, Date.now() - started);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    console.log(`database going away for ${seconds} s (${values.real ? 'pg_ctlcluster stop' : 'proxy cut'})`);
    if (proxy !== undefined) await proxy.cut();
    else execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', cluster, 'main', 'stop', '-m', 'fast']);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const ready = await fetch(`${server.url}/health/ready`);
    if (ready.status !== 503) violations.push(`readiness answered ${ready.status} during the outage`);
    if (proxy !== undefined) await proxy.restore();
    else execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', cluster, 'main', 'start']);
    const back = Date.now();
    let recovered = false;
    while (Date.now() - back < 30_000 && !recovered) {
      recovered = (await fetch(`${server.url}/health/ready`)).status === 200;
      if (!recovered) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    running = false;
    await Promise.all(loops);
    console.log('answers:', Object.fromEntries(counts), `slowest ${slowest} ms`);
    console.log(`ready again ${recovered ? `after ${Date.now() - back - 1000} ms` : 'never'}`);
    if (!recovered) violations.push('readiness did not come back within 30 s');
    for (const key of counts.keys())
      if (!['200', '503'].includes(key)) violations.push(`${counts.get(key)} answers were ${key}`);
    if (slowest > 6000) violations.push(`a request took ${slowest} ms (should fail fast)`);
    if (server.child.exitCode !== null) violations.push('the server process died');
  } finally {
    server.kill('SIGTERM');
    await server.exited;
    await proxy?.close();
  }
  return violations;
}

async function main(): Promise<void> {
  const drill = positionals[0];
  let violations: string[];
  if (drill === 'orders-crash') {
    const report = await runOrdersCrash({ databaseUrl: databaseUrl!, log: (line) => console.log(line) });
    console.log(
      `sent ${report.sent}, answered 201 before the kill ${report.created}, cut ${report.interrupted} ` +
        `(on retry: ${report.retriedReplays} had been committed and replayed, ${report.retriedCreated} created)`,
    );
    violations = report.violations;
  } else if (drill === 'db-outage') {
    violations = await dbOutage(databaseUrl!);
  } else {
    console.error('usage: npm run fault -- orders-crash|db-outage --database-url URL [--real] [--seconds N]');
    process.exit(2);
  }
  for (const violation of violations) console.error(`VIOLATION: ${violation}`);
  console.log(violations.length === 0 ? 'OK: no invariant broke' : `${violations.length} violations`);
  process.exit(violations.length === 0 ? 0 : 1);
}

void main();
