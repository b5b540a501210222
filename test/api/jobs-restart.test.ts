/**
 * Durability across a crash: the server is killed (SIGKILL) right after a user
 * is created and before any worker ran the welcome email; a new server on the
 * same database sends it, exactly once, to an in-test SMTP server.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import createClient from 'openapi-fetch';
import type { paths } from '../../generated/openapi.js';
import { countJobs } from '../../src/db/repos/jobs.repo.js';
import { resetDatabase, sharedDatabase } from '../helpers/app.js';
import { waitFor } from '../helpers/jobs.js';
import { spawnServer } from '../helpers/process.js';
import type { ServerProcess } from '../helpers/process.js';
import { startSmtpSink } from '../helpers/smtp-sink.js';
import type { SmtpSink } from '../helpers/smtp-sink.js';
import { PASSWORD } from '../helpers/users.js';

/** The real server as a child process, once its database is open and migrated. */
async function startServer(env: Record<string, string>): Promise<ServerProcess> {
  const server = await spawnServer(env);
  await server.waitFor('/health/ready', 50_000);
  return server;
}

describe('jobs survive a crash (process kill and restart)', function () {
  this.timeout(120_000);
  const databaseUrl = process.env['DATABASE_URL'];
  let sink: SmtpSink;
  let dataDir: string | undefined;
  let env: Record<string, string>;
  const children: ServerProcess['child'][] = [];

  before(async () => {
    sink = await startSmtpSink();
    if (databaseUrl) {
      env = { DATABASE_URL: databaseUrl };
      await resetDatabase();
    } else {
      // Embedded: two processes in turn on one data directory on disk.
      dataDir = await mkdtemp(path.join(os.tmpdir(), 'jobs-restart-'));
      env = { DATA_DIR: dataDir };
    }
  });
  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await sink.close();
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  });

  it('sends the welcome email exactly once after the server was killed before running it', async () => {
    // 1. A server that only enqueues (JOBS_ENABLED=false): the job cannot have run.
    const first = await startServer({ ...env, JOBS_ENABLED: 'false', SMTP_URL: sink.url });
    children.push(first.child);
    const api = createClient<paths>({ baseUrl: first.url });
    const res = await api.POST('/users', {
      body: { email: 'ada@example.com', full_name: 'Ada Lovelace', age: 36, password: PASSWORD },
    });
    expect(res.response.status).to.equal(201);
    const exited = once(first.child, 'exit');
    first.child.kill('SIGKILL');
    await exited;
    expect(sink.messages).to.have.length(0);
    if (databaseUrl) {
      const { db } = await sharedDatabase();
      expect(await countJobs(db)).to.include({ queued: 2, succeeded: 0 });
    }

    // 2. A new server with workers on the same database picks the job up.
    const second = await startServer({ ...env, JOBS_POLL_INTERVAL_MS: '100', SMTP_URL: sink.url });
    children.push(second.child);
    await waitFor('the welcome email', () => sink.messages.length > 0, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // ten more polls: nothing else arrives
    expect(sink.messages).to.have.length(1);
    const [mail] = sink.messages;
    expect(mail?.to).to.deep.equal(['ada@example.com']);
    expect(mail?.data).to.match(/^Subject: Welcome!$/m);
    expect(mail?.data).to.include('Ada Lovelace');
    if (databaseUrl) {
      const { db } = await sharedDatabase();
      await waitFor('both jobs done', async () => (await countJobs(db)).succeeded === 2);
    }
    const stopped = once(second.child, 'exit');
    second.child.kill('SIGTERM');
    const [code] = (await stopped) as [number];
    expect(code, second.output()).to.equal(0);
    expect(second.output()).to.include('email sent');
  });
});
