/**
 * `npm run clients:check`: generates a client for the contract with each of
 * four generators (installed apart, in clients/), compiles each with its
 * journey under `tsc --strict`, and walks the journey (clients/journeys/)
 * against a real server started for the run. Prints a generator × step table;
 * exits 1 when any generator fails any step.
 *
 * Options: `--built` runs `node dist/server.js` (after `npm run build`) instead
 * of `src/server.ts` through tsx. The server uses DATABASE_URL when it is set,
 * a temporary PGlite DATA_DIR otherwise.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { STEPS } from '../clients/journeys/steps.js';

const root = path.resolve(import.meta.dirname, '..');
const clients = path.join(root, 'clients');
const out = path.join(clients, 'out');
const bin = (name: string): string => path.join(clients, 'node_modules', '.bin', name);
const spec = path.join(root, 'generated', 'openapi.json');

interface Generator {
  readonly name: string;
  readonly generate: readonly (readonly string[])[];
}

const GENERATORS: readonly Generator[] = [
  {
    name: 'openapi-fetch',
    generate: [[process.execPath, 'openapi-typescript.mjs', spec, 'out/openapi-fetch/schema.d.ts']],
  },
  {
    name: 'hey-api',
    generate: [[bin('openapi-ts'), '-i', spec, '-o', 'out/hey-api', '-c', '@hey-api/client-fetch']],
  },
  { name: 'orval', generate: [[bin('orval'), '--config', 'orval.config.cjs']] },
  {
    name: 'swagger-typescript-api',
    generate: [
      [
        bin('swagger-typescript-api'),
        'generate',
        '-p',
        spec,
        '-o',
        'out/swagger-typescript-api',
        '-n',
        'api.ts',
      ],
    ],
  },
];

interface Result {
  generated: boolean;
  compiled: boolean;
  steps: Map<string, boolean>;
  errors: string[];
}

/** Installs clients/ from its lockfile when the installed tree is not that lockfile's. */
function install(): void {
  const lock = createHash('sha256')
    .update(readFileSync(path.join(clients, 'package-lock.json')))
    .digest('hex');
  const stamp = path.join(clients, 'node_modules', '.clients-lock-sha256');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === lock) return;
  console.log('== npm ci --prefix clients');
  execFileSync('npm', ['ci', '--prefix', clients, '--no-audit', '--no-fund'], { stdio: 'inherit' });
  writeFileSync(stamp, lock);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

async function startServer(
  port: number,
  dataDir: string,
): Promise<{ child: ChildProcess; output: () => string }> {
  const built = process.argv.includes('--built');
  const args = built ? ['dist/server.js'] : ['--import', 'tsx', 'src/server.ts'];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: {
      ...process.env,
      ...(process.env['DATABASE_URL'] === undefined ? { DATA_DIR: dataDir } : {}),
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      JWT_SECRET: createHash('sha256').update(`clients-check ${Date.now()} ${Math.random()}`).digest('hex'),
      // Four journeys sign up and log in from one address within seconds; the limits have their own tests.
      RATE_LIMIT_FACTOR: '1000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}):\n${output}`);
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
      (res) => res.ok,
      () => false,
    );
    if (ready) return { child, output: () => output };
    if (Date.now() > deadline) throw new Error(`the server did not get ready:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Runs a command in clients/; resolves with its exit code and output. */
function run(
  command: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; output: string }> {
  const [file = '', ...args] = command;
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      cwd: clients,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

const tail = (text: string, lines = 15): string => text.trim().split('\n').slice(-lines).join('\n');

async function check(generator: Generator, baseUrl: string, port: number): Promise<Result> {
  const result: Result = { generated: false, compiled: false, steps: new Map(), errors: [] };
  for (const command of generator.generate) {
    const { code, output } = await run(command, { CLIENTS_HOST: '127.0.0.1', CLIENTS_PORT: String(port) });
    if (code !== 0) {
      result.errors.push(`generate: exit ${code}\n${tail(output)}`);
      return result;
    }
  }
  result.generated = true;
  const tsconfig = path.join(out, generator.name, 'tsconfig.json');
  mkdirSync(path.dirname(tsconfig), { recursive: true });
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: '../../tsconfig.json',
      include: [],
      files: [`../../journeys/${generator.name}.ts`],
    }),
  );
  const compiled = await run([bin('tsc'), '-p', tsconfig, '--strict']);
  if (compiled.code !== 0) {
    result.errors.push(`tsc --strict:\n${tail(compiled.output, 30)}`);
    return result;
  }
  result.compiled = true;
  const journey = path.join(clients, 'journeys', `${generator.name}.ts`);
  // tsx comes from the project's own dependencies (the cwd resolves --import).
  const walked = await new Promise<{ code: number; output: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', journey, baseUrl], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
  const line = walked.output.split('\n').find((l) => l.startsWith('JOURNEY '));
  if (line === undefined) {
    result.errors.push(`journey: no result (exit ${walked.code})\n${tail(walked.output)}`);
    return result;
  }
  const report = JSON.parse(line.slice('JOURNEY '.length)) as {
    outcomes: { step: string; ok: boolean; error?: string }[];
  };
  for (const outcome of report.outcomes) {
    result.steps.set(outcome.step, outcome.ok);
    if (!outcome.ok) result.errors.push(`${outcome.step}: ${outcome.error ?? ''}`);
  }
  return result;
}

function table(results: ReadonlyMap<string, Result>): string {
  const columns = ['generate', 'tsc --strict', ...STEPS];
  const mark = (value: boolean | undefined): string => (value === undefined ? '-' : value ? 'pass' : 'FAIL');
  const rows = [...results].map(([name, r]) => {
    const cells = [mark(r.generated), mark(r.generated ? r.compiled : undefined)];
    for (const step of STEPS) cells.push(mark(r.steps.get(step)));
    const passed = STEPS.filter((step) => r.steps.get(step) === true).length;
    return [name, ...cells, `${passed}/${STEPS.length}`];
  });
  const header = ['generator', ...columns, 'steps'];
  const lines = [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`);
  return lines.join('\n');
}

install();
rmSync(out, { recursive: true, force: true });
const dataDir = mkdtempSync(path.join(tmpdir(), 'clients-check-'));
const port = await freePort();
const baseUrl = `http://127.0.0.1:${port}`;
console.log(
  `== server on ${baseUrl} (${process.env['DATABASE_URL'] === undefined ? 'PGlite' : 'DATABASE_URL'})`,
);
const server = await startServer(port, dataDir);
const results = new Map<string, Result>();
try {
  for (const generator of GENERATORS) {
    console.log(`== ${generator.name}`);
    results.set(generator.name, await check(generator, baseUrl, port));
  }
} finally {
  if (server.child.exitCode === null) {
    const exited = new Promise((resolve) => server.child.once('exit', resolve));
    server.child.kill('SIGTERM');
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
}

console.log(`\n${table(results)}\n`);
let failed = false;
for (const [name, result] of results) {
  const complete = result.compiled && STEPS.every((step) => result.steps.get(step) === true);
  if (complete) continue;
  failed = true;
  console.log(`${name}:\n  ${result.errors.join('\n').replaceAll('\n', '\n  ')}`);
}
process.exitCode = failed ? 1 : 0;
