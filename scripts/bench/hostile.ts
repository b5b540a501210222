/**
 * Two database sections of `npm run bench` about hostile load (BENCH_ONLY names in brackets):
 *
 *   [signups]       150 concurrent sign-ups (one argon2id hash each) while one
 *                   client logs in again and again: login latency against idle.
 *                   Target: p50 and p99 within 2× of idle.
 *   [amplification] 20 sign-up bodies of ~1 MB with 90,000 unknown keys each,
 *                   five at a time, while GET /health is polled: /health p99
 *                   against idle, and the size of each 422. Target: /health p99 < 50 ms.
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

export async function amplification(backend: Backend, out: ApiResult): Promise<void> {
  heading(`Amplification attempt on ${backend.name}`);
  const extra = Array.from({ length: 90_000 }, (_, i) => `"k${i}":1`).join(',');
  const body = `{${extra}}`;
  await withServer(backend, 'pipeline', false, async (base) => {
    const health = (): Promise<number> => timed(() => fetch(`${base}/health`), 200);
    const idle: number[] = [];
    for (let i = 0; i < 200; i++) idle.push(await health());
    let done = false;
    const sizes: number[] = [];
    const attack = (async () => {
      for (let round = 0; round < 4; round++) {
        await Promise.all(
          Array.from({ length: 5 }, async () => {
            const res = await fetch(`${base}/users`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body,
            });
            sizes.push((await res.arrayBuffer()).byteLength);
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
    const detail =
      `GET /health p50 ${ms(median(idle))} / p99 ${ms(percentile(idle, 99))} idle → ` +
      `p50 ${ms(median(during))} / p99 ${ms(p99)} during 20 bodies of ${int(body.length / 1024)} kB ` +
      `(${during.length} polls); each 422 was ${int(Math.max(...sizes))} bytes`;
    console.log(`  ${detail}`);
    out.targets.push({
      label: `GET /health p99 during the amplification attempt < ${HEALTH_P99_TARGET_MS} ms`,
      pass,
      detail,
    });
    console.log(`  → ${verdict(pass)}`);
  });
}
