/**
 * The database sections of `npm run bench` (BENCH_ONLY names in brackets): the
 * real app (pipeline-app.ts) on a seeded database against bare node:http doing
 * the same SQL with the app's own repositories and mappers (bare-api.ts), on
 * PostgreSQL (a fresh database, dropped on the way out) and on embedded
 * PGlite (a temp data dir).
 *
 *   [users]  GET /users/me: JWT verify + account read + response validation.
 *   [login]  32 concurrent POST /token (argon2id verify each) with GET /health
 *            loaded alongside: does hashing block the event loop?
 *   [items]  GET /items over 100,000 items: page 1, a search matching 1 %, page 1,000
 *            by cursor and the deepest page `skip` reaches.
 *   [orders] POST /orders with 5 lines, with and without an Idempotency-Key.
 *   [signups], [amplification]: hostile load, see hostile.ts.
 *
 * Every server is checked before it is loaded: the expected status, a sane
 * answer, and the same JSON from the pipeline and from bare node:http.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual, promisify } from 'node:util';
import { createTokenService } from '../../src/auth/tokens.js';
import { loadConfig } from '../../src/config.js';
import { amplification, signups } from './hostile.js';
import { countInstructions } from './instructions.js';
import type { InstructionCount } from './instructions.js';
import { measure, measureTogether } from './load.js';
import type { LoadRequest, LoadResult, LoadSettings } from './load.js';
import { onCleanup, runScript, runTracked, startServer } from './processes.js';
import {
  describe,
  failed,
  heading,
  int,
  isBusy,
  lpad,
  median,
  message,
  ms,
  noteOthers,
  pad,
  pct,
  printProfiles,
  quietest,
  verdict,
} from './report.js';
import type { Seeded } from './seed.js';
import { benchAppEnv } from './serve.js';
import { httpRequest } from './startup.js';

const run = promisify(execFile);

export const API_SECTIONS = ['users', 'login', 'items', 'orders', 'signups', 'amplification'] as const;
export const DATABASES = ['postgres', 'pglite'] as const;

export interface ApiSettings {
  readonly load: LoadSettings;
  readonly rounds: number;
  readonly sections: ReadonlySet<string>;
  readonly databases: ReadonlySet<string>;
  readonly pgHost: string;
  readonly pgUser: string;
  /** One more round with the servers under --cpu-prof, printed and not counted. */
  readonly cpuProfile: boolean;
  /** Repeats of a run disturbed by other processes (see quietest). */
  readonly busyRetries: number;
  /** Also count instructions per request under callgrind (instructions.ts), where a section does. */
  readonly instructions: boolean;
}

/** Pipeline ≥ 75 % of bare node:http on the same route, unless a route names its own target. */
const TARGET_RATIO = 0.75;
/** GET /health p99 while logins hash passwords. */
const TARGET_HEALTH_P99_MS = 50;
const STORM = { logins: 32, health: 2, seconds: 10 };
const PAGE = 20;
/** Page 1,000 of PAGE items: reached by cursor; by skip only up to the contract's cap. */
const DEEP_PAGE = 1_000;
/** The contract's largest `skip` (listItems). */
const MAX_SKIP = 10_000;

// ---------------------------------------------------------------- databases

export interface Backend {
  readonly name: string;
  /** The children's environment: which database benchAppEnv() picks (see serve.ts). */
  readonly env: Record<string, string | undefined>;
  /** PostgreSQL's backend processes serving this database (their CPU is the server's too). */
  readonly helperPids: (() => Promise<readonly number[]>) | undefined;
  readonly seeded: Seeded;
}

function childEnv(name: 'BENCH_DATABASE_URL' | 'BENCH_DATA_DIR', value: string): Backend['env'] {
  const env: Backend['env'] = { ...process.env };
  delete env['BENCH_DATABASE_URL'];
  delete env['BENCH_DATA_DIR'];
  return { ...env, [name]: value };
}

async function seed(
  name: string,
  where: string,
  env: Backend['env'],
  helperPids: Backend['helperPids'],
): Promise<Backend> {
  heading(`${name}: seeding ${where}`);
  const seeded = (await runScript('scripts/bench/seed.ts', [], env, 300_000)) as Seeded;
  console.log(
    `  ${ms(seeded.ms)} (migrations included): 1 account, ${int(seeded.items)} items, ` +
      `q="${seeded.search}" matches ${int(seeded.matches)} (${pct(seeded.matches / seeded.items)})`,
  );
  return { name, env, helperPids, seeded };
}

async function openPostgres(settings: ApiSettings): Promise<Backend> {
  const name = `bench_${process.pid}_api`;
  const args = ['-h', settings.pgHost, '-U', settings.pgUser];
  await runTracked('createdb', [...args, name], 30_000);
  // Not tracked on purpose: it has to run after every child has stopped, on the way out.
  onCleanup(async () => {
    await run('dropdb', [...args, '--if-exists', '--force', name], { timeout: 30_000 });
  });
  const pids = async (): Promise<number[]> => {
    const sql =
      'select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()';
    const { stdout } = await run('psql', [...args, '-d', name, '-tAc', sql], { timeout: 10_000 });
    return stdout
      .split('\n')
      .filter((line) => line !== '')
      .map(Number);
  };
  const url = `postgres://${settings.pgUser}@${settings.pgHost}:5432/${name}`;
  return seed('PostgreSQL', `database ${name}`, childEnv('BENCH_DATABASE_URL', url), pids);
}

export async function openPglite(): Promise<Backend> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-api-pglite-'));
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  return seed('PGlite', dir, childEnv('BENCH_DATA_DIR', dir), undefined);
}

// ---------------------------------------------------------------- servers and probes

/**
 * Whether the backend is a PostgreSQL server. (c) runs only there: on PGlite
 * its idle app and its bare server would be two database instances on one
 * data directory.
 */
const onPostgres = (backend: Backend): boolean => backend.env['BENCH_DATABASE_URL'] !== undefined;

const SERVERS = {
  pipeline: { label: '(a) pipeline', script: 'scripts/bench/pipeline-app.ts' },
  bare: { label: '(b) bare node:http', script: 'scripts/bench/bare-api.ts' },
  bareInApp: { label: '(c) (b) in an app-sized process', script: 'scripts/bench/bare-api-in-app.ts' },
} as const;
type ServerKey = keyof typeof SERVERS;

/** One request to load a server with. */
interface Probe {
  readonly label: string;
  readonly path: string;
  readonly method?: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Replace `[<id>]` in the headers with a unique id per request. */
  readonly uniqueIds?: boolean;
  readonly status: number;
  /** What of the answer every server must give alike (volatile fields left out); throws when it is wrong. */
  readonly answer: (body: Record<string, unknown>) => unknown;
}

const loadRequest = (base: string, probe: Probe): LoadRequest => ({
  url: `${base}${probe.path}`,
  method: probe.method ?? 'GET',
  headers: probe.headers ?? {},
  ...(probe.body === undefined ? {} : { body: probe.body }),
  uniqueIds: probe.uniqueIds === true,
});

/** The first answer to each probe per database, to compare the other servers' with. */
const answers = new Map<string, unknown>();

/** One request before loading a server: a benchmark of a wrong answer is worthless. */
async function check(backend: Backend, base: string, probe: Probe): Promise<void> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(probe.headers ?? {})) {
    headers[name] = probe.uniqueIds === true ? value.replaceAll('[<id>]', randomUUID()) : value;
  }
  const reply = await httpRequest(`${base}${probe.path}`, {
    method: probe.method ?? 'GET',
    headers,
    ...(probe.body === undefined ? {} : { body: probe.body }),
    timeoutMs: 10_000,
  });
  const wrong = (why: string): Error =>
    new Error(
      `${probe.method ?? 'GET'} ${probe.path}: ${why}; got ${reply.status} ${reply.body.slice(0, 300)}`,
    );
  if (reply.status !== probe.status) throw wrong(`expected ${probe.status}`);
  let answer: unknown;
  try {
    answer = probe.answer(JSON.parse(reply.body) as Record<string, unknown>);
  } catch (error) {
    throw wrong(message(error));
  }
  const key = `${backend.name} ${probe.label}`;
  if (!answers.has(key)) answers.set(key, answer);
  else if (!isDeepStrictEqual(answers.get(key), answer)) {
    throw wrong(`not the same answer as the other server's ${JSON.stringify(answers.get(key))}`);
  }
}

function expect(condition: boolean, what: string): void {
  if (!condition) throw new Error(what);
}

/** What a server is given to do: its base URL and pid, and where to report a measured run. */
type Work = (
  base: string,
  pid: number | undefined,
  measured: (label: string, result: LoadResult) => void,
) => Promise<void>;

/**
 * Starts one server on the backend's database, does `work`, stops it. When
 * `profiled`, the server runs under --cpu-prof and the top functions of each
 * measured run are printed once it has exited (and written its profile).
 */
export async function withServer(
  backend: Backend,
  server: ServerKey,
  profiled: boolean,
  work: Work,
): Promise<void> {
  const dir = profiled ? await mkdtemp(path.join(os.tmpdir(), 'bench-cpuprof-')) : undefined;
  const nodeArgs = dir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`];
  const child = await startServer(SERVERS[server].script, [], { env: backend.env, nodeArgs });
  const runs: [string, LoadResult][] = [];
  try {
    await work(`http://127.0.0.1:${child.port}`, child.process.pid, (label, result) => {
      runs.push([label, result]);
      if (!profiled) console.log(`  ${pad(label, 46)} ${describe(result)}`);
    });
  } finally {
    await child.stop();
    if (dir !== undefined) await printProfiles(dir, runs);
  }
}

/** The rounds to run: the measured ones, then one profiled round when asked for. */
function rounds(settings: ApiSettings): { round: number; profiled: boolean }[] {
  const all = Array.from({ length: settings.rounds }, (_, round) => ({ round, profiled: false }));
  if (settings.cpuProfile) all.push({ round: settings.rounds, profiled: true });
  return all;
}

const bearer = (backend: Backend): Record<string, string> => {
  // The children's config (benchAppEnv), so the secret, issuer and audience are theirs.
  const { token } = createTokenService(loadConfig(benchAppEnv())).issue(backend.seeded.userId);
  return { authorization: `Bearer ${token}` };
};

// ---------------------------------------------------------------- figures

/** Medians over the rounds; `busy` when any run was disturbed by other processes. */
interface Figures {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly cpu: number;
  /** PostgreSQL backends' CPU per request (NaN on PGlite, which runs inside the server). */
  readonly dbCpu: number;
  readonly bad: number;
  readonly busy: boolean;
}

function figures(results: readonly LoadResult[]): Figures | undefined {
  if (results.length === 0) return undefined;
  const of = (pick: (r: LoadResult) => number): number => median(results.map(pick));
  return {
    rps: of((r) => r.requestsPerSecond),
    p50: of((r) => r.p50),
    p99: of((r) => r.p99),
    cpu: of((r) => r.cpuUsPerRequest),
    dbCpu: of((r) => r.dbCpuUsPerRequest),
    bad: results.reduce((sum, r) => sum + r.bad, 0),
    busy: results.some(isBusy),
  };
}

/** CPU per request, server and database together: on a saturated machine, throughput is its inverse. */
const totalCpu = (f: Figures | undefined): number =>
  f === undefined ? NaN : f.cpu + (Number.isFinite(f.dbCpu) ? f.dbCpu : 0);

interface Row {
  readonly label: string;
  readonly figures: Figures | undefined;
  readonly note: string;
}

interface Target {
  readonly label: string;
  readonly pass: boolean | undefined;
  readonly detail: string;
}

export interface ApiResult {
  readonly backend: string;
  readonly rows: Row[];
  readonly targets: Target[];
  /** Further lines of the summary (instruction counts). */
  readonly notes: string[];
}

const signed = (n: number): string => (n < 0 ? `−${int(-n)}` : `+${int(n)}`);

/** "x % of bare (y % by CPU)" and the ≥ 75 % target, for a pipeline row against its bare row. */
function versusBare(
  label: string,
  pipeline: Figures | undefined,
  bare: Figures | undefined,
  targetRatio = TARGET_RATIO,
): Target {
  const ratio = (pipeline?.rps ?? NaN) / (bare?.rps ?? NaN);
  const byCpu = totalCpu(bare) / totalCpu(pipeline);
  return {
    label: `${label}: pipeline ≥ ${pct(targetRatio)} of bare node:http`,
    pass: Number.isFinite(ratio) ? ratio >= targetRatio : undefined,
    detail: `${pct(ratio)} by req/s, ${pct(byCpu)} by CPU per request`,
  };
}

// ---------------------------------------------------------------- load runs

interface Run {
  readonly server: ServerKey;
  readonly probes: readonly Probe[];
}

/**
 * Each run starts its server once and loads its probes in turn; the runs are
 * repeated `rounds` times, their order rotated, and the medians returned by
 * "<server> <probe label>".
 */
async function loadRuns(
  settings: ApiSettings,
  backend: Backend,
  runs: readonly Run[],
): Promise<Map<string, Figures | undefined>> {
  const results = new Map<string, LoadResult[]>();
  for (const { round, profiled } of rounds(settings)) {
    for (let i = 0; i < runs.length; i += 1) {
      const chosen = runs[(i + round) % runs.length];
      if (chosen === undefined) continue;
      const { server, probes } = chosen;
      await withServer(backend, server, profiled, async (base, pid, measured) => {
        for (const probe of probes) {
          const label = `${SERVERS[server].label} ${probe.label}`;
          try {
            await check(backend, base, probe);
            const once = (): Promise<LoadResult> =>
              measure(loadRequest(base, probe), settings.load, {
                serverPid: pid,
                helperPids: backend.helperPids,
              });
            const result = await quietest(
              profiled ? 0 : settings.busyRetries,
              once,
              (r) => r.othersCpuPercent,
            );
            measured(label, result);
            if (profiled) continue;
            noteOthers(result);
            const key = `${server} ${probe.label}`;
            results.set(key, [...(results.get(key) ?? []), result]);
          } catch (error) {
            failed(`${backend.name}, ${label}`, error);
          }
        }
      }).catch((error: unknown) => failed(`${backend.name}, ${SERVERS[server].label}`, error));
    }
  }
  return new Map([...results].map(([key, list]) => [key, figures(list)]));
}

// ---------------------------------------------------------------- sections

export async function users(settings: ApiSettings, backend: Backend, out: ApiResult): Promise<void> {
  heading(`4. GET /users/me on ${backend.name}`);
  const withProcessSize = onPostgres(backend);
  console.log('JWT verify + account read; (b) does the same verify, the same query and the same mapping;');
  if (withProcessSize) {
    console.log(
      '(c) is (b) in a process that has also built the app and leaves it idle (same work, larger process).',
    );
  }
  const probe: Probe = {
    label: 'GET /users/me',
    path: '/users/me',
    headers: bearer(backend),
    status: 200,
    answer: (body) => {
      expect(body['id'] === backend.seeded.userId, 'not the seeded account');
      return body;
    },
  };
  const got = await loadRuns(settings, backend, [
    { server: 'pipeline', probes: [probe] },
    { server: 'bare', probes: [probe] },
    ...(withProcessSize ? [{ server: 'bareInApp' as const, probes: [probe] }] : []),
  ]);
  const pipeline = got.get('pipeline GET /users/me');
  const bare = got.get('bare GET /users/me');
  const bareInApp = got.get('bareInApp GET /users/me');
  const target = versusBare('GET /users/me', pipeline, bare, 0.85);
  // (c) is (b)'s work in a process as large as (a)'s: (b)→(c) is process size, (c)→(a) the pipeline's work.
  const split =
    pipeline === undefined || bare === undefined || bareInApp === undefined
      ? ''
      : `by CPU per request, (b)/(c) ${pct(totalCpu(bare) / totalCpu(bareInApp))} (process size), ` +
        `(c)/(a) ${pct(totalCpu(bareInApp) / totalCpu(pipeline))} (the pipeline's work)`;
  out.rows.push(
    { label: `GET /users/me ${SERVERS.pipeline.label}`, figures: pipeline, note: target.detail },
    { label: `GET /users/me ${SERVERS.bare.label}`, figures: bare, note: '' },
  );
  if (withProcessSize) {
    out.rows.push({ label: `GET /users/me ${SERVERS.bareInApp.label}`, figures: bareInApp, note: split });
  }
  out.targets.push(target);
  console.log(`  → ${verdict(target.pass)}: ${target.detail}`);
  if (split !== '') console.log(`  → ${split}`);
  if (settings.instructions) await instructionRatio(backend, probe, out);
}

/**
 * The same servers' instructions per request (a count, steady from run to
 * run, where CPU time is not): a second reading of the target, and the check
 * that (c) does (b)'s work and no more.
 */
async function instructionRatio(backend: Backend, probe: Probe, out: ApiResult): Promise<void> {
  const request = { path: probe.path, headers: probe.headers ?? {}, status: probe.status };
  const pipeline = await countInstructions(SERVERS.pipeline.script, backend.env, request);
  const bare = await countInstructions(SERVERS.bare.script, backend.env, request);
  const bareInApp = onPostgres(backend)
    ? await countInstructions(SERVERS.bareInApp.script, backend.env, request)
    : undefined;
  if (pipeline === undefined || bare === undefined) {
    console.log('  instructions per request: skipped (valgrind is not installed)');
    return;
  }
  const counts: [string, InstructionCount][] = [
    ['(a)', pipeline],
    ['(b)', bare],
  ];
  if (bareInApp !== undefined) counts.push(['(c)', bareInApp]);
  const lowest = counts.map(([key, count]) => `${key} ${int(count.perRequest)}`).join(', ');
  const all = counts.map(([key, count]) => `${key} ${count.slices.map((n) => int(n)).join(', ')}`);
  const line =
    `${probe.label} instructions per request (callgrind, lowest of ${pipeline.slices.length} runs of ` +
    `${int(pipeline.requestsPerSlice)}): ${lowest}: ` +
    `(b)/(a) ${pct(bare.perRequest / pipeline.perRequest)} by instructions [${all.join('; ')}]`;
  console.log(`  ${line}`);
  out.notes.push(line);
}

export async function login(settings: ApiSettings, backend: Backend, out: ApiResult): Promise<void> {
  heading(`5. Login storm on ${backend.name}`);
  console.log(
    `${STORM.logins} connections on POST /token (a real account: argon2id verify each) and, at the ` +
      `same time, ${STORM.health} on GET /health; ${settings.load.warmupSeconds} s warm-up + ` +
      `${STORM.seconds} s measured, ${settings.rounds} round(s). The CPU per login includes /health's.`,
  );
  const { email, password } = backend.seeded;
  const token: Probe = {
    label: 'POST /token',
    path: '/token',
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: email, password }).toString(),
    status: 200,
    answer: (body) => {
      expect(body['token_type'] === 'bearer', 'no bearer token');
      return body['token_type'];
    },
  };
  const health: Probe = { label: 'GET /health', path: '/health', status: 200, answer: (body) => body };
  const logins: LoadResult[] = [];
  const healths: LoadResult[] = [];
  for (const { profiled } of rounds(settings)) {
    await withServer(backend, 'pipeline', profiled, async (base, pid, measured) => {
      await check(backend, base, token);
      await check(backend, base, health);
      const once = (): Promise<LoadResult[]> =>
        measureTogether(
          [
            {
              request: loadRequest(base, token),
              settings: { ...settings.load, connections: STORM.logins, seconds: STORM.seconds },
            },
            {
              request: loadRequest(base, health),
              settings: { ...settings.load, connections: STORM.health, seconds: STORM.seconds },
            },
          ],
          { serverPid: pid, helperPids: backend.helperPids },
        );
      const [l, h] = await quietest(
        profiled ? 0 : settings.busyRetries,
        once,
        (r) => r[0]?.othersCpuPercent ?? 0,
      );
      if (l === undefined || h === undefined) throw new Error('autocannon returned no result');
      measured('(a) pipeline POST /token', l);
      measured('(a) pipeline GET /health meanwhile', h);
      if (profiled) return;
      noteOthers(l);
      logins.push(l);
      healths.push(h);
    }).catch((error: unknown) => failed(`${backend.name}, login storm`, error));
  }
  const l = figures(logins);
  const h = figures(healths);
  const target: Target = {
    label: `GET /health p99 during the login storm < ${TARGET_HEALTH_P99_MS} ms`,
    pass: h === undefined ? undefined : h.p99 < TARGET_HEALTH_P99_MS,
    detail: `p50 ${ms(h?.p50 ?? NaN)}, p99 ${ms(h?.p99 ?? NaN)}; ${int(l?.rps ?? NaN)} logins/s`,
  };
  out.rows.push(
    {
      label: `POST /token ×${STORM.logins} (logins)`,
      figures: l,
      note: 'CPU/req: per login, /health included',
    },
    { label: `GET /health ×${STORM.health} meanwhile`, figures: h, note: target.detail },
  );
  out.targets.push(target);
  console.log(`  → ${verdict(target.pass)}: ${target.detail}`);
}

async function items(settings: ApiSettings, backend: Backend, out: ApiResult): Promise<void> {
  const { seeded } = backend;
  heading(`6. GET /items on ${backend.name} (${int(seeded.items)} items)`);
  const q = encodeURIComponent(seeded.search);
  const search: Probe = {
    label: `GET /items?q=${q}&limit=${PAGE}`,
    path: `/items?q=${q}&limit=${PAGE}`,
    status: 200,
    answer: (body) => {
      expect(body['total'] === seeded.matches, `total is not ${seeded.matches}`);
      expect((body['items'] as unknown[]).length === Math.min(PAGE, seeded.matches), 'wrong page size');
      return body;
    },
  };
  const fullPage = (body: Record<string, unknown>): Record<string, unknown> => {
    expect((body['items'] as unknown[]).length === PAGE, 'wrong page size');
    return body;
  };
  const page = (skip: number): Probe => ({
    label: `GET /items?skip=${skip}&limit=${PAGE}`,
    path: `/items?skip=${skip}&limit=${PAGE}`,
    status: 200,
    answer: fullPage,
  });
  const first = page(0);
  const bySkip = page(Math.min(MAX_SKIP, (DEEP_PAGE - 1) * PAGE));
  const cursor = await cursorOfPage(backend, DEEP_PAGE);
  const byCursor: Probe = {
    label: `GET /items page ${int(DEEP_PAGE)} by cursor`,
    path: `/items?limit=${PAGE}&cursor=${cursor}`,
    status: 200,
    answer: fullPage,
  };
  const got = await loadRuns(settings, backend, [
    { server: 'pipeline', probes: [first, search, byCursor, bySkip] },
    { server: 'bare', probes: [search] },
  ]);
  const pipeline = got.get(`pipeline ${search.label}`);
  const bare = got.get(`bare ${search.label}`);
  const one = got.get(`pipeline ${first.label}`);
  const deep = got.get(`pipeline ${byCursor.label}`);
  const skipped = got.get(`pipeline ${bySkip.label}`);
  const target = versusBare(`GET /items?q=${seeded.search}`, pipeline, bare);
  const ofFirst = (f: Figures | undefined): number => (f?.rps ?? NaN) / (one?.rps ?? NaN);
  const searchTarget: Target = {
    label: 'GET /items search matching 1 % ≥ 50 % of page 1 by req/s',
    pass: Number.isFinite(ofFirst(pipeline)) ? ofFirst(pipeline) >= 0.5 : undefined,
    detail: `${pct(ofFirst(pipeline))} of page 1`,
  };
  const deepTarget: Target = {
    label: `GET /items page ${int(DEEP_PAGE)} by cursor ≥ 50 % of page 1 by req/s`,
    pass: Number.isFinite(ofFirst(deep)) ? ofFirst(deep) >= 0.5 : undefined,
    detail: `${pct(ofFirst(deep))} of page 1`,
  };
  out.rows.push(
    { label: `${first.label} ${SERVERS.pipeline.label}`, figures: one, note: '' },
    { label: `${search.label} ${SERVERS.pipeline.label}`, figures: pipeline, note: searchTarget.detail },
    { label: `${search.label} ${SERVERS.bare.label}`, figures: bare, note: target.detail },
    { label: `${byCursor.label} ${SERVERS.pipeline.label}`, figures: deep, note: deepTarget.detail },
    {
      label: `${bySkip.label} ${SERVERS.pipeline.label}`,
      figures: skipped,
      note: `${pct(ofFirst(skipped))} of page 1`,
    },
  );
  out.targets.push(target, searchTarget, deepTarget);
  for (const t of [target, searchTarget, deepTarget])
    console.log(`  → ${verdict(t.pass)}: ${t.label}: ${t.detail}`);
}

/** The cursor of page `n` (of PAGE items), found by following next_cursor from page 1 on a short-lived server. */
async function cursorOfPage(backend: Backend, n: number): Promise<string> {
  let cursor = '';
  await withServer(backend, 'pipeline', false, async (base) => {
    for (let page = 1; page < n; page += 1) {
      const reply = await httpRequest(
        `${base}/items?limit=${PAGE}${cursor === '' ? '' : `&cursor=${cursor}`}`,
        {
          method: 'GET',
          headers: {},
          timeoutMs: 10_000,
        },
      );
      const next = (JSON.parse(reply.body) as { next_cursor?: unknown }).next_cursor;
      if (reply.status !== 200 || typeof next !== 'string') throw new Error(`page ${page}: no next_cursor`);
      cursor = next;
    }
  });
  return cursor;
}

async function orders(settings: ApiSettings, backend: Backend, out: ApiResult): Promise<void> {
  const { seeded } = backend;
  heading(`7. POST /orders on ${backend.name} (${seeded.orderItemIds.length} lines)`);
  console.log(
    'Bearer check + one transaction (lockItems, insertOrder); (b) runs the same SQL the same way. ' +
      'The key row sends a unique Idempotency-Key per request.',
  );
  const body = JSON.stringify({
    items: seeded.orderItemIds.map((item_id, i) => ({ item_id, quantity: i + 1 })),
    shipping_address: '1 Analytical Way, London',
  });
  const order = (label: string, extra: Record<string, string> = {}): Probe => ({
    label,
    path: '/orders',
    method: 'POST',
    headers: { ...bearer(backend), 'content-type': 'application/json', ...extra },
    body,
    uniqueIds: Object.keys(extra).length > 0,
    status: 201,
    answer: ({ id: _id, created_at: _at, ...rest }) => {
      expect((rest['lines'] as unknown[]).length === seeded.orderItemIds.length, 'wrong lines');
      return rest;
    },
  });
  const plain = order('POST /orders');
  const keyed = order('POST /orders + Idempotency-Key', { 'idempotency-key': 'bench-[<id>]' });
  const got = await loadRuns(settings, backend, [
    { server: 'pipeline', probes: [plain, keyed] },
    { server: 'bare', probes: [plain] },
  ]);
  const pipeline = got.get(`pipeline ${plain.label}`);
  const bare = got.get(`bare ${plain.label}`);
  const withKey = got.get(`pipeline ${keyed.label}`);
  const target = versusBare('POST /orders', pipeline, bare, 0.8);
  const keyCost =
    `${pct((withKey?.rps ?? NaN) / (pipeline?.rps ?? NaN))} of the keyless req/s, ` +
    `${signed(totalCpu(withKey) - totalCpu(pipeline))} µs CPU/req`;
  out.rows.push(
    { label: `${plain.label} ${SERVERS.pipeline.label}`, figures: pipeline, note: target.detail },
    { label: `${plain.label} ${SERVERS.bare.label}`, figures: bare, note: '' },
    { label: `${keyed.label} ${SERVERS.pipeline.label}`, figures: withKey, note: keyCost },
  );
  out.targets.push(target);
  console.log(`  → ${verdict(target.pass)}: ${target.detail}`);
  console.log(`  the key costs: ${keyCost}`);
}

/** Runs the selected database sections on each selected database. */
export async function apiSections(settings: ApiSettings): Promise<ApiResult[]> {
  const wanted = API_SECTIONS.filter((name) => settings.sections.has(name));
  if (wanted.length === 0) return [];
  const openers = { postgres: () => openPostgres(settings), pglite: openPglite };
  const results: ApiResult[] = [];
  for (const database of DATABASES) {
    if (!settings.databases.has(database)) continue;
    let backend: Backend;
    try {
      backend = await openers[database]();
    } catch (error) {
      failed(`opening and seeding ${database}`, error);
      continue;
    }
    const out: ApiResult = { backend: backend.name, rows: [], targets: [], notes: [] };
    results.push(out);
    const sections = {
      users,
      login,
      items,
      orders,
      signups: (_: ApiSettings, b: Backend, o: ApiResult) => signups(b, o),
      amplification: (_: ApiSettings, b: Backend, o: ApiResult) => amplification(b, o),
    };
    for (const name of wanted) {
      await sections[name](settings, backend, out).catch((error: unknown) =>
        failed(`${backend.name}, ${name}`, error),
      );
    }
  }
  return results;
}

/** The database sections' lines of the final summary. */
export function printApiSummary(results: readonly ApiResult[]): void {
  for (const result of results) {
    console.log(
      `  ${pad(result.backend, 52)} ${lpad('req/s', 7)} ${lpad('p50', 6)} ${lpad('p99', 7)} ` +
        `${lpad('CPU/req', 8)} ${lpad('+ DB', 7)}`,
    );
    for (const { label, figures: f, note } of result.rows) {
      const flags = `${f?.busy === true ? ' (busy)' : ''}${(f?.bad ?? 0) > 0 ? ` (${f?.bad} bad)` : ''}`;
      const line =
        `    ${pad(label, 50)} ${lpad(int(f?.rps ?? NaN), 7)} ${lpad(ms(f?.p50 ?? NaN), 6)} ` +
        `${lpad(ms(f?.p99 ?? NaN), 7)} ${lpad(`${int(f?.cpu ?? NaN)} µs`, 8)} ` +
        `${lpad(Number.isFinite(f?.dbCpu) ? `${int(f?.dbCpu ?? NaN)} µs` : '', 7)}` +
        `${note === '' ? '' : `  ${note}`}${flags}`;
      console.log(line.trimEnd());
    }
    for (const target of result.targets) {
      console.log(`    target: ${target.label} → ${verdict(target.pass)} (${target.detail})`);
    }
    for (const note of result.notes) console.log(`    ${note}`);
  }
}
