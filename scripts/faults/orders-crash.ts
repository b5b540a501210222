/**
 * Crash consistency of POST /orders: a stream of orders (each with its own
 * Idempotency-Key) is sent to a real server process, which is killed with
 * SIGKILL mid-stream and started again on the same database. Then:
 *  - every order that was answered 201 is in the database with all its lines;
 *  - no order lacks lines, no line lacks its order;
 *  - retrying every request that got no answer, with its key and body, creates
 *    no duplicate: afterwards each key has exactly one order.
 * Used by test/production/crash.test.ts and by `npm run fault -- orders-crash`.
 */
import { Agent, request } from 'node:http';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { pgTypes } from '../../src/db/database.js';
import type { Database } from '../../src/db/schema.js';
import { spawnServer } from '../../test/helpers/process.js';
import type { ServerProcess } from '../../test/helpers/process.js';

export interface CrashOptions {
  /** A PostgreSQL database the server may fill (it is migrated, and orders are added). */
  readonly databaseUrl: string;
  readonly concurrency?: number;
  /** How long the stream runs before the kill. */
  readonly killAfterMs?: number;
  readonly log?: (line: string) => void;
}

export interface CrashReport {
  readonly sent: number;
  readonly created: number;
  /** Requests cut by the kill (no answer), retried after the restart. */
  readonly interrupted: number;
  readonly retriedReplays: number;
  readonly retriedCreated: number;
  /** Each entry is one broken invariant; empty when the database stayed consistent. */
  readonly violations: string[];
}

interface Sent {
  readonly key: string;
  readonly body: string;
  readonly lines: number;
  status?: number;
  orderId?: number;
}

function post(
  url: string,
  token: string,
  body: string,
  key: string | undefined,
  agent?: Agent,
): Promise<{ status: number; json: unknown } | { error: string }> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${token}`,
    };
    if (key !== undefined) headers['Idempotency-Key'] = key;
    const req = request(url, { method: 'POST', headers, ...(agent ? { agent } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown = undefined;
        try {
          json = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
      res.on('error', (error) => resolve({ error: error.message }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end(body);
  });
}

async function start(databaseUrl: string): Promise<ServerProcess> {
  const server = await spawnServer({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' });
  await server.waitFor('/health/ready', 60_000);
  return server;
}

export async function runOrdersCrash(options: CrashOptions): Promise<CrashReport> {
  const log = options.log ?? (() => undefined);
  const concurrency = options.concurrency ?? 16;
  const violations: string[] = [];
  let server = await start(options.databaseUrl);
  try {
    // A customer and a small catalogue, through the API.
    const email = `crash-${Date.now()}@example.com`;
    const password = 'Secret123';
    const signUp = await post(
      `${server.url}/users`,
      '',
      JSON.stringify({ email, full_name: 'Crash Test', age: 30, password }),
      undefined,
    );
    if (!('status' in signUp) || signUp.status !== 201)
      throw new Error(`sign-up failed: ${JSON.stringify(signUp)}`);
    const login = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: email, password }),
    });
    const token = ((await login.json()) as { access_token: string }).access_token;
    const itemIds: number[] = [];
    for (let i = 0; i < 5; i++) {
      const created = await post(
        `${server.url}/items`,
        token,
        JSON.stringify({ name: `Part ${i}`, price: 10 + i + 0.99, tax: 0.1 }),
        undefined,
      );
      if (!('status' in created) || created.status !== 201) throw new Error('item creation failed');
      itemIds.push((created.json as { id: number }).id);
    }

    // The stream, then the kill.
    const sent: Sent[] = [];
    let killed = false;
    const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
    const loops = Array.from({ length: concurrency }, async (_, worker) => {
      for (let n = 0; !killed; n++) {
        const lines = 1 + ((worker + n) % 5);
        const body = JSON.stringify({
          items: itemIds.slice(0, lines).map((item_id, i) => ({ item_id, quantity: 1 + i })),
          shipping_address: `${worker}-${n} Crash Street`,
        });
        const entry: Sent = { key: `crash-${worker}-${n}-${Date.now()}`, body, lines };
        sent.push(entry);
        const answer = await post(`${server.url}/orders`, token, body, entry.key, agent);
        if ('status' in answer) {
          entry.status = answer.status;
          if (answer.status === 201) entry.orderId = (answer.json as { id: number }).id;
        }
      }
    });
    await new Promise((resolve) => setTimeout(resolve, options.killAfterMs ?? 1500));
    server.kill('SIGKILL');
    await server.exited;
    killed = true;
    await Promise.all(loops);
    agent.destroy();
    const created = sent.filter((s) => s.status === 201);
    const interrupted = sent.filter((s) => s.status === undefined);
    const otherwise = sent.filter((s) => s.status !== undefined && s.status !== 201);
    for (const s of otherwise) violations.push(`order ${s.key} was answered ${s.status} before the kill`);
    log(`sent ${sent.length}: ${created.length} created, ${interrupted.length} cut by the kill`);

    server = await start(options.databaseUrl);
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({
        pool: new pg.Pool({ connectionString: options.databaseUrl, max: 2, types: pgTypes }),
      }),
    });
    try {
      const check = async (answered: readonly Sent[]): Promise<void> => {
        const ids = answered.flatMap((s) => (s.orderId === undefined ? [] : [s.orderId]));
        const lineCounts = new Map<number, number>();
        if (ids.length > 0) {
          const rows = await db
            .selectFrom('order_lines')
            .select(['order_id', (eb) => eb.fn.countAll<string>().as('n')])
            .where('order_id', 'in', ids)
            .groupBy('order_id')
            .execute();
          for (const row of rows) lineCounts.set(row.order_id, Number(row.n));
        }
        for (const s of answered) {
          if (s.orderId === undefined) continue;
          const n = lineCounts.get(s.orderId) ?? 0;
          if (n !== s.lines)
            violations.push(`order ${s.orderId} answered 201 has ${n} lines, not ${s.lines}`);
        }
        const bare = await sql<{ id: number }>`
          select o.id from orders o where not exists (select 1 from order_lines l where l.order_id = o.id)`.execute(
          db,
        );
        for (const row of bare.rows) violations.push(`order ${row.id} has no lines`);
        const orphans = await sql<{ n: string }>`
          select count(*) as n from order_lines l where not exists (select 1 from orders o where o.id = l.order_id)`.execute(
          db,
        );
        if (Number(orphans.rows[0]?.n ?? 0) > 0)
          violations.push(`${orphans.rows[0]?.n} order lines have no order`);
      };
      await check(created);

      // Retry what the kill cut, with the same keys and bodies: each must
      // answer 201, either replaying the order the killed process committed or
      // creating it now; a second retry must always replay.
      let retriedReplays = 0;
      let retriedCreated = 0;
      const retry = (s: Sent): Promise<Response> =>
        fetch(`${server.url}/orders`, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            Authorization: `Bearer ${token}`,
            'Idempotency-Key': s.key,
          },
          body: s.body,
        });
      for (const s of interrupted) {
        const first = await retry(s);
        if (first.status !== 201) {
          violations.push(`retry of ${s.key} got ${first.status}: ${await first.text()}`);
          continue;
        }
        if (first.headers.get('idempotent-replayed') === 'true') retriedReplays++;
        else retriedCreated++;
        s.orderId = ((await first.json()) as { id: number }).id;
        const second = await retry(s);
        const again = (await second.json()) as { id?: number };
        if (second.headers.get('idempotent-replayed') !== 'true' || again.id !== s.orderId)
          violations.push(`second retry of ${s.key} did not replay order ${s.orderId}`);
      }
      // Count replays vs new ones from the keys table: every key maps to one order.
      const perKey = await sql<{ key: string; n: string }>`
        select k.key, count(o.id) as n from idempotency_keys k
        left join orders o on o.id = (k.response->>'id')::bigint
        join users u on u.id = k.user_id
        where u.email = ${email} group by k.key`.execute(db);
      for (const row of perKey.rows)
        if (Number(row.n) !== 1) violations.push(`key ${row.key} maps to ${row.n} orders`);
      const orders = await db
        .selectFrom('orders')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('user_id', '=', (eb) => eb.selectFrom('users').select('id').where('email', '=', email))
        .executeTakeFirstOrThrow();
      const answered = [...created, ...interrupted.filter((s) => s.orderId !== undefined)];
      const distinct = new Set(answered.map((s) => s.orderId)).size;
      if (Number(orders.n) !== distinct)
        violations.push(`${orders.n} orders in the database, but ${distinct} distinct orders were answered`);
      await check(answered);
      log(`after restart and retries: ${Number(orders.n)} orders, ${violations.length} violations`);
      return {
        sent: sent.length,
        created: created.length,
        interrupted: interrupted.length,
        retriedReplays,
        retriedCreated,
        violations,
      };
    } finally {
      await db.destroy();
    }
  } finally {
    server.kill('SIGTERM');
    await server.exited;
  }
}
