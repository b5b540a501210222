/**
 * Baseline for the database sections: a bare `node:http` server doing the
 * work of the real operations with the app's own pieces and nothing else (no
 * contract, routing index, validation, logging, request id or problem+json):
 *
 *   GET  /users/me  JWT verify (createTokenService) + findUserById, userRowToUser
 *   GET  /items     listItems with skip/limit/q/cursor (readPaging, listReply), itemRowToItem
 *   POST /orders    JWT verify + findUserById (the bearer check's SQL), the body
 *                   read and JSON.parse'd and hashed (sha256, as createOrder
 *                   does for idempotency), then the same transaction as
 *                   createOrder: lockItems + insertOrder + the activity job
 *                   enqueued (recordActivity), orderToApi
 *
 * Same config as the app children (benchAppEnv(): database, pool size, JWT
 * secret, issuer, audience). The app serves its operations on node:http too,
 * so the ratio is what the contract pipeline costs on top of this work.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createTokenService } from '../../src/auth/tokens.js';
import { loadConfig } from '../../src/config.js';
import { createDatabase } from '../../src/db/database.js';
import { listItems } from '../../src/db/repos/items.repo.js';
import { insertOrder, lockItems } from '../../src/db/repos/orders.repo.js';
import { findUserById } from '../../src/db/repos/users.repo.js';
import type { UserRow } from '../../src/db/schema.js';
import { itemRowToItem } from '../../src/handlers/items.js';
import { orderToApi } from '../../src/handlers/orders.js';
import { byId, listReply, readPaging } from '../../src/handlers/paging.js';
import { userRowToUser } from '../../src/handlers/users.js';
import { recordActivity } from '../../src/jobs/index.js';
import { benchAppEnv, closeServer, exitOnSignal, listenAndAnnounce } from './serve.js';

const config = loadConfig(benchAppEnv());
const database = await createDatabase(config);
const { db } = database;
const tokens = createTokenService(config);

/** The caller's active account, or undefined (a missing or bad token, an unknown account). */
async function account(req: IncomingMessage): Promise<UserRow | undefined> {
  const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
  if (token === undefined) return undefined;
  let userId: number;
  try {
    ({ userId } = tokens.verify(token));
  } catch {
    return undefined;
  }
  const user = await findUserById(db, userId);
  return user?.is_active === true ? user : undefined;
}

function send(
  res: ServerResponse,
  status: number,
  value?: unknown,
  headers: Record<string, string> = {},
): void {
  if (value === undefined) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const payload = JSON.stringify(value);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(payload)),
  });
  res.end(payload);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

interface OrderBody {
  items: { item_id: number; quantity: number }[];
  shipping_address: string;
}

async function usersMe(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const user = await account(req);
  if (user === undefined) send(res, 401);
  else send(res, 200, userRowToUser(user));
}

async function items(req: IncomingMessage, res: ServerResponse, rawQuery: string): Promise<void> {
  const query = new URLSearchParams(rawQuery);
  const q = query.get('q') ?? undefined;
  const cursor = query.get('cursor') ?? undefined;
  const scope = { path: '/items', filters: { q } };
  const paging = readPaging(
    config,
    scope,
    {
      skip: Number(query.get('skip') ?? 0),
      limit: Number(query.get('limit') ?? 10),
      ...(cursor ? { cursor } : {}),
    },
    byId,
  );
  const reply = listReply(config, scope, paging, await listItems(db, { ...paging, q }), byId, itemRowToItem);
  send(res, 200, reply.body, reply.headers.Link === undefined ? {} : { Link: reply.headers.Link });
}

async function orders(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const user = await account(req);
  if (user === undefined) {
    send(res, 401);
    return;
  }
  const body = (await readJson(req)) as OrderBody;
  const requestHash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
  const order = await db.transaction().execute(async (trx) => {
    const missing = await lockItems(
      trx,
      body.items.map((line) => line.item_id),
    );
    if (missing.size > 0) return undefined;
    const placed = orderToApi(
      await insertOrder(trx, {
        userId: user.id,
        shippingAddress: body.shipping_address,
        lines: body.items.map((line) => ({ itemId: line.item_id, quantity: line.quantity })),
      }),
    );
    await recordActivity(trx, user.id, 'order_placed', { order_id: placed.id, total: placed.total });
    return placed;
  });
  if (order === undefined) send(res, 422);
  else send(res, 201, order, { Location: `/orders/${order.id}`, 'X-Request-Hash': requestHash });
}

const server = createServer((req, res) => {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const pathname = q < 0 ? url : url.slice(0, q);
  let served: Promise<void> | undefined;
  if (req.method === 'GET' && pathname === '/users/me') served = usersMe(req, res);
  else if (req.method === 'GET' && pathname === '/items')
    served = items(req, res, q < 0 ? '' : url.slice(q + 1));
  else if (req.method === 'POST' && pathname === '/orders') served = orders(req, res);
  if (served === undefined) {
    send(res, 404);
    return;
  }
  served.catch((error: unknown) => {
    console.error(error);
    if (!res.headersSent) send(res, 500);
  });
});

exitOnSignal(async () => {
  await closeServer(server);
  await database.close();
});
await listenAndAnnounce(server, { server: 'bare-api', database: database.kind });
