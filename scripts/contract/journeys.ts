/**
 * User journeys: Arazzo 1.0 workflows under `arazzo/`, run by `redocly respect`,
 * which checks every step's response against the OpenAPI description. A file
 * whose steps name operations the contract does not have (yet) is skipped and
 * says why, so a journey can be written before its operations are merged.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { Contract } from './document.js';

export interface JourneyReport {
  readonly name: string;
  readonly file: string;
  steps: number;
  failures: number;
  summary: string;
  skipped?: string;
  output: string;
}

export interface JourneyOptions {
  readonly baseUrl: string;
  readonly contract: Contract;
  readonly dir: string;
  readonly reportsDir: string;
  /** Workflow inputs, passed to every file (`--input name=value`). */
  readonly inputs: Readonly<Record<string, string>>;
  readonly log?: (line: string) => void;
}

const root = path.resolve(import.meta.dirname, '../..');

/** The operationIds a workflow file's steps call. */
export function operationsOf(text: string): string[] {
  const document = parse(text) as { workflows?: { steps?: { operationId?: unknown }[] }[] };
  return (document.workflows ?? [])
    .flatMap((w) => (w.steps ?? []).map((s) => s.operationId))
    .filter((id): id is string => typeof id === 'string')
    .map((id) => id.replace(/^\$sourceDescriptions\.[^.]+\./, ''));
}

/** Workflow ids whose `inputs` require a value we do not have. */
function missingInputs(text: string, inputs: Readonly<Record<string, string>>): string[] {
  const document = parse(text) as { workflows?: { workflowId?: string; inputs?: { required?: string[] } }[] };
  return (document.workflows ?? []).flatMap((w) =>
    (w.inputs?.required ?? [])
      .filter((name) => inputs[name] === undefined)
      .map((name) => `${w.workflowId ?? '?'} needs input ${name}`),
  );
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(path.join(root, 'node_modules/.bin/redocly'), args, { cwd: root, env });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** Runs every `*.arazzo.yaml` in `dir` whose operations exist and whose inputs are given. */
export async function runJourneys(options: JourneyOptions): Promise<JourneyReport[]> {
  const files = readdirSync(options.dir)
    .filter((f) => f.endsWith('.arazzo.yaml'))
    .sort();
  const reports: JourneyReport[] = [];
  mkdirSync(options.reportsDir, { recursive: true });
  for (const file of files) {
    const full = path.join(options.dir, file);
    const text = readFileSync(full, 'utf8');
    const report: JourneyReport = {
      name: file.replace(/\.arazzo\.yaml$/, ''),
      file: full,
      steps: 0,
      failures: 0,
      summary: '',
      output: '',
    };
    reports.push(report);
    const absent = [...new Set(operationsOf(text).filter((id) => !options.contract.spec.byId.has(id)))];
    if (absent.length > 0) {
      report.skipped = `operations not in the contract yet: ${absent.join(', ')}`;
      options.log?.(`skip journey ${report.name}: ${report.skipped}`);
      continue;
    }
    const missing = missingInputs(text, options.inputs);
    if (missing.length > 0) {
      report.skipped = `inputs not given: ${missing.join('; ')}`;
      options.log?.(`skip journey ${report.name}: ${report.skipped}`);
      continue;
    }
    const args = [
      'respect',
      full,
      '--server',
      `api=${options.baseUrl}`,
      '--json-output',
      path.join(options.reportsDir, `journey-${report.name}.json`),
    ];
    for (const [name, value] of Object.entries(options.inputs)) args.push('--input', `${name}=${value}`);
    // A journey may lower a check it cannot judge (x-respect-severity: 'SCHEMA_CHECK=warn'), saying why in its file.
    const severity = (parse(text) as { 'x-respect-severity'?: unknown })['x-respect-severity'];
    if (typeof severity === 'string') args.push('--severity', severity);
    const result = await run(args, {
      ...process.env,
      REDOCLY_TELEMETRY: 'off',
      REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
      NO_COLOR: '1',
      FORCE_COLOR: '0',
    });
    report.output = result.output;
    const steps = /Steps:\s*(.+)/.exec(result.output)?.[1] ?? '';
    report.summary = steps.trim();
    const total = /(\d+)\s+total/.exec(steps);
    report.steps = total === null ? 0 : Number(total[1]);
    const failed = /(\d+)\s+failed/.exec(steps);
    report.failures = result.code === 0 ? 0 : Math.max(1, failed === null ? 1 : Number(failed[1]));
    options.log?.(`journey ${report.name}: ${report.summary || `exit ${result.code}`}`);
  }
  return reports;
}
