/**
 * HEAD and OPTIONS on every operation of the contract (RFC 9110 §9.3.2, §9.3.7):
 * each GET answers HEAD with the same status and headers and no body; each
 * path answers OPTIONS with 204 and an `Allow` listing its declared methods
 * plus HEAD (where GET is declared) and OPTIONS, and an undeclared method
 * with 405 and the same `Allow`. A new operation in openapi.yaml is covered
 * here by itself; path parameters name fixtures created below, or the
 * contract's examples.
 */
import { mkdtemp, readdir, rm, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadSpec } from '../../src/contract/spec.js';
import type { OperationSpec } from '../../src/contract/spec.js';
import { insertItem } from '../../src/db/repos/items.repo.js';
import { insertOrder } from '../../src/db/repos/orders.repo.js';
import { resetDatabase, sharedDatabase, startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { seedFile } from '../helpers/multipart.js';
import { bearer, seedUser, tokenFor } from '../helpers/users.js';

const API_KEY = 'http-semantics-key';
const spec = loadSpec();

/** Headers whose value differs between two answers to the same request: only their presence is compared. */
const VOLATILE = new Set(['date', 'x-process-time', 'ratelimit']);
/** Connection management: fetch closes the connection after a HEAD (it asks with `Connection: close`). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive']);

/** The methods a path answers: its declared ones, HEAD where GET is declared, and OPTIONS. */
function expectedAllow(operations: readonly OperationSpec[]): string[] {
  const methods = operations.map((op) => op.method.toUpperCase());
  if (methods.includes('GET') && !methods.includes('HEAD')) methods.push('HEAD');
  if (!methods.includes('OPTIONS')) methods.push('OPTIONS');
  return methods.sort();
}

const allowOf = (res: Response): string[] =>
  (res.headers.get('allow') ?? '')
    .split(',')
    .map((method) => method.trim())
    .filter((method) => method !== '')
    .sort();

function headersOf(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    if (!HOP_BY_HOP.has(name)) out[name] = VOLATILE.has(name) ? '(present)' : value;
  });
  return out;
}

/** The operation's path with every parameter filled from the fixtures, or else its example. */
function fill(operation: OperationSpec, values: Record<string, string | number>): string {
  let target = operation.path;
  for (const parameter of operation.parameters.filter((p) => p.in === 'path')) {
    const example = parameter.example;
    const value =
      values[parameter.name] ?? (typeof example === 'string' || typeof example === 'number' ? example : 1);
    target = target.replace(`{${parameter.name}}`, encodeURIComponent(String(value)));
  }
  const query = new URLSearchParams();
  for (const parameter of operation.parameters.filter((p) => p.in === 'query' && p.required))
    query.set(parameter.name, String(parameter.example));
  const search = query.toString();
  return search === '' ? target : `${target}?${search}`;
}

describe('HTTP semantics: HEAD and OPTIONS (from openapi.yaml)', () => {
  let t: TestApp;
  let filesDir: string;
  let values: Record<string, string | number>;
  let adminToken: string;

  before(async () => {
    filesDir = await mkdtemp(path.join(os.tmpdir(), 'http-semantics-files-'));
    t = await startApp({ FILES_DIR: filesDir, API_KEYS: API_KEY });
    await resetDatabase();
    const admin = await seedUser({ role: 'admin' });
    const owner = await seedUser({ role: 'user' });
    adminToken = tokenFor(t, admin.id);
    const { db } = await sharedDatabase();
    const item = await insertItem(db, { owner_id: owner.id, name: 'Keyboard', price: '59.90', tax: '0.1' });
    const order = await db.transaction().execute((trx) =>
      insertOrder(trx, {
        userId: owner.id,
        shippingAddress: 'Somewhere',
        lines: [{ itemId: item.id, quantity: 1 }],
      }),
    );
    values = {
      user_id: owner.id,
      item_id: item.id,
      order_id: order.order.id,
      file_id: await seedFile(t, owner.id),
    };
  });
  after(async () => {
    await t.close();
    await rm(filesDir, { recursive: true, force: true });
  });

  /** Credentials that pass every operation's security: an admin's token and an API key. */
  const credentials = (): Record<string, string> => ({ ...bearer(adminToken), 'X-API-Key': API_KEY });

  describe('HEAD answers like GET, without a body', () => {
    for (const operation of spec.operations.filter((op) => op.method === 'get')) {
      it(`${operation.operationId} (HEAD ${operation.path})`, async () => {
        const target = fill(operation, values);
        const headers = { ...credentials(), 'X-Request-ID': `head-${operation.operationId}` };
        const get = await t.fetch(target, { headers });
        const getBody = Buffer.from(await get.arrayBuffer());
        // The request itself is good: what is compared is the operation's answer, not a refusal.
        expect(get.status, getBody.toString('utf8')).to.not.be.oneOf([400, 401, 403, 405, 422]);
        const head = await t.fetch(target, { method: 'HEAD', headers });
        const headBody = Buffer.from(await head.arrayBuffer());
        expect(head.status, getBody.toString('utf8')).to.equal(get.status);
        expect(headersOf(head)).to.deep.equal(headersOf(get));
        expect(headBody.length).to.equal(0);
        if (get.headers.get('content-length') !== null && get.headers.get('content-encoding') === null)
          expect(Number(get.headers.get('content-length'))).to.equal(getBody.length);
      });
    }
  });

  describe('OPTIONS answers 204 with Allow; an undeclared method is 405 with the same Allow', () => {
    const byPath = new Map<string, OperationSpec[]>();
    for (const operation of spec.operations)
      byPath.set(operation.path, [...(byPath.get(operation.path) ?? []), operation]);
    for (const [template, operations] of byPath) {
      it(template, async () => {
        const first = operations[0] as OperationSpec;
        const target = fill(first, values).split('?')[0] ?? '';
        const allow = expectedAllow(operations);
        const options = await t.fetch(target, { method: 'OPTIONS' });
        expect(options.status).to.equal(204);
        expect(allowOf(options)).to.deep.equal(allow);
        expect(options.headers.get('x-request-id')).to.be.a('string');
        expect((await options.arrayBuffer()).byteLength).to.equal(0);
        const undeclared = ['PUT', 'PATCH', 'DELETE', 'POST'].find((method) => !allow.includes(method));
        if (undeclared === undefined) return;
        const refused = await t.fetch(target, { method: undeclared, headers: credentials() });
        expect(refused.status).to.equal(405);
        expect(allowOf(refused)).to.deep.equal(allow);
      });
    }
  });

  describe('HEAD on a download', () => {
    it('ignores Range (RFC 9110 §14.2): 200 with the whole length, no Content-Range', async () => {
      const target = `/download/${values['file_id']}`;
      const headers = { ...credentials(), Range: 'bytes=0-4' };
      expect((await t.fetch(target, { headers })).status).to.equal(206);
      const head = await t.fetch(target, { method: 'HEAD', headers });
      expect(head.status).to.equal(200);
      expect(head.headers.get('content-length')).to.equal(String('Hello, world!'.length));
      expect(head.headers.get('content-range')).to.equal(null);
      expect(head.headers.get('accept-ranges')).to.equal('bytes');
    });

    it('never reads the stored bytes: it answers from the file row alone', async () => {
      const owner = await seedUser({ role: 'user' });
      const fileId = await seedFile(t, owner.id, 'bytes that go missing');
      // Remove the bytes behind the row: GET can no longer stream them, HEAD does not try.
      const stored = await readdir(filesDir, { recursive: true, withFileTypes: true });
      const { db } = await sharedDatabase();
      const row = await db
        .selectFrom('files')
        .select('storage_key')
        .where('id', '=', fileId)
        .executeTakeFirstOrThrow();
      const file = stored.find((entry) => entry.isFile() && entry.name.startsWith(row.storage_key));
      if (file === undefined) throw new Error('stored bytes not found');
      await unlink(path.join(file.parentPath, file.name));
      const target = `/download/${fileId}`;
      const get = await t.fetch(target, { headers: credentials() });
      expect(get.status).to.equal(500);
      const head = await t.fetch(target, { method: 'HEAD', headers: credentials() });
      expect(head.status).to.equal(200);
      expect(head.headers.get('content-length')).to.equal(String('bytes that go missing'.length));
    });
  });

  describe('CORS preflight and OPTIONS', () => {
    it('answers a preflight as before when origins are configured, and a plain OPTIONS with Allow', async () => {
      const open = await startApp({ CORS_ORIGINS: 'https://app.example' });
      try {
        const preflight = await open.fetch('/items', {
          method: 'OPTIONS',
          headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST' },
        });
        expect(preflight.status).to.equal(204);
        expect(preflight.headers.get('access-control-allow-origin')).to.equal('https://app.example');
        expect(preflight.headers.get('access-control-allow-methods')).to.include('POST');
        expect(allowOf(preflight)).to.deep.equal(['GET', 'HEAD', 'OPTIONS', 'POST']);
        const plain = await open.fetch('/items', {
          method: 'OPTIONS',
          headers: { Origin: 'https://app.example' },
        });
        expect(plain.status).to.equal(204);
        expect(allowOf(plain)).to.deep.equal(['GET', 'HEAD', 'OPTIONS', 'POST']);
        expect(plain.headers.get('access-control-allow-origin')).to.equal('https://app.example');
        expect(plain.headers.get('access-control-allow-methods')).to.equal(null);
      } finally {
        await open.close();
      }
    });
  });
});
