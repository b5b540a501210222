/**
 * One process at a time on an embedded data directory: while a server runs on
 * it, `create-admin`, `migrate` and a second server refuse with a message
 * naming the directory and the pid, and exit non-zero. Once the server has
 * stopped, `create-admin` succeeds, and what it reported is really there.
 * Always embedded (PGlite on a temp directory), whatever DATABASE_URL says.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { DataDirLockedError, LOCK_FILE, lockDataDir } from '../../src/db/data-dir-lock.js';
import { spawnServer } from '../helpers/process.js';
import type { ServerProcess } from '../helpers/process.js';

const root = path.resolve(import.meta.dirname, '../..');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a script with tsx on the given data directory (never on DATABASE_URL). */
function script(file: string, args: string[], dataDir: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', file, ...args],
      {
        cwd: root,
        env: {
          PATH: process.env['PATH'] ?? '',
          DATA_DIR: dataDir,
          LOG_LEVEL: 'silent',
          ARGON2_MEMORY_KIB: '8192',
        },
      },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout, stderr });
      },
    );
  });
}

async function login(url: string, username: string, password: string): Promise<number> {
  const res = await fetch(`${url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', username, password }).toString(),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('the embedded data directory lock', function () {
  this.timeout(180_000);
  const dirs: string[] = [];
  const servers: ServerProcess[] = [];
  const tempDir = async (): Promise<string> => {
    const dir = await mkdtemp(path.join(tmpdir(), 'data-dir-lock-'));
    dirs.push(dir);
    return dir;
  };
  const start = async (env: Record<string, string>): Promise<ServerProcess> => {
    const server = await spawnServer(env);
    servers.push(server);
    return server;
  };
  after(async () => {
    for (const server of servers) await server.stop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('refuses create-admin, migrate and a second server while a server runs, and allows them after', async () => {
    const dataDir = await tempDir();
    const first = await start({ DATA_DIR: dataDir });
    await first.waitFor('/health/ready', 60_000);
    const pid = String(first.child.pid);

    const refusal = (run: Run, name: string): void => {
      expect(run.code, `${name} exit code\n${run.stdout}${run.stderr}`).to.not.equal(0);
      expect(run.stdout, `${name} must not report success`).to.not.match(/created|promoted/);
      expect(run.stderr).to.include(dataDir).and.include(`process ${pid}`).and.include('DATABASE_URL');
    };
    const email = 'locked-admin@example.com';
    const args = ['--email', email, '--password', 'Secret123'];
    refusal(await script('scripts/create-admin.ts', args, dataDir), 'create-admin');
    refusal(await script('scripts/migrate.ts', ['list'], dataDir), 'migrate');

    const second = await start({ DATA_DIR: dataDir });
    const code = await second.exited;
    expect(code, second.output()).to.equal(1);
    expect(second.output()).to.include(dataDir).and.include(`process ${pid}`);

    // The first server is untouched and still the owner.
    expect((await fetch(`${first.url}/health/ready`)).status).to.equal(200);
    expect(await login(first.url, email, 'Secret123')).to.equal(401);
    await first.stop();
    expect(existsSync(path.join(dataDir, LOCK_FILE)), 'lock removed on close').to.equal(false);

    const created = await script('scripts/create-admin.ts', args, dataDir);
    expect(created.code, created.stderr).to.equal(0);
    expect(created.stdout).to.include(`${email}: created`);
    const again = await start({ DATA_DIR: dataDir });
    await again.waitFor('/health/ready', 60_000);
    expect(await login(again.url, email, 'Secret123'), 'the reported account exists').to.equal(200);
  });

  it('takes over a lock left by a process that is gone, and refuses one held by a live process', async () => {
    const dataDir = await tempDir();
    const gone = spawn(process.execPath, ['-e', '']);
    await once(gone, 'exit');
    await writeFile(path.join(dataDir, LOCK_FILE), `${gone.pid}\n`);
    const lock = await lockDataDir(dataDir);
    try {
      // Held by this (live) process now: another taker is refused, naming it.
      const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
      try {
        const other = await tempDir();
        await writeFile(path.join(other, LOCK_FILE), `${live.pid}\n`);
        const refused = await lockDataDir(other).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(refused).to.be.instanceOf(DataDirLockedError);
        expect((refused as DataDirLockedError).pid).to.equal(live.pid);
      } finally {
        live.kill('SIGKILL');
      }
    } finally {
      await lock.release();
    }
    expect(existsSync(path.join(dataDir, LOCK_FILE))).to.equal(false);
  });
});
