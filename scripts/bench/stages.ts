/**
 * Per-stage cost from a V8 .cpuprofile: every sample of the measured window
 * is charged to one stage of the request (routing, security, validation, …),
 * found from its stack, and each stage's sampled time is divided by the
 * requests served in the window: µs per request.
 *
 * How a sample finds its stage: its stack is read from the innermost frame
 * out; Ajv's generated validators and JavaScript built-ins are transparent
 * (charged to whoever called them: input validation or the reply check); a
 * run of Node internals is `headers` when it is inside setHeader/writeHead,
 * the database client's, the logger's or the body reader's when one of them
 * called it, and `node:http` (parsing, socket I/O, streams) otherwise; the
 * first other frame that a rule below knows decides.
 *
 * Usage: tsx scripts/bench/stages.ts <file.cpuprofile> <requests> [fromUs toUs]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CallFrame, Profile } from './cpuprofile.js';

export const STAGES = [
  'routing',
  'security',
  'body read',
  'validation',
  'handler',
  'database client',
  'reply check',
  'serialisation',
  'logging',
  'metrics',
  'headers, request id, CORS',
  'framework (Express, openapi-backend)',
  'pipeline glue',
  'node:http (parse, socket I/O)',
  'garbage collection',
  'other',
] as const;
export type Stage = (typeof STAGES)[number];

export interface StageRow {
  readonly stage: Stage;
  readonly usPerRequest: number;
  readonly percent: number;
}

const HEADER_FUNCTIONS = new Set([
  'setHeader',
  'getHeader',
  'hasHeader',
  'removeHeader',
  'appendHeader',
  'writeHead',
  '_storeHeader',
  'processHeader',
  '_implicitHeader',
  'setProcessTime',
]);

const PACKAGE_STAGES: Readonly<Record<string, Stage>> = {
  pino: 'logging',
  'sonic-boom': 'logging',
  'fast-redact': 'logging',
  'thread-stream': 'logging',
  'prom-client': 'metrics',
  tdigest: 'metrics',
  helmet: 'headers, request id, CORS',
  cors: 'headers, request id, CORS',
  'on-headers': 'headers, request id, CORS',
  vary: 'headers, request id, CORS',
  jsonwebtoken: 'security',
  jws: 'security',
  jwa: 'security',
  'body-parser': 'body read',
  'raw-body': 'body read',
  busboy: 'body read',
  kysely: 'database client',
  pg: 'database client',
  'pg-pool': 'database client',
  'pg-protocol': 'database client',
  'pg-types': 'database client',
  '@electric-sql/pglite': 'database client',
  express: 'framework (Express, openapi-backend)',
  router: 'framework (Express, openapi-backend)',
  finalhandler: 'framework (Express, openapi-backend)',
  'path-to-regexp': 'framework (Express, openapi-backend)',
  parseurl: 'framework (Express, openapi-backend)',
  'openapi-backend': 'framework (Express, openapi-backend)',
  lodash: 'framework (Express, openapi-backend)',
  'on-finished': 'framework (Express, openapi-backend)',
};

/** Functions of src/http (before and after the pipeline was compiled per operation) by stage. */
const FUNCTION_STAGES: Readonly<Record<string, Stage>> = {
  match: 'routing',
  find: 'routing',
  segments: 'routing',
  matchOperation: 'routing',
  checkReply: 'reply check',
  compileReplyCheck: 'reply check',
  preOperationHandler: 'validation',
  readParameters: 'validation',
  checkInput: 'validation',
  nulCharacters: 'validation',
  coerceParameter: 'validation',
  toFieldErrors: 'validation',
  parseCookies: 'validation',
  postSecurityHandler: 'security',
  unauthorizedHandler: 'security',
  principalOf: 'security',
  runScheme: 'security',
  refusal: 'security',
  writeReply: 'serialisation',
  reply: 'serialisation',
  problem: 'serialisation',
  stringify: 'serialisation',
  byteLength: 'serialisation',
  logRequest: 'logging',
  logOnClose: 'logging',
  observeRequest: 'metrics',
  replay: 'headers, request id, CORS',
  headerList: 'headers, request id, CORS',
  preflightHeaders: 'headers, request id, CORS',
  processTime: 'headers, request id, CORS',
  requestIdFor: 'headers, request id, CORS',
  randomUUID: 'headers, request id, CORS',
  contentType: 'headers, request id, CORS',
  handle: 'framework (Express, openapi-backend)',
  handleRequest: 'framework (Express, openapi-backend)',
};

/** Files whose frames not named above belong to one stage. */
function fileStage(file: string): Stage | undefined {
  if (file.startsWith('src/handlers/')) return 'handler';
  if (file.startsWith('src/auth/')) return 'security';
  if (file.startsWith('src/db/')) return 'database client';
  if (file === 'src/metrics.ts') return 'metrics';
  if (file === 'src/contract/routes.ts') return 'routing';
  if (file === 'src/contract/validation.ts') return 'validation';
  if (file === 'src/startup-gate.ts') return 'pipeline glue';
  if (file === 'src/http/security.ts') return 'security';
  if (file === 'src/http/input.ts') return 'validation';
  if (file === 'src/http/reply-check.ts') return 'reply check';
  if (file === 'src/http/response.ts') return 'serialisation';
  if (file === 'src/http/body.ts') return 'body read';
  if (file === 'src/http/middleware.ts' || file === 'src/http/request-state.ts')
    return 'headers, request id, CORS';
  if (file === 'src/http/backend.ts') return 'framework (Express, openapi-backend)';
  if (file.startsWith('src/http/')) return 'pipeline glue';
  return undefined;
}

function relative(url: string, root: string): string {
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  return file.startsWith(root) ? path.relative(root, file) : file;
}

type Verdict = Stage | 'transparent' | 'node' | undefined;

function judge(frame: CallFrame, root: string): Verdict {
  const name = frame.functionName;
  if (name === '(garbage collector)') return 'garbage collection';
  if (name === '(program)' || name === '(root)') return 'other';
  const url = relative(frame.url, root);
  if (url.startsWith('node:')) return HEADER_FUNCTIONS.has(name) ? 'headers, request id, CORS' : 'node';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg === 'ajv' || pkg === 'ajv-formats' || pkg === 'fast-uri' || pkg === 'tsx') return 'transparent';
  if (pkg !== undefined) return PACKAGE_STAGES[pkg];
  if (url === '') {
    if (name === 'stringify' || name === 'byteLength') return 'serialisation';
    if (name === 'randomUUID') return 'headers, request id, CORS';
    // Ajv's generated validators and other built-ins: their caller decides.
    return 'transparent';
  }
  if (HEADER_FUNCTIONS.has(name)) return 'headers, request id, CORS';
  const byName = url.startsWith('src/') ? FUNCTION_STAGES[name] : undefined;
  return byName ?? fileStage(url);
}

/** The stage a sampled stack (innermost first) is charged to. */
function classify(stack: readonly CallFrame[], root: string): Stage {
  for (let i = 0; i < stack.length; i += 1) {
    const frame = stack[i];
    if (frame === undefined) break;
    const verdict = judge(frame, root);
    if (verdict === undefined || verdict === 'transparent') continue;
    if (verdict !== 'node') return verdict;
    // A run of Node internals: headers when setHeader/writeHead is in it; the database client's or
    // the logger's when they called it (their socket and file writes); node:http otherwise.
    for (let j = i; j < stack.length; j += 1) {
      const outer = stack[j];
      if (outer === undefined) break;
      const v = judge(outer, root);
      if (v === 'headers, request id, CORS') return v;
      if (v === 'node' || v === 'transparent') continue;
      if (v === 'database client' || v === 'logging' || v === 'body read') return v;
      break;
    }
    return 'node:http (parse, socket I/O)';
  }
  return 'other';
}

export interface Window {
  readonly fromUs: number;
  readonly toUs: number;
}

/** µs per request by stage, over the samples inside the window. */
export function stageCosts(file: string, root: string, requests: number, window?: Window): StageRow[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const verdicts = new Map<number, Stage>();
  const stageOf = (id: number): Stage => {
    let stage = verdicts.get(id);
    if (stage === undefined) {
      const stack: CallFrame[] = [];
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const node = byId.get(at);
        if (node !== undefined) stack.push(node.callFrame);
      }
      stage = classify(stack, root);
      verdicts.set(id, stage);
    }
    return stage;
  };
  const totals = new Map<Stage, number>();
  let at = profile.startTime;
  let all = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (window !== undefined && (at < window.fromUs || at > window.toUs)) return;
    if (byId.get(id)?.callFrame.functionName === '(idle)') return;
    const stage = stageOf(id);
    totals.set(stage, (totals.get(stage) ?? 0) + delta);
    all += delta;
  });
  return STAGES.map((stage) => ({
    stage,
    usPerRequest: (totals.get(stage) ?? 0) / Math.max(1, requests),
    percent: (100 * (totals.get(stage) ?? 0)) / Math.max(1, all),
  }));
}

/** Prints the table, optionally beside another (e.g. before/after). */
export function printStages(rows: readonly StageRow[], indent = '  '): void {
  const total = rows.reduce((sum, row) => sum + row.usPerRequest, 0);
  for (const row of rows) {
    if (row.usPerRequest === 0) continue;
    console.log(
      `${indent}${row.stage.padEnd(40)} ${row.usPerRequest.toFixed(1).padStart(8)} µs  ${row.percent.toFixed(1).padStart(5)} %`,
    );
  }
  console.log(`${indent}${'total (on-CPU, main thread)'.padEnd(40)} ${total.toFixed(1).padStart(8)} µs`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [file, requests, from, to] = process.argv.slice(2);
  if (file === undefined || requests === undefined) {
    console.error('usage: tsx scripts/bench/stages.ts <file.cpuprofile> <requests> [fromUs toUs]');
    process.exit(2);
  }
  const window =
    from === undefined || to === undefined ? undefined : { fromUs: Number(from), toUs: Number(to) };
  // The checkout the profiled server ran from: the current directory.
  printStages(stageCosts(file, process.cwd(), Number(requests), window));
}
