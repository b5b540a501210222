/**
 * One server at a time on an embedded data directory: a second server is
 * refused with a message naming the directory and the pid. While a server
 * runs, `create-admin` and `migrate` work on its database through its socket,
 * and what they report is really there. A server killed with SIGKILL leaves
 * a lock and a socket that do not stop the next one. Always embedded (PGlite
 * on a temp directory), whatever DATABASE_URL says.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { DataDirLockedError, LOCK_FILE, lockDataDir } from '../../src/db/data-dir-lock.js';
import { SERVER_FILE } from '../../src/db/embedded.js';
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
  this.timeout(600_000);
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

  it("lets create-admin and migrate use a running server's database, and refuses a second server", async () => {
    const dataDir = await tempDir();
    const first = await start({ DATA_DIR: dataDir });
    await first.waitFor('/health/ready', 120_000);
    const pid = String(first.child.pid);

    const email = 'running-admin@example.com';
    const created = await script(
      'scripts/create-admin.ts',
      ['--email', email, '--password', 'Secret123'],
      dataDir,
    );
    expect(created.code, created.stderr).to.equal(0);
    expect(created.stdout).to.include(`${email}: created`);
    // In the running server's database at once: no restart, nothing lost.
    expect(await login(first.url, email, 'Secret123')).to.equal(200);
    const listed = await script('scripts/migrate.ts', ['list'], dataDir);
    expect(listed.code, listed.stderr).to.equal(0);
    expect(listed.stdout)
      .to.match(/Z {2}\d{4}_\d{2}_\d{2}_\d{4}_users/)
      .and.not.include('pending');

    const second = await start({ DATA_DIR: dataDir });
    const code = await second.exited;
    expect(code, second.output()).to.equal(1);
    expect(second.output()).to.include(dataDir).and.include(`process ${pid}`);

    // The first server is untouched and still the owner.
    expect((await fetch(`${first.url}/health/ready`)).status).to.equal(200);
    await first.stop();
    for (const file of [LOCK_FILE, SERVER_FILE, '.s.PGSQL.5432']) {
      expect(existsSync(path.join(dataDir, file)), `${file} removed on close`).to.equal(false);
    }

    const again = await start({ DATA_DIR: dataDir });
    await again.waitFor('/health/ready', 120_000);
    expect(await login(again.url, email, 'Secret123'), 'the account was kept').to.equal(200);
  });

  it('starts again after a server was killed with SIGKILL, its lock and socket left behind', async () => {
    const dataDir = await tempDir();
    const killed = await start({ DATA_DIR: dataDir });
    await killed.waitFor('/health/ready', 120_000);
    killed.kill('SIGKILL');
    await killed.exited;
    for (const file of [LOCK_FILE, SERVER_FILE, '.s.PGSQL.5432']) {
      expect(existsSync(path.join(dataDir, file)), `${file} left by the killed server`).to.equal(true);
    }

    const next = await start({ DATA_DIR: dataDir });
    await next.waitFor('/health/ready', 120_000);
    const email = 'after-crash@example.com';
    const created = await script(
      'scripts/create-admin.ts',
      ['--email', email, '--password', 'Secret123'],
      dataDir,
    );
    expect(created.code, created.stderr).to.equal(0);
    expect(await login(next.url, email, 'Secret123')).to.equal(200);
  });

  it('refuses create-admin when the live process holding the directory serves no database', async () => {
    const dataDir = await tempDir();
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      await writeFile(path.join(dataDir, LOCK_FILE), `${live.pid}\n`);
      const run = await script('scripts/create-admin.ts', ['--email', 'x@example.com'], dataDir);
      expect(run.code, run.stdout).to.not.equal(0);
      expect(run.stdout).to.not.match(/created|promoted/);
      expect(run.stderr).to.include(dataDir).and.include(`process ${live.pid}`).and.include('DATABASE_URL');
    } finally {
      live.kill('SIGKILL');
    }
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
