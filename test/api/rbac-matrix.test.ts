/**
 * The RBAC matrix, generated from the contract: every operation × every kind
 * of caller, with the outcome its `security`, `x-roles` and `x-owner-param`
 * declare. A new operation in openapi.yaml adds its rows here by itself; its
 * request is built from the contract's examples.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadSpec } from '../../src/contract/spec.js';
import type { OperationSpec } from '../../src/contract/spec.js';
import { insertItem } from '../../src/db/repos/items.repo.js';
import { insertOrder } from '../../src/db/repos/orders.repo.js';
import { resetDatabase, sharedDatabase, startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { exampleForm, seedFile } from '../helpers/multipart.js';
import { bearer, seedUser, tokenFor } from '../helpers/users.js';

const ACTORS = ['anonymous', 'guest', 'user', 'owner', 'admin'] as const;
type Actor = (typeof ACTORS)[number];
type Outcome = 'success' | 401 | 403 | 404;

/** The account the examples log in as and own: `owner` in the matrix. */
const OWNER_EMAIL = 'ada@example.com';

/** What the contract says this caller gets. */
function declaredOutcome(operation: OperationSpec, actor: Actor): Outcome {
  if (operation.security.length === 0) return 'success';
  const bearerAllowed = operation.security.some((requirement) => 'OAuth2PasswordBearer' in requirement);
  if (!bearerAllowed || actor === 'anonymous') return 401;
  const role = actor === 'owner' ? 'user' : actor;
  if (operation.roles !== undefined && !operation.roles.includes(role)) return 403;
  if (operation.raw['x-owner-param'] !== undefined && actor !== 'owner' && actor !== 'admin') return 404;
  return 'success';
}

/**
 * A request for the operation from its examples; path parameters that name a
 * resource (user_id, item_id, order_id) name the owner's own one.
 */
function requestFor(
  operation: OperationSpec,
  owned: Record<string, number>,
): { path: string; init: RequestInit } {
  let path = operation.path;
  const query = new URLSearchParams();
  for (const parameter of operation.parameters) {
    const value = parameter.in === 'path' ? (owned[parameter.name] ?? parameter.example) : parameter.example;
    if (parameter.in === 'path')
      path = path.replace(`{${parameter.name}}`, encodeURIComponent(String(value)));
    if (parameter.in === 'query' && parameter.required) query.set(parameter.name, String(value));
  }
  const init: RequestInit = { method: operation.method.toUpperCase(), headers: {} };
  const [mediaType, media] = [...(operation.requestBody?.content ?? [])][0] ?? [];
  if (mediaType !== undefined && media !== undefined) {
    expect(media.example, `${operation.operationId} needs a request body example`).to.not.equal(undefined);
    init.headers = { 'content-type': mediaType };
    init.body =
      mediaType === 'application/x-www-form-urlencoded'
        ? new URLSearchParams(media.example as Record<string, string>).toString()
        : JSON.stringify(media.example);
    if (mediaType === 'multipart/form-data') {
      const form = exampleForm(loadSpec().document, operation, media.example);
      init.headers = { 'content-type': form.contentType };
      init.body = form.body;
    }
  }
  const search = query.toString();
  return { path: search === '' ? path : `${path}?${search}`, init };
}

describe('RBAC matrix (from openapi.yaml)', () => {
  let t: TestApp;
  let filesDir: string;
  before(async () => {
    filesDir = await mkdtemp(path.join(os.tmpdir(), 'rbac-matrix-files-'));
    t = await startApp({ FILES_DIR: filesDir });
  });
  after(async () => {
    await t.close();
    await rm(filesDir, { recursive: true, force: true });
  });

  for (const operation of loadSpec().operations) {
    describe(`${operation.operationId} (${operation.method.toUpperCase()} ${operation.path})`, () => {
      for (const actor of ACTORS) {
        const outcome = declaredOutcome(operation, actor);
        it(`${actor} → ${outcome === 'success' ? '2xx' : outcome}`, async () => {
          await resetDatabase();
          const accounts = {
            admin: await seedUser({ role: 'admin' }),
            guest: await seedUser({ role: 'guest' }),
            user: await seedUser({ role: 'user' }),
            owner: await seedUser({ role: 'user', email: OWNER_EMAIL }),
          };
          const { db } = await sharedDatabase();
          const item = await insertItem(db, {
            owner_id: accounts.owner.id,
            name: 'Keyboard',
            price: '59.90',
            tax: '0.1',
          });
          const order = await db.transaction().execute((trx) =>
            insertOrder(trx, {
              userId: accounts.owner.id,
              shippingAddress: 'Somewhere',
              lines: [{ itemId: item.id, quantity: 1 }],
            }),
          );
          const owned = {
            user_id: accounts.owner.id,
            item_id: item.id,
            order_id: order.order.id,
            file_id: await seedFile(t, accounts.owner.id),
          };
          const { path, init } = requestFor(operation, owned);
          if (actor !== 'anonymous') {
            init.headers = {
              ...(init.headers as Record<string, string>),
              ...bearer(tokenFor(t, accounts[actor].id)),
            };
          }
          const res = await t.fetch(path, init);
          const body = await res.text();
          // WebSocket upgrade operations succeed with 101 only over a real upgrade (test/api/realtime*.test.ts
          // checks that); a plain GET that passed security and x-roles gets their declared 426 instead.
          if (outcome === 'success' && operation.responses.has(101)) expect(res.status, body).to.equal(426);
          else if (outcome === 'success') expect(res.status, body).to.be.within(200, 299);
          else expect(res.status, body).to.equal(outcome);
        });
      }
    });
  }
});
