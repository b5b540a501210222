/**
 * npm run contract -- --base-url URL [--token T | --login email:password] [--cases N] [--seed S]
 *   [--spec FILE|remote] [--api-key K] [--body-limit BYTES] [--reports DIR] [--only opId,...]
 *   [--concurrency N] [--no-journeys] [--journeys-only]
 * Exits 1 when any case or journey fails, 2 on bad usage.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadContract } from './document.js';
import { runJourneys } from './journeys.js';
import type { JourneyReport } from './journeys.js';
import { formatTable, writeReports } from './report.js';
import { runContract } from './runner.js';
import type { RunReport } from './runner.js';

const root = path.resolve(import.meta.dirname, '../..');

function usage(message: string): never {
  console.error(
    `${message}\nusage: npm run contract -- --base-url URL [--token T | --login email:password] [--cases N] [--seed S] [--spec FILE|remote] [--api-key K] [--body-limit BYTES] [--reports DIR] [--only op1,op2] [--concurrency N] [--no-journeys] [--journeys-only]`,
  );
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    'base-url': { type: 'string' },
    token: { type: 'string' },
    login: { type: 'string' },
    cases: { type: 'string', default: '100' },
    seed: { type: 'string' },
    spec: { type: 'string' },
    'api-key': { type: 'string' },
    'body-limit': { type: 'string' },
    reports: { type: 'string', default: path.join(root, 'reports/contract') },
    only: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    'no-journeys': { type: 'boolean', default: false },
    'journeys-only': { type: 'boolean', default: false },
  },
  allowPositionals: false,
});

const baseUrl = values['base-url'] ?? usage('--base-url is required');
if (!/^https?:\/\//.test(baseUrl)) usage('--base-url must be an http(s) URL');
if (values.token !== undefined && values.login !== undefined) usage('give --token or --login, not both');
const cases = Number(values.cases);
if (!Number.isInteger(cases) || cases < 1) usage('--cases must be a positive integer');
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
if (!Number.isInteger(seed)) usage('--seed must be an integer');
let login: { email: string; password: string } | undefined;
if (values.login !== undefined) {
  const at = values.login.indexOf(':');
  if (at <= 0) usage('--login takes email:password');
  login = { email: values.login.slice(0, at), password: values.login.slice(at + 1) };
}
const bodyLimit = values['body-limit'] === undefined ? undefined : Number(values['body-limit']);

const source =
  values.spec === 'remote'
    ? new URL('/openapi.json', baseUrl).toString()
    : (values.spec ?? path.join(root, 'generated/openapi.json'));
const contract = await loadContract(source);
const log = (line: string): void => console.error(line);
console.error(`contract ${source} against ${baseUrl}: ${cases} valid cases per operation, seed ${seed}`);

let report: RunReport = {
  baseUrl,
  seed,
  casesPerOperation: cases,
  startedAt: new Date().toISOString(),
  durationMs: 0,
  notes: [],
  operations: [],
  failures: [],
};
let journeys: JourneyReport[] = [];
if (!values['no-journeys']) {
  // Journeys first: the fuzzing below fails logins on purpose, which can throttle the client's address.
  const inputs: Record<string, string> = {};
  if (login !== undefined) Object.assign(inputs, { adminEmail: login.email, adminPassword: login.password });
  journeys = await runJourneys({
    baseUrl,
    contract,
    dir: path.join(root, 'arazzo'),
    reportsDir: values.reports,
    inputs,
    log,
  }).catch((error: unknown) => {
    // Setting up the run's accounts failed: nothing was tested, so say why and fail.
    console.error(`contract run could not start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
if (!values['journeys-only']) {
  report = await runContract({
    baseUrl,
    contract,
    cases,
    seed,
    token: values.token,
    login,
    apiKey: values['api-key'],
    bodyLimit,
    concurrency: Number(values.concurrency),
    only: values.only?.split(',').map((s) => s.trim()),
    log,
  }).catch((error: unknown) => {
    // Setting up the run's accounts failed: nothing was tested, so say why and fail.
    console.error(`contract run could not start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
console.log(formatTable(report, journeys));
const files = writeReports(values.reports, report, journeys);
console.log(`\nreports: ${files.join(', ')}`);
const failed = report.failures.length > 0 || journeys.some((j) => j.failures > 0);
process.exit(failed ? 1 : 0);
