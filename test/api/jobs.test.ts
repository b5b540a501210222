/** The durable job queue: retries, failure, leases, two workers, shutdown, and the jobs the API enqueues. */
import { expect } from 'chai';
import { sql } from 'kysely';
import { claimJobs, completeJob, countJobs, findJob } from '../../src/db/repos/jobs.repo.js';
import { loadConfig } from '../../src/config.js';
import { backoffMs, enqueue, enqueueWelcomeEmail } from '../../src/jobs/index.js';
import type { JobHandler, JobRunner } from '../../src/jobs/index.js';
import { countRows, resetDatabase, sharedDatabase, startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { capturingMailer, FAST_JOBS, testRunner, waitFor, waitForIdleQueue } from '../helpers/jobs.js';
import { multipart, postForm, textFile } from '../helpers/multipart.js';
import { startSmtpSink } from '../helpers/smtp-sink.js';
import type { SmtpSink } from '../helpers/smtp-sink.js';
import { PASSWORD, bearer, seedUser, tokenFor } from '../helpers/users.js';
import { expectProblem } from '../helpers/problems.js';
import { expectAnswer, login } from '../helpers/client.js';

async function enqueueOne(kind: string, payload: Record<string, unknown> = {}): Promise<number> {
  const { db } = await sharedDatabase();
  const id = await enqueue(db, kind, payload);
  if (id === undefined) throw new Error('not enqueued');
  return id;
}

async function job(id: number) {
  const { db } = await sharedDatabase();
  const row = await findJob(db, id);
  if (row === undefined) throw new Error(`job ${id} is gone`);
  return row;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('background jobs', () => {
  const runners: JobRunner[] = [];
  const runner = async (...args: Parameters<typeof testRunner>): Promise<JobRunner> => {
    const created = await testRunner(...args);
    runners.push(created);
    created.start();
    return created;
  };
  beforeEach(async () => {
    await resetDatabase();
  });
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop()));
  });

  describe('runner', () => {
    it('retries a failing job with backoff, then succeeds', async () => {
      let calls = 0;
      const flaky: JobHandler = async () => {
        calls += 1;
        if (calls < 3) throw new Error(`boom ${calls}`);
      };
      const id = await enqueueOne('flaky');
      await runner({ flaky }, { JOBS_MAX_ATTEMPTS: '5' });
      await waitFor('success', async () => (await job(id)).status === 'succeeded');
      const row = await job(id);
      expect(calls).to.equal(3);
      expect(row.attempts).to.equal(3);
      expect(row.last_error).to.equal('Error: boom 2'); // the history of the last failure stays
      expect(row.finished_at).to.be.instanceOf(Date);
    });

    it('keeps a job that always fails as failed with its last error, and stops trying', async () => {
      let calls = 0;
      const broken: JobHandler = async () => {
        calls += 1;
        throw new Error(`always ${calls}`);
      };
      const id = await enqueueOne('broken');
      await runner({ broken }, { JOBS_MAX_ATTEMPTS: '3' });
      await waitFor('failure', async () => (await job(id)).status === 'failed');
      await sleep(200); // ten more polls
      const row = await job(id);
      expect(calls).to.equal(3);
      expect(row).to.include({ status: 'failed', attempts: 3, last_error: 'Error: always 3' });
    });

    it('honours a per-job max_attempts and fails a kind nobody handles', async () => {
      const { db } = await sharedDatabase();
      const id = await enqueue(db, 'nobody-handles-this', {}, { maxAttempts: 2 });
      await runner({}, { JOBS_MAX_ATTEMPTS: '10' });
      await waitFor('failure', async () => (await job(id ?? 0)).status === 'failed');
      expect(await job(id ?? 0)).to.include({
        attempts: 2,
        last_error: 'Error: no handler for job kind "nobody-handles-this"',
      });
    });

    it('backs off exponentially, capped, with jitter between half and all of the delay', () => {
      const config = { backoffBaseMs: 1000, backoffMaxMs: 10_000 };
      for (let i = 0; i < 50; i += 1) {
        expect(backoffMs(config, 1)).to.be.within(500, 1000);
        expect(backoffMs(config, 3)).to.be.within(2000, 4000);
        expect(backoffMs(config, 30)).to.be.within(5000, 10_000);
      }
    });

    it('runs a job whose worker died again once its lease ran out; the dead attempt can no longer finish it', async () => {
      const id = await enqueueOne('work');
      const { db } = await sharedDatabase();
      // A process claims the job and dies: nobody will report on this attempt.
      const claimed = await claimJobs(db, {
        workerId: 'dead',
        limit: 1,
        leaseMs: 300,
        defaultMaxAttempts: 5,
      });
      expect(claimed.map((row) => row.id)).to.deep.equal([id]);
      let calls = 0;
      await runner({ work: async () => void (calls += 1) });
      await sleep(100);
      expect(calls, 'not before the lease ends').to.equal(0);
      await waitFor('the retry', async () => (await job(id)).status === 'succeeded');
      expect(calls).to.equal(1);
      expect((await job(id)).attempts).to.equal(2);
      expect(await completeJob(db, { id, attempts: 1, workerId: 'dead' })).to.equal(false);
    });

    it('keeps a lost job with no attempts left as failed', async () => {
      const { db } = await sharedDatabase();
      const id = await enqueue(db, 'work', {}, { maxAttempts: 1 });
      await claimJobs(db, { workerId: 'dead', limit: 1, leaseMs: 100, defaultMaxAttempts: 5 });
      let calls = 0;
      await runner({ work: async () => void (calls += 1) }, { JOBS_LEASE_MS: '100' });
      await waitFor('failure', async () => (await job(id ?? 0)).status === 'failed');
      expect(calls).to.equal(0);
      expect((await job(id ?? 0)).last_error).to.match(/^lease expired/);
    });

    it('never runs one job twice with two workers on the queue', async function () {
      this.timeout(60_000);
      const { db } = await sharedDatabase();
      const total = 120;
      await sql`insert into jobs (kind, payload) select 'count', '{}'::jsonb from generate_series(1, ${total})`.execute(
        db,
      );
      const runs = new Map<number, number>();
      const byWorker = [0, 0];
      const handler =
        (worker: 0 | 1): JobHandler =>
        async (_payload, { job: row }) => {
          runs.set(row.id, (runs.get(row.id) ?? 0) + 1);
          byWorker[worker] = (byWorker[worker] ?? 0) + 1;
          await sleep(2);
        };
      const settings = { JOBS_CONCURRENCY: '8', JOBS_POLL_INTERVAL_MS: '10' };
      await Promise.all([runner({ count: handler(0) }, settings), runner({ count: handler(1) }, settings)]);
      const counts = await waitForIdleQueue(45_000);
      expect(counts).to.include({ succeeded: total, failed: 0 });
      expect(runs.size).to.equal(total);
      expect([...runs.values()].filter((n) => n !== 1)).to.deep.equal([]);
      expect(byWorker[0]! + byWorker[1]!).to.equal(total);
    });

    it('waits for running jobs on stop', async () => {
      let finished = false;
      const id = await enqueueOne('slow');
      const r = await runner({
        slow: async () => {
          await sleep(300);
          finished = true;
        },
      });
      await waitFor('the job to start', () => r.active === 1);
      await r.stop();
      expect(finished).to.equal(true);
      expect((await job(id)).status).to.equal('succeeded');
    });

    it('stops waiting after JOBS_SHUTDOWN_TIMEOUT_MS and leaves the job to its lease', async () => {
      const id = await enqueueOne('stuck');
      const r = await runner(
        { stuck: () => new Promise<void>(() => undefined) },
        { JOBS_SHUTDOWN_TIMEOUT_MS: '100' },
      );
      await waitFor('the job to start', () => r.active === 1);
      const started = Date.now();
      await r.stop();
      expect(Date.now() - started).to.be.below(5000);
      expect((await job(id)).status).to.equal('running');
    });
  });

  describe('mail', () => {
    let sink: SmtpSink;
    before(async () => {
      sink = await startSmtpSink();
    });
    after(async () => {
      await sink.close();
    });

    it('sends the welcome email over SMTP when SMTP_URL is set', async () => {
      const t = await startApp({ ...FAST_JOBS, SMTP_URL: sink.url, MAIL_FROM: 'Team <team@example.com>' });
      try {
        const user = await seedUser({ email: 'grace@example.com', full_name: 'Grace Hopper' });
        const { db } = await sharedDatabase();
        await enqueueWelcomeEmail(db, user.id);
        await waitForIdleQueue();
        expect(sink.messages.map((m) => [m.from, m.to])).to.deep.equal([
          ['team@example.com', ['grace@example.com']],
        ]);
        expect(sink.messages[0]?.data).to.include('Grace Hopper');
      } finally {
        await t.close();
      }
    });

    it('writes the email to the log when SMTP_URL is not set', async () => {
      const t = await startApp({ ...FAST_JOBS });
      try {
        const user = await seedUser({ email: 'grace@example.com' });
        const { db } = await sharedDatabase();
        await enqueueWelcomeEmail(db, user.id);
        await waitForIdleQueue();
        const line = t.logs.find((l) => l.msg?.startsWith('email (SMTP_URL is not set'));
        expect(line?.['mail']).to.deep.include({ to: 'grace@example.com', subject: 'Welcome!' });
      } finally {
        await t.close();
      }
    });

    it('rejects an SMTP_URL that is not smtp:// or smtps://', () => {
      expect(() => loadConfig({ SMTP_URL: 'http://mail.example.com' })).to.throw(/SMTP_URL/);
    });
  });

  describe('jobs enqueued by the API', () => {
    let t: TestApp;
    const mailer = capturingMailer();
    before(async () => {
      t = await startApp({ ...FAST_JOBS }, { mailer });
    });
    after(async () => {
      await t.close();
    });
    beforeEach(() => {
      mailer.sent.length = 0;
    });

    const signUp = (email: string) =>
      t.api.POST('/users', { body: { email, full_name: 'Ada Lovelace', age: 36, password: PASSWORD } });

    it('sends one welcome email and records user_created for a new account', async () => {
      const { id } = expectAnswer(await signUp('ada@example.com'), 201);
      await waitForIdleQueue();
      expect(mailer.sent).to.have.length(1);
      expect(mailer.sent[0]).to.include({ to: 'ada@example.com', subject: 'Welcome!' });
      expect(mailer.sent[0]?.text).to.include('Ada Lovelace');
      const { db } = await sharedDatabase();
      const activity = await db.selectFrom('activity').selectAll().execute();
      expect(activity.map((a) => [a.user_id, a.kind])).to.deep.equal([[id, 'user_created']]);
    });

    it('does not send or record twice when a finished job runs again', async () => {
      await signUp('ada@example.com');
      await waitForIdleQueue();
      const { db } = await sharedDatabase();
      // As if the worker died after the side effect but before marking the job done.
      await db
        .updateTable('jobs')
        .set({ status: 'queued', run_at: sql`now()` })
        .execute();
      t.app.jobs.wake();
      await waitForIdleQueue();
      expect((await countJobs(db)).succeeded).to.equal(2);
      expect(mailer.sent).to.have.length(1);
      expect(await countRows('activity')).to.equal(1);
      expect(await countRows('sent_emails')).to.equal(1);
    });

    it('enqueues nothing when the account is not created (409)', async () => {
      await seedUser({ email: 'taken@example.com' });
      const res = await signUp('TAKEN@example.com');
      await expectProblem(res, 409, 'email-taken');
      expect(await countRows('jobs')).to.equal(0);
    });

    it('register enqueues the same jobs', async () => {
      const res = await t.api.POST('/register', {
        body: { username: 'ada_l', email: 'ada@example.com', password: PASSWORD, confirm_password: PASSWORD },
      });
      expect(res.response.status).to.equal(201);
      await waitForIdleQueue();
      expect(mailer.sent.map((m) => m.to)).to.deep.equal(['ada@example.com']);
      expect(await countRows('activity')).to.equal(1);
    });

    it('records a login, and nothing for a failed one', async () => {
      const user = await seedUser({ email: 'grace@example.com' });
      expect((await login(t, 'grace@example.com', 'Wrong1234')).response.status).to.equal(401);
      expect((await login(t, 'grace@example.com', PASSWORD)).response.status).to.equal(200);
      await waitForIdleQueue();
      const { db } = await sharedDatabase();
      const rows = await db.selectFrom('activity').select(['user_id', 'kind', 'details']).execute();
      expect(rows).to.deep.equal([{ user_id: user.id, kind: 'login', details: { ip: '127.0.0.1' } }]);
    });

    it('records one order_placed per order, none for an idempotent replay or a refused order', async () => {
      const buyer = await seedUser();
      const { db } = await sharedDatabase();
      const item = await db
        .insertInto('items')
        .values({ owner_id: buyer.id, name: 'Pen', price: '2.50', tax: null })
        .returning('id')
        .executeTakeFirstOrThrow();
      const headers = bearer(tokenFor(t, buyer.id));
      const params = { header: { 'Idempotency-Key': 'order-1' } };
      const body = { items: [{ item_id: item.id, quantity: 2 }], shipping_address: 'x' };
      const { id } = expectAnswer(await t.api.POST('/orders', { body, params, headers }), 201);
      const replay = await t.api.POST('/orders', { body, params, headers });
      expect(replay.response.headers.get('idempotent-replayed')).to.equal('true');
      const refused = await t.api.POST('/orders', {
        body: { ...body, items: [{ item_id: 999, quantity: 1 }] },
        headers,
      });
      await expectProblem(refused, 422, 'validation-failed');
      await waitForIdleQueue();
      const rows = await db.selectFrom('activity').select(['kind', 'details']).execute();
      expect(rows).to.deep.equal([{ kind: 'order_placed', details: { order_id: id, total: 5 } }]);
    });

    it('records one file_uploaded per stored file, and nothing for a refused upload', async () => {
      const owner = await seedUser();
      const auth = bearer(tokenFor(t, owner.id));
      // The generated types read a binary part as a string and have no place for its filename,
      // so the bytes are built part by part; `body` is what they carry in the contract's terms.
      const single = multipart([textFile('hello', 'a.txt')]);
      const one = await t.api.POST('/upload', {
        body: { file: 'hello' },
        bodySerializer: () => single.body,
        headers: { ...auth, 'Content-Type': single.contentType },
      });
      expect(one.response.status).to.equal(201);
      const several = multipart([textFile('b', 'b.txt', 'files'), textFile('c', 'c.txt', 'files')]);
      const two = await t.api.POST('/upload-multiple', {
        body: { files: ['b', 'c'] },
        bodySerializer: () => several.body,
        headers: { ...auth, 'Content-Type': several.contentType },
      });
      expect(two.response.status).to.equal(201);
      const refused = await postForm(t, '/upload', multipart([textFile('x', 'x.txt', 'other')]), auth);
      await expectProblem(refused, 422, 'validation-failed');
      await waitForIdleQueue();
      const { db } = await sharedDatabase();
      const rows = await db
        .selectFrom('activity')
        .select(['user_id', 'kind', 'details'])
        .orderBy('id')
        .execute();
      expect(
        rows.map((r) => [r.user_id, r.kind, (r.details as { filename?: string }).filename]),
      ).to.have.deep.members([
        [owner.id, 'file_uploaded', 'a.txt'],
        [owner.id, 'file_uploaded', 'b.txt'],
        [owner.id, 'file_uploaded', 'c.txt'],
      ]);
    });
  });
});
