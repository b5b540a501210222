/**
 * Section `realtime` of `npm run bench`: WebSocket chat under load.
 *
 *   (a) one room of BENCH_RT_CLIENTS (1,000) members;
 *   (b) rooms of 5 (200 rooms for 1,000 clients);
 *
 * every client sends one message a second (spread evenly over the second) for
 * BENCH_RT_SECONDS (30). The server is the real one (`src/server.ts` through
 * tsx) in a child process, so its RSS is its own; the clients all live in this
 * process, which shares the machine's CPUs with the server.
 *
 * Reported per scenario: messages accepted (stored) per second, deliveries per
 * second (frames that reached a member) against what was asked for, delivery
 * latency p50/p99 from the send to the arrival at sampled members (every 10th
 * client is a real ws client that timestamps what it receives; the others are
 * lean raw-socket clients that only count), the CPU the server and this
 * process used, closes and error frames, and memory per connection: the
 * server's RSS and its JS heap + buffers, each with every client connected and
 * idle, less the same before the first connection (both after a full GC, see
 * realtime-gc.ts), over the connections. RSS moves by megabytes with the
 * allocator, so at 1,000 connections it is ±5 kB a connection; the heap figure
 * is the steadier one.
 * Targets: p99 < 100 ms on one process; RSS < 64 kB per connection.
 *
 * BENCH_RT_SCENARIOS=a,b picks the scenarios. With BENCH_CPU_PROF=1 the
 * server runs under --cpu-prof and the top functions of its sending window are
 * printed (profiling slows it: compare profiles with profiles).
 */
import { readFile, readdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { randomBytes } from 'node:crypto';
import { connect as connectTcp } from 'node:net';
import * as wsModule from 'ws';
import { WebSocket } from 'ws';
import { createTokenService } from '../../src/auth/tokens.js';
import { loadConfig } from '../../src/config.js';
import { createDatabase } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { summariseProfile } from './cpuprofile.js';
import type { Row } from './cpuprofile.js';
import { ROOT, onCleanup, runTracked, spawnTracked, stop } from './processes.js';
import { errors, heading, int, message, ms, verdict } from './report.js';

const run = promisify(execFile);

export interface RealtimeSettings {
  readonly databases: ReadonlySet<string>;
  readonly pgHost: string;
  readonly pgUser: string;
}

export interface RealtimeResult {
  readonly database: string;
  readonly scenario: string;
  readonly clients: number;
  readonly seconds: number;
  readonly sentPerSecond: number;
  readonly acceptedPerSecond: number;
  readonly deliveriesPerSecond: number;
  readonly expectedDeliveriesPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly samples: number;
  readonly closes: Readonly<Record<string, number>>;
  readonly errorFrames: number;
  /** Presence frames (joins, summaries) the lean clients read while all connected, and how long connecting took. */
  readonly presenceFrames: number;
  readonly connectMs: number;
  readonly rssPerConnectionKb: number;
  readonly peakRssMb: number;
  /** JavaScript heap + external memory (buffers) per idle connection, after a full GC. */
  readonly jsPerConnectionKb: number;
  /** CPU used while sending, % of one CPU: the server, and this process (all the clients). */
  readonly serverCpuPercent: number;
  readonly clientCpuPercent: number;
  readonly loadAverage: number;
}

const SECRET = 'bench-realtime-secret-that-is-long-enough-0123456789';
const TARGET_P99_MS = 100;
const TARGET_RSS_KB = 64;
/** Every SAMPLE_EVERY-th client records latencies; the others only count frames. */
const SAMPLE_EVERY = 10;

function envInt(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer ≥ ${min}`);
  return value;
}

/** CPU time (user + system) a process has used, in ms, from /proc (clock ticks of 10 ms). */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

interface Backend {
  readonly name: string;
  readonly env: Record<string, string>;
}

/** A fresh database with `clients` accounts; returns the server's environment. */
async function openBackend(kind: string, clients: number, settings: RealtimeSettings): Promise<Backend> {
  let env: Record<string, string>;
  if (kind === 'postgres') {
    const name = `bench_${process.pid}_realtime`;
    const args = ['-h', settings.pgHost, '-U', settings.pgUser];
    await runTracked('createdb', [...args, name], 30_000);
    onCleanup(async () => {
      await run('dropdb', [...args, '--if-exists', '--force', name], { timeout: 30_000 });
    });
    env = { DATABASE_URL: `postgres://${settings.pgUser}@${settings.pgHost}:5432/${name}` };
  } else {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-realtime-pglite-'));
    onCleanup(() => rm(dir, { recursive: true, force: true }));
    env = { DATA_DIR: dir };
  }
  const config = loadConfig(env);
  const database = await createDatabase(config);
  try {
    await migrateToLatest(database.db);
    // Accounts only: nobody logs in (tokens are signed here), so the hash is a placeholder.
    await sql`insert into users (email, full_name, age, password_hash)
              select 'rt' || n || '@example.com', 'Client ' || n, 30, 'x'
              from generate_series(1, ${clients}) as n`.execute(database.db);
  } finally {
    await database.close();
  }
  return { name: kind === 'postgres' ? 'PostgreSQL' : 'PGlite', env };
}

interface Server {
  readonly url: string;
  readonly pid: number;
  /** Memory after a full GC (see realtime-gc.ts), in kB. */
  memory(): Promise<{ rssKb: number; jsKb: number }>;
  stop(): Promise<void>;
}

async function startRealtimeServer(env: Record<string, string>, profileDir?: string): Promise<Server> {
  const args = [
    ...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]),
    '--expose-gc',
    '--import',
    'tsx',
    '--import',
    './scripts/bench/realtime-gc.ts',
    'src/server.ts',
  ];
  let memoryWaiter: ((memory: NodeJS.MemoryUsage) => void) | undefined;
  const child = spawnTracked(process.execPath, args, {
    env: {
      ...process.env,
      ...env,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      JWT_SECRET: SECRET,
      WS_MAX_CONNECTIONS_PER_USER: '10',
      // Counted as in production, but never refused: the bench's clients share one address.
      RATE_LIMIT_FACTOR: '1000000',
      // The lean clients never answer pings; a run must not outlast two heartbeats.
      WS_HEARTBEAT_INTERVAL_MS: '600000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not start within 60 s')), 60_000);
    child.once('exit', (code) => reject(new Error(`the server exited with ${code}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as {
          msg?: string;
          address?: string;
          level?: number;
          memory?: NodeJS.MemoryUsage;
        };
        if (entry.memory !== undefined) {
          memoryWaiter?.(entry.memory);
          memoryWaiter = undefined;
        } else if (entry.msg === 'listening' && entry.address !== undefined) {
          clearTimeout(timer);
          resolve(entry.address);
        } else if ((entry.level ?? 0) >= 40) {
          console.log(`  server: ${entry.msg ?? line}`);
        }
      } catch {
        // not a log line
      }
    });
  });
  for (let i = 0; i < 600; i += 1) {
    const status = await fetch(`${url}/health/ready`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) break;
    await sleep(100);
  }
  const memory = async (): Promise<{ rssKb: number; jsKb: number }> => {
    const usage = await new Promise<NodeJS.MemoryUsage>((resolve) => {
      memoryWaiter = resolve;
      child.kill('SIGUSR2');
    });
    return { rssKb: usage.rss / 1024, jsKb: (usage.heapUsed + usage.external) / 1024 };
  };
  return { url, pid: child.pid ?? 0, memory, stop: () => stop(child) };
}

/** A chat client of the benchmark: a lean raw one, or (BENCH_RT_SAMPLED=ws) a real ws client for the sampled ones. */
interface Client {
  readonly open: () => boolean;
  readonly send: (text: string) => void;
  readonly terminate: () => void;
}

/** ws's frame builder (exported by ws, not declared by @types/ws). */
const Sender = (
  wsModule as unknown as {
    Sender: { frame(data: Buffer, options: Record<string, boolean | number>): Buffer[] };
  }
).Sender;
const CLIENT_FRAME = { fin: true, rsv1: false, opcode: 0x01, mask: true, readOnly: false };
const MESSAGE_MARKER = Buffer.from('{"type":"message"');
const ERROR_MARKER = Buffer.from('{"type":"error"');
const JOIN_MARKER = Buffer.from('{"type":"join"');
const SUMMARY_MARKER = Buffer.from('{"type":"presence"');
const SENT_AT_MARKER = Buffer.from('"text":"t=');

/** How many times `marker` occurs in `chunk`. */
function occurrences(chunk: Buffer, marker: Buffer): number {
  let count = 0;
  for (let at = chunk.indexOf(marker); at >= 0; at = chunk.indexOf(marker, at + marker.length)) count += 1;
  return count;
}

/**
 * The send times (performance.now() of this process) in the chat messages of
 * `chunk`, read straight from the bytes: server frames are unmasked, so the
 * text `t=<ms>` is there as sent. `carry` is the previous chunk's tail, so a
 * message split between two reads is read whole.
 */
function sentTimes(carry: Buffer, chunk: Buffer): { times: number[]; tail: Buffer } {
  const data = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
  const times: number[] = [];
  let at = data.indexOf(SENT_AT_MARKER);
  let consumed = 0;
  while (at >= 0) {
    const start = at + SENT_AT_MARKER.length;
    const end = data.indexOf(0x22, start);
    if (end < 0) break;
    times.push(Number(data.toString('latin1', start, end)));
    consumed = end;
    at = data.indexOf(SENT_AT_MARKER, end);
  }
  // Keep what could hold the start of a split marker or number (never a whole message twice).
  const keepFrom = Math.max(consumed, data.length - 64);
  return { times, tail: Buffer.from(data.subarray(keepFrom)) };
}

/**
 * A WebSocket client without a frame parser: it does the handshake, sends
 * masked text frames, and only counts the chat messages in what it reads
 * (a marker search per chunk). 1,000 ws clients parsing a million frames a
 * second would measure this process, not the server.
 */
/**
 * Shared by every raw client: each read is handled (and anything kept is
 * copied) before the next one, since callbacks run one at a time.
 */
const READ_BUFFER = Buffer.alloc(256 * 1024);

function rawClient(
  url: URL,
  path: string,
  token: string,
  onData: (chunk: Buffer) => void,
  onClose: () => void,
): Promise<Client> {
  return new Promise((resolve, reject) => {
    let open = false;
    let head = '';
    const onRead = (chunk: Buffer): void => {
      if (!open) {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!head.startsWith('HTTP/1.1 101')) {
          reject(new Error(`upgrade refused: ${head.split('\r\n')[0] ?? ''}`));
          socket.destroy();
          return;
        }
        open = true;
        resolve({
          open: () => open,
          send: (text) => socket.write(Buffer.concat(Sender.frame(Buffer.from(text), CLIENT_FRAME))),
          terminate: () => socket.destroy(),
        });
        chunk = Buffer.from(head.slice(end + 4), 'latin1');
      }
      onData(chunk);
    };
    // `onread` hands each read to the callback in one reused buffer, without the stream
    // machinery and a fresh Buffer per 'data' event: ~100,000 reads a second here.
    const socket = connectTcp({
      port: Number(url.port),
      host: url.hostname,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (bytes) => {
          onRead(READ_BUFFER.subarray(0, bytes));
          return true;
        },
      },
    });
    socket.on('error', (error) => (open ? undefined : reject(error)));
    socket.on('close', () => {
      if (open) onClose();
      open = false;
    });
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
        `Authorization: Bearer ${token}\r\n\r\n`,
    );
  });
}

/** One scenario on a fresh server: connect, measure idle RSS, send for `seconds`, collect. */
async function scenario(
  backend: Backend,
  label: string,
  clients: number,
  roomSize: number,
  seconds: number,
): Promise<RealtimeResult> {
  const profileDir = cpuProfile ? await mkdtemp(path.join(os.tmpdir(), 'bench-realtime-prof-')) : undefined;
  const server = await startRealtimeServer(backend.env, profileDir);
  let window: { fromUs: number; toUs: number } | undefined;
  try {
    const tokens = createTokenService(loadConfig({ JWT_SECRET: SECRET }));
    const wsBase = server.url.replace(/^http/, 'ws');
    // One client through every code path first, so the baseline has the code loaded and compiled.
    const warm = new WebSocket(`${wsBase}/ws/chat/warmup`, {
      headers: { Authorization: `Bearer ${tokens.issue(1).token}` },
    });
    await new Promise((resolve) => warm.once('open', resolve));
    warm.send('{"type":"message","text":"warm-up"}');
    await new Promise((resolve) => warm.once('message', resolve));
    await sleep(200);
    warm.close();
    await sleep(1000);
    const base = await server.memory();
    const latencies = new Float64Array(clients * seconds * roomSize);
    let samples = 0;
    let deliveries = 0;
    let lastDeliveryAt = 0;
    let errorFrames = 0;
    /** Join notices and presence summaries the raw clients read while everyone connected. */
    let presenceFrames = 0;
    let connectMs = 0;
    let measuring = false;
    const closes: Record<string, number> = {};

    const connect = (index: number): Promise<Client> => {
      const room = roomSize >= clients ? 'all' : `room${Math.floor(index / roomSize)}`;
      const sampled = index % SAMPLE_EVERY === 0;
      if (!sampled || sampledBy === 'raw') {
        let carry: Buffer = Buffer.alloc(0);
        return rawClient(
          new URL(server.url),
          `/ws/chat/${room}`,
          tokens.issue(index + 1).token,
          (chunk) => {
            if (!measuring) {
              presenceFrames += occurrences(chunk, JOIN_MARKER) + occurrences(chunk, SUMMARY_MARKER);
              return;
            }
            const count = occurrences(chunk, MESSAGE_MARKER);
            if (count > 0) {
              deliveries += count;
              lastDeliveryAt = performance.now();
            }
            if (!sampled) return;
            errorFrames += occurrences(chunk, ERROR_MARKER);
            const { times, tail } = sentTimes(carry, chunk);
            carry = tail;
            const now = performance.now();
            for (const sentAt of times) if (samples < latencies.length) latencies[samples++] = now - sentAt;
          },
          () => {
            if (measuring) closes['raw'] = (closes['raw'] ?? 0) + 1;
          },
        );
      }
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(`${wsBase}/ws/chat/${room}`, {
          headers: { Authorization: `Bearer ${tokens.issue(index + 1).token}` },
          perMessageDeflate: false,
          skipUTF8Validation: true,
        });
        ws.on('message', (data: Buffer) => {
          if (!measuring) return;
          // Cheap checks on the bytes: most clients never parse a frame.
          if (data[9] !== 0x6d) {
            // not {"type":"message"...
            if (data.includes('"error"')) errorFrames += 1;
            return;
          }
          deliveries += 1;
          lastDeliveryAt = performance.now();
          const at = data.indexOf(SENT_AT_MARKER);
          if (at < 0) return;
          const end = data.indexOf(0x22, at + SENT_AT_MARKER.length);
          const sentAt = Number(data.toString('latin1', at + SENT_AT_MARKER.length, end));
          if (samples < latencies.length) latencies[samples++] = performance.now() - sentAt;
        });
        ws.once('open', () =>
          resolve({
            open: () => ws.readyState === WebSocket.OPEN,
            send: (text) => ws.send(text),
            terminate: () => ws.terminate(),
          }),
        );
        ws.once('error', reject);
        ws.once('close', (code) => {
          if (measuring) closes[String(code)] = (closes[String(code)] ?? 0) + 1;
        });
      });
    };

    const connectStarted = performance.now();
    const connected: Client[] = [];
    // In batches, so the upgrade storm does not itself time out.
    for (let i = 0; i < clients; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, clients - i) }, (_, k) => connect(i + k)),
      );
      connected.push(...batch);
    }
    connectMs = performance.now() - connectStarted;
    // Let the join notices drain before measuring (one per join and member in a room below
    // WS_PRESENCE_ROOM_LIMIT, which was ~500,000 frames for 1,000 before presence summaries).
    await sleep(Math.min(15_000, 2000 + clients * 5));
    const idle = await server.memory();
    const idleKb = idle.rssKb;
    let peakKb = idleKb;

    measuring = true;
    const serverCpuBefore = await cpuMs(server.pid);
    const clientCpuBefore = process.cpuUsage();
    const started = performance.now();
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    let sent = 0;
    const timers = connected.map((client, index) => {
      const offset = (index / connected.length) * 1000;
      let count = 0;
      const send = (): void => {
        if (count >= seconds || !client.open()) return;
        count += 1;
        sent += 1;
        client.send(`{"type":"message","text":"t=${performance.now().toFixed(3)}"}`);
        const next = started + offset + count * 1000 - performance.now();
        timer = setTimeout(send, Math.max(0, next));
      };
      let timer = setTimeout(send, offset);
      return () => clearTimeout(timer);
    });
    const sampler = setInterval(() => {
      void rssKb(server.pid).then((kb) => (peakKb = Math.max(peakKb, kb)));
    }, 1000);
    await sleep(seconds * 1000);
    const sendWindow = (performance.now() - started) / 1000;
    window = { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) };
    const serverCpu = (await cpuMs(server.pid)) - serverCpuBefore;
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const loadAverage = os.loadavg()[0] ?? NaN;
    // Late deliveries still count for latency (that is what a user waits), up to 5 s more.
    await sleep(5000);
    measuring = false;
    clearInterval(sampler);
    for (const cancel of timers) cancel();
    const deliveredBy = deliveries;
    for (const client of connected) client.terminate();
    // Accepted = stored: the rooms' history totals, through the API.
    const token = tokens.issue(1).token;
    const rooms =
      roomSize >= clients
        ? ['all']
        : Array.from({ length: Math.ceil(clients / roomSize) }, (_, i) => `room${i}`);
    let stored = 0;
    for (const room of rooms) {
      const res = await fetch(`${server.url}/rooms/${room}/messages?limit=1`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      stored += ((await res.json()) as { total: number }).total;
    }

    const sorted = latencies.slice(0, samples).sort();
    return {
      database: backend.name,
      scenario: label,
      clients,
      seconds,
      sentPerSecond: sent / sendWindow,
      acceptedPerSecond: stored / sendWindow,
      // Over the time the deliveries took: late ones (a backlog) arrive after the sending stopped.
      deliveriesPerSecond: deliveredBy / Math.max(sendWindow, (lastDeliveryAt - started) / 1000),
      expectedDeliveriesPerSecond: (sent / sendWindow) * Math.min(roomSize, clients),
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted.length === 0 ? NaN : (sorted[sorted.length - 1] ?? NaN),
      samples,
      closes,
      errorFrames,
      presenceFrames,
      connectMs,
      rssPerConnectionKb: (idle.rssKb - base.rssKb) / clients,
      jsPerConnectionKb: (idle.jsKb - base.jsKb) / clients,
      peakRssMb: peakKb / 1024,
      serverCpuPercent: serverCpu / (sendWindow * 10),
      clientCpuPercent: (clientCpu.user + clientCpu.system) / 1000 / (sendWindow * 10),
      loadAverage,
    };
  } finally {
    await server.stop();
    if (profileDir !== undefined && window !== undefined) await printProfile(profileDir, window);
  }
}

const cpuProfile = process.env['BENCH_CPU_PROF'] === '1';
/**
 * How the sampled clients read: `raw` (default) like the others, taking the
 * send times straight from the bytes; `ws` through a full ws client, which
 * costs this process several times more CPU per frame (the generator shares the CPUs).
 */
const sampledBy = process.env['BENCH_RT_SAMPLED'] === 'ws' ? 'ws' : 'raw';

/** The server's top functions while the clients were sending (the profile is kept). */
async function printProfile(dir: string, window: { fromUs: number; toUs: number }): Promise<void> {
  const name = (await readdir(dir)).find((entry) => entry.endsWith('.cpuprofile'));
  if (name === undefined) {
    console.log(`    no .cpuprofile written in ${dir}`);
    return;
  }
  const file = path.join(dir, name);
  const summary = summariseProfile(file, ROOT, window);
  console.log(
    `    server profile ${file} (kept): ${int(summary.samples)} samples over ${ms(summary.sampledMs)}`,
  );
  const table = (title: string, rows: readonly Row[]): void => {
    console.log(`    ${title}`);
    for (const r of rows) console.log(`      ${r.percent.toFixed(1).padStart(5)} %  ${r.name}`);
  };
  table('Self time by function:', summary.self);
  table('Inclusive time by function:', summary.inclusive);
  table('Self time by location:', summary.byLocation);
}

function print(result: RealtimeResult): void {
  const closes = Object.entries(result.closes)
    .map(([code, n]) => `${int(n)}×${code}`)
    .join(', ');
  console.log(`  ${result.scenario}`);
  console.log(
    `    sent ${int(result.sentPerSecond)} msg/s, accepted ${int(result.acceptedPerSecond)} msg/s, ` +
      `deliveries ${int(result.deliveriesPerSecond)}/s of ${int(result.expectedDeliveriesPerSecond)}/s asked ` +
      `(${((result.deliveriesPerSecond / result.expectedDeliveriesPerSecond) * 100).toFixed(1)} %)`,
  );
  console.log(
    `    latency p50 ${ms(result.p50)}, p99 ${ms(result.p99)}, max ${ms(result.max)} over ${int(result.samples)} samples: ` +
      `${verdict(result.p99 < TARGET_P99_MS)} (p99 < ${TARGET_P99_MS} ms)`,
  );
  console.log(
    `    server RSS ${result.rssPerConnectionKb.toFixed(1)} kB per idle connection (JS heap + buffers ${result.jsPerConnectionKb.toFixed(1)} kB, after a full GC): ` +
      `${verdict(result.rssPerConnectionKb < TARGET_RSS_KB)} (< ${TARGET_RSS_KB} kB); peak RSS ${result.peakRssMb.toFixed(0)} MB`,
  );
  console.log(
    `    CPU while sending: server ${result.serverCpuPercent.toFixed(0)} %, clients (this process) ` +
      `${result.clientCpuPercent.toFixed(0)} % of one CPU; load average ${result.loadAverage.toFixed(1)} on ${os.cpus().length} CPUs`,
  );
  console.log(
    `    closes during the run: ${closes === '' ? 'none' : closes}; error frames: ${int(result.errorFrames)}`,
  );
  console.log(
    `    connecting ${int(result.clients)} clients took ${ms(result.connectMs)}; presence frames read meanwhile ` +
      `by the raw clients (${sampledBy === 'raw' ? 'all' : '9 in 10'}): ${int(result.presenceFrames)}`,
  );
}

export async function realtimeSection(settings: RealtimeSettings): Promise<RealtimeResult[]> {
  const clients = envInt('BENCH_RT_CLIENTS', 1000, 5);
  const seconds = envInt('BENCH_RT_SECONDS', 30, 1);
  const results: RealtimeResult[] = [];
  for (const kind of ['postgres', 'pglite']) {
    if (!settings.databases.has(kind)) continue;
    heading(`realtime on ${kind}: ${int(clients)} clients, one message a second each, ${seconds} s`);
    let backend: Backend;
    try {
      backend = await openBackend(kind, clients, settings);
    } catch (error) {
      errors.push(`realtime ${kind}: ${message(error)}`);
      continue;
    }
    const picked = (process.env['BENCH_RT_SCENARIOS'] ?? 'a,b').split(',');
    const runs = (
      [
        ['a', `(a) one room of ${int(clients)}`, clients],
        ['b', `(b) ${int(Math.ceil(clients / 5))} rooms of 5`, 5],
      ] as const
    )
      .filter(([key]) => picked.includes(key))
      .map(([, label, size]): [string, number] => [label, size]);
    for (const [label, roomSize] of runs) {
      try {
        const result = await scenario(backend, label, clients, roomSize, seconds);
        print(result);
        results.push(result);
      } catch (error) {
        errors.push(`realtime ${kind} ${label}: ${message(error)}`);
        console.log(`  ${label}: failed: ${message(error)}`);
      }
    }
  }
  return results;
}
