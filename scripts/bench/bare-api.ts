/**
 * Baseline for the database sections: bare Express 5 routes doing the work of
 * the real operations with the app's own pieces and nothing else (no
 * contract, routing index, validation, logging, request id or problem+json):
 *
 *   GET  /users/me  JWT verify (createTokenService) + findUserById, userRowToUser
 *   GET  /items     listItems with skip/limit/q, itemRowToItem
 *   POST /orders    JWT verify + findUserById (the bearer check's SQL), then one
 *                   transaction: lockItems + insertOrder, orderToApi
 *
 * Same config as the app children (benchAppEnv(): database, pool size, JWT
 * secret, issuer, audience) and the same Express settings as bare-express.ts.
 */
import { createServer } from 'node:http';
import express from 'express';
import type { Request, Response } from 'express';
import { createTokenService } from '../../src/auth/tokens.js';
import { loadConfig } from '../../src/config.js';
import { createDatabase } from '../../src/db/database.js';
import { listItems } from '../../src/db/repos/items.repo.js';
import { insertOrder, lockItems } from '../../src/db/repos/orders.repo.js';
import { findUserById } from '../../src/db/repos/users.repo.js';
import type { UserRow } from '../../src/db/schema.js';
import { itemRowToItem } from '../../src/handlers/items.js';
import { orderToApi } from '../../src/handlers/orders.js';
import { userRowToUser } from '../../src/handlers/users.js';
import { benchAppEnv, closeServer, exitOnSignal, listenAndAnnounce } from './serve.js';

const config = loadConfig(benchAppEnv());
const database = await createDatabase(config);
const { db } = database;
const tokens = createTokenService(config);

/** The caller's active account, or undefined (a missing or bad token, an unknown account). */
async function account(req: Request): Promise<UserRow | undefined> {
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

const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.set('query parser', false);

app.get('/users/me', async (req: Request, res: Response) => {
  const user = await account(req);
  if (user === undefined) res.status(401).end();
  else res.json(userRowToUser(user));
});

app.get('/items', async (req: Request, res: Response) => {
  const query = new URLSearchParams(req.url.slice(req.url.indexOf('?') + 1));
  const skip = Number(query.get('skip') ?? 0);
  const limit = Number(query.get('limit') ?? 10);
  const { rows, total } = await listItems(db, { skip, limit, q: query.get('q') ?? undefined });
  res.json({ items: rows.map(itemRowToItem), total, skip, limit });
});

interface OrderBody {
  items: { item_id: number; quantity: number }[];
  shipping_address: string;
}

app.post('/orders', express.json(), async (req: Request, res: Response) => {
  const user = await account(req);
  if (user === undefined) {
    res.status(401).end();
    return;
  }
  const body = req.body as OrderBody;
  const order = await db.transaction().execute(async (trx) => {
    const missing = await lockItems(
      trx,
      body.items.map((line) => line.item_id),
    );
    if (missing.size > 0) return undefined;
    return orderToApi(
      await insertOrder(trx, {
        userId: user.id,
        shippingAddress: body.shipping_address,
        lines: body.items.map((line) => ({ itemId: line.item_id, quantity: line.quantity })),
      }),
    );
  });
  if (order === undefined) res.status(422).end();
  else res.status(201).location(`/orders/${order.id}`).json(order);
});

const server = createServer(app);
exitOnSignal(async () => {
  await closeServer(server);
  await database.close();
});
await listenAndAnnounce(server, { server: 'bare-api', database: database.kind });
