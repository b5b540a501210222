/**
 * What `npm start` and the Dockerfile run is the single-file build that
 * scripts/bundle.mjs writes, not the sources the other tests load through tsx.
 * This builds it into a temp directory laid out like the project and checks
 * the parts of a bundle that can break while the sources work: files read at
 * run time (the contract, the docs assets), the packages left out of the
 * bundle (argon2's native addon, PGlite in its worker), and CommonJS packages
 * running as ES modules.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { serverDatabase, spawnServer } from '../helpers/process.js';
import type { ServerDatabase, ServerProcess } from '../helpers/process.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

describe('the bundled server (dist/server.js)', function () {
  this.timeout(120_000);
  let dir = '';
  let database: ServerDatabase | undefined;
  let server: ServerProcess | undefined;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'bundle-'));
    for (const name of ['node_modules', 'generated', 'package.json']) {
      await symlink(path.join(root, name), path.join(dir, name));
    }
    await run(process.execPath, ['scripts/bundle.mjs', '--outdir', path.join(dir, 'dist')], { cwd: root });
    database = await serverDatabase('bundle-');
    server = await spawnServer(database.env, { entry: path.join(dir, 'dist', 'server.js') });
    await server.waitFor('/health/ready', 60_000);
  });

  after(async () => {
    await server?.stop();
    await database?.remove();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  const url = (pathname: string): string => `${server?.url ?? ''}${pathname}`;

  it('serves the contract it read from generated/ and the documentation assets', async () => {
    const spec = await fetch(url('/openapi.json'));
    expect(spec.status).to.equal(200);
    expect(((await spec.json()) as { openapi: string }).openapi).to.match(/^3\.1\./);
    for (const pathname of ['/docs', '/docs/assets/swagger-ui-bundle.js', '/redoc']) {
      const res = await fetch(url(pathname));
      await res.arrayBuffer();
      expect(res.status, pathname).to.equal(200);
    }
  });

  it('signs up, logs in and answers /users/me (argon2, JWT and the database)', async () => {
    const username = `bundle_${randomBytes(4).toString('hex')}`;
    const password = 'Secret123';
    const signUp = await fetch(url('/register'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        username,
        email: `${username}@example.com`,
        password,
        confirm_password: password,
      }),
    });
    expect(signUp.status, await signUp.clone().text()).to.equal(201);
    const login = await fetch(url('/token'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      // The OAuth2 form's `username` field carries the email.
      body: new URLSearchParams({
        grant_type: 'password',
        username: `${username}@example.com`,
        password,
      }).toString(),
    });
    expect(login.status, await login.clone().text()).to.equal(200);
    const { access_token: token } = (await login.json()) as { access_token: string };
    const me = await fetch(url('/users/me'), { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).to.equal(200);
    expect(await me.json()).to.include({ username, email: `${username}@example.com` });
  });

  it('answers a request the contract refuses with problem+json', async () => {
    const res = await fetch(url('/users/me'));
    expect(res.status).to.equal(401);
    expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
  });
});
