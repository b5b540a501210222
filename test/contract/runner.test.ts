/**
 * The QA runner itself: it passes against a fresh real server with at least
 * 100 cases per operation, and it fails (exit 1, with a curl reproduction and
 * reports) against a server that answers one undeclared status.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { handlers } from '../../src/handlers/index.js';
import { insertItem } from '../../src/db/repos/items.repo.js';
import { resetDatabase, sharedDatabase, startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { PASSWORD, postLogin, seedUser } from '../helpers/users.js';
import { loadContract } from '../../scripts/contract/document.js';
import { runContract } from '../../scripts/contract/runner.js';
import type { RunReport } from '../../scripts/contract/runner.js';

const root = path.resolve(import.meta.dirname, '../..');
const CASES = 100;
const BODY_LIMIT = 16384;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      path.join(root, 'node_modules/.bin/tsx'),
      ['scripts/contract/cli.ts', ...args],
      { cwd: root, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout, stderr });
      },
    );
  });
}

describe('contract runner (npm run contract)', function () {
  this.timeout(180_000);

  describe('against a fresh real server', () => {
    let t: TestApp;
    let report: RunReport;
    before(async () => {
      await resetDatabase();
      // Cheap password hashing: the run signs up and logs in hundreds of times.
      t = await startApp({
        API_KEYS: 'contract-key',
        BODY_LIMIT_BYTES: String(BODY_LIMIT),
        ARGON2_MEMORY_KIB: '1024',
        ARGON2_TIME_COST: '1',
      });
      const admin = await seedUser({ email: 'qa-admin@example.com', role: 'admin' });
      expect(admin.role).to.equal('admin');
      report = await runContract({
        baseUrl: t.url,
        contract: await loadContract(path.join(root, 'generated/openapi.json')),
        cases: CASES,
        seed: 20261128,
        login: { email: 'qa-admin@example.com', password: PASSWORD },
        apiKey: 'contract-key',
        bodyLimit: BODY_LIMIT,
      });
    });
    after(async () => {
      await t.close();
      await resetDatabase();
    });

    it('passes every check', () => {
      const first = report.failures
        .slice(0, 3)
        .map((f) => `${f.operation} ${f.case}: ${f.problems.join('; ')}\n${f.curl}`);
      expect(first.join('\n\n')).to.equal('');
    });

    it(`runs at least ${CASES} cases for every operation of the contract`, () => {
      const operations = report.operations.filter((op) => !op.operation.startsWith('(methods)'));
      expect(operations.map((op) => op.operation).sort()).to.have.members([...Object.keys(handlers)].sort());
      // Only protocol upgrades (WebSocket, 101) may be skipped, and they say so.
      for (const op of operations.filter((o) => o.skipped !== undefined))
        expect(op.skipped).to.match(/upgrade/);
      for (const op of operations.filter((o) => o.skipped === undefined)) {
        expect(op.cases, op.operation).to.be.at.least(CASES);
      }
    });

    it('gets real successes, not only refusals', () => {
      for (const op of report.operations.filter((o) => !o.operation.startsWith('(methods)') && !o.skipped)) {
        const successes = Object.entries(op.statuses)
          .filter(([status]) => status.startsWith('2'))
          .reduce((n, [, count]) => n + count, 0);
        expect(successes, op.operation).to.be.greaterThan(0);
      }
    });
  });

  describe('against a server holding data it did not create', () => {
    let t: TestApp;
    let report: RunReport;
    const victims: string[] = [];
    const seededItems: number[] = [];
    /** Every row the runner did not create, as it was before the run. */
    const snapshot = async (): Promise<unknown> => {
      const { db } = await sharedDatabase();
      const users = await db
        .selectFrom('users')
        .selectAll()
        .where('email', 'in', [...victims, 'owner-admin@example.com'])
        .orderBy('id')
        .execute();
      const items = await db
        .selectFrom('items')
        .selectAll()
        .where('id', 'in', seededItems)
        .orderBy('id')
        .execute();
      return { users, items };
    };
    let before_: unknown;

    before(async () => {
      await resetDatabase();
      // Default login throttling (LOGIN_MAX_FAILURES_PER_ADDRESS 20), as on a real deployment.
      // The seeded hashes' own argon2 cost, so a login does not upgrade (rewrite) one.
      t = await startApp({ API_KEYS: 'contract-key' });
      const { db } = await sharedDatabase();
      // Ids 1 and 2 are someone else's accounts with items: the ids a careless runner guesses first.
      for (const email of ['alice@example.com', 'bob@example.com']) {
        victims.push(email);
        const user = await seedUser({ email });
        for (const name of ['Lamp', 'Desk']) {
          const item = await insertItem(db, {
            owner_id: user.id,
            name,
            description: `${email}'s`,
            price: '10.00',
            tax: null,
          });
          seededItems.push(item.id);
        }
      }
      await seedUser({ email: 'owner-admin@example.com', role: 'admin' });
      before_ = await snapshot();
      report = await runContract({
        baseUrl: t.url,
        contract: await loadContract(path.join(root, 'generated/openapi.json')),
        cases: 20,
        seed: 20261128,
        login: { email: 'owner-admin@example.com', password: PASSWORD },
        apiKey: 'contract-key',
      });
    });
    after(async () => {
      await t.close();
      await resetDatabase();
    });

    it('passes, and leaves every user and item it did not create as it was', async () => {
      expect(report.failures.map((f) => `${f.operation} ${f.case}: ${f.problems.join('; ')}`)).to.deep.equal(
        [],
      );
      expect(await snapshot()).to.deep.equal(before_);
    });

    it('fails logins on purpose only twice, and still checks the 401', () => {
      const login = report.operations.find((op) => op.operation === 'login');
      expect(login?.statuses['401']).to.equal(2);
      expect(login?.statuses['429']).to.equal(undefined);
    });

    it('leaves logins from the same address working', async () => {
      for (const email of [...victims, 'owner-admin@example.com']) {
        const res = await postLogin(t, email, PASSWORD);
        expect(res.status, `${email}: ${await res.text()}`).to.equal(200);
      }
    });
  });

  describe('against a server that answers one undeclared status', () => {
    let t: TestApp;
    let reports: string;
    before(async () => {
      reports = mkdtempSync(path.join(tmpdir(), 'contract-reports-'));
      // RESPONSE_VALIDATION=log lets the undeclared 418 through instead of turning it into a 500.
      t = await startApp(
        { RESPONSE_VALIDATION: 'log' },
        {
          handlers: {
            ...handlers,
            getHealth: async () => ({ status: 418, body: { status: 'healthy' } }),
          },
        },
      );
    });
    after(async () => {
      await t.close();
      rmSync(reports, { recursive: true, force: true });
    });

    it('exits 1, names the operation and the status, and reproduces it with curl', async () => {
      const run = await cli([
        '--base-url',
        t.url,
        '--cases',
        '5',
        '--seed',
        '1',
        '--only',
        'getRoot,getHealth',
        '--no-journeys',
        '--reports',
        reports,
      ]);
      expect(run.code, run.stderr).to.equal(1);
      expect(run.stdout).to.match(/FAIL getHealth/);
      expect(run.stdout).to.include('status 418 is not declared for getHealth');
      expect(run.stdout).to.match(/curl -i -X GET '.*\/health'/);
      const junit = readFileSync(path.join(reports, 'contract-junit.xml'), 'utf8');
      expect(junit).to.match(/<testcase classname="contract" name="GET \/health \(getHealth\)"><failure/);
      expect(junit).to.match(/<testcase classname="contract" name="GET \/ \(getRoot\)"\/>/);
      const json = JSON.parse(readFileSync(path.join(reports, 'contract.json'), 'utf8')) as RunReport;
      expect(json.failures.every((f) => f.operation === 'getHealth')).to.equal(true);
      expect(json.failures.length).to.equal(5);
    });
  });
});
