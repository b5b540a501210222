/**
 * Two database sections of `npm run bench` about hostile load (BENCH_ONLY names in brackets):
 *
 *   [signups]       150 concurrent sign-ups (one argon2id hash each) while one
 *                   client logs in again and again: login latency against idle.
 *                   Target: p50 and p99 within 2× of idle.
 *   [amplification] sign-up bodies with thousands of unknown keys, five at a
 *                   time, while GET /health is polled: 20 of ~1 MB (90,000
 *                   keys, past JSON_MAX_VALUES) and 200 of ~90 kB (9,000 keys,
 *                   parsed and validated): /health p99 against idle, and the
 *                   largest answer by status. Target: /health p99 < 50 ms.
 *
 * Both run the real app (pipeline-app.ts) with its rate limits raised out of
 * the way (benchAppEnv), so what is measured is the work each request causes.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiResult, Backend } from './api.js';
import { withServer } from './api.js';
import { heading, int, median, ms, verdict } from './report.js';

const SIGNUPS = 150;
const LOGIN_RATIO_TARGET = 2;
const HEALTH_P99_TARGET_MS = 50;

const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

async function timed(request: () => Promise<Response>, expected: number): Promise<number> {
  const start = performance.now();
  const res = await request();
  await res.arrayBuffer();
  if (res.status !== expected) throw new Error(`expected ${expected}, got ${res.status}`);
  return performance.now() - start;
}

export async function signups(backend: Backend, out: ApiResult): Promise<void> {
  heading(`Sign-up burst on ${backend.name}`);
  const { email, password } = backend.seeded;
  await withServer(backend, 'pipeline', false, async (base) => {
    const login = (): Promise<number> =>
      timed(
        () =>
          fetch(`${base}/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ username: email, password }).toString(),
          }),
        200,
      );
    const idle: number[] = [];
    for (let i = 0; i < 15; i++) idle.push(await login());
    let done = false;
    const tag = Date.now();
    const burst = Promise.all(
      Array.from({ length: SIGNUPS }, (_, i) =>
        fetch(`${base}/users`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            email: `burst-${tag}-${i}@example.com`,
            full_name: 'Burst',
            age: 30,
            password: 'Secret123',
          }),
        }).then(async (res) => {
          await res.arrayBuffer();
          return res.status;
        }),
      ),
    ).finally(() => {
      done = true;
    });
    const during: number[] = [];
    while (!done) during.push(await login());
    const statuses = await burst;
    const created = statuses.filter((status) => status === 201).length;
    const ratio50 = median(during) / median(idle);
    const ratio99 = percentile(during, 99) / percentile(idle, 99);
    const pass = ratio50 <= LOGIN_RATIO_TARGET && ratio99 <= LOGIN_RATIO_TARGET;
    const detail =
      `login p50 ${ms(median(idle))} idle → ${ms(median(during))} during ${created}/${SIGNUPS} sign-ups ` +
      `(${ratio50.toFixed(2)}×), p99 ${ms(percentile(idle, 99))} → ${ms(percentile(during, 99))} ` +
      `(${ratio99.toFixed(2)}×), ${during.length} logins`;
    console.log(`  ${detail}`);
    out.targets.push({ label: `login latency during ${SIGNUPS} sign-ups ≤ 2× idle`, pass, detail });
    console.log(`  → ${verdict(pass)}`);
  });
}

/** One hostile body shape: `rounds` rounds of five bodies sent at once. */
interface Attack {
  readonly label: string;
  readonly body: string;
  readonly rounds: number;
}

const unknownKeys = (count: number): string =>
  `{${Array.from({ length: count }, (_, i) => `"k${i}":1`).join(',')}}`;

export async function amplification(backend: Backend, out: ApiResult): Promise<void> {
  heading(`Amplification attempt on ${backend.name}`);
  const attacks: Attack[] = [
    // Past JSON_MAX_VALUES: refused after one pass over the bytes.
    { label: '90,000 unknown keys', body: unknownKeys(90_000), rounds: 4 },
    // Under it: parsed, validated, answered with the capped 422.
    { label: '9,000 unknown keys', body: unknownKeys(9_000), rounds: 40 },
  ];
  await withServer(backend, 'pipeline', false, async (base) => {
    const health = (): Promise<number> => timed(() => fetch(`${base}/health`), 200);
    const idle: number[] = [];
    for (let i = 0; i < 200; i++) idle.push(await health());
    for (const { label, body, rounds } of attacks) {
      let done = false;
      const answers = new Map<number, number>();
      const attack = (async () => {
        for (let round = 0; round < rounds; round++) {
          await Promise.all(
            Array.from({ length: 5 }, async () => {
              const res = await fetch(`${base}/users`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body,
              });
              const size = (await res.arrayBuffer()).byteLength;
              answers.set(res.status, Math.max(answers.get(res.status) ?? 0, size));
            }),
          );
        }
      })().finally(() => {
        done = true;
      });
      const during: number[] = [];
      while (!done) {
        during.push(await health());
        await sleep(5);
      }
      await attack;
      const p99 = percentile(during, 99);
      const pass = p99 < HEALTH_P99_TARGET_MS;
      const sizes = [...answers].map(([status, size]) => `${status}: ${int(size)} bytes`).join(', ');
      const detail =
        `GET /health p50 ${ms(median(idle))} / p99 ${ms(percentile(idle, 99))} idle → ` +
        `p50 ${ms(median(during))} / p99 ${ms(p99)} during ${rounds * 5} bodies of ` +
        `${int(body.length / 1024)} kB with ${label} (${during.length} polls); largest answer ${sizes}`;
      console.log(`  ${detail}`);
      out.targets.push({
        label: `GET /health p99 while ${label} are posted < ${HEALTH_P99_TARGET_MS} ms`,
        pass,
        detail,
      });
      console.log(`  → ${verdict(pass)}`);
    }
  });
}
