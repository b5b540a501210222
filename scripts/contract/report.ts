/**
 * Output of a run: a table per operation on the console, the first failing
 * request as curl, and `contract.json` + `contract-junit.xml` in the reports dir.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { JourneyReport } from './journeys.js';
import type { RunReport } from './runner.js';

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** The per-operation table, plus the first failure of each failing operation as curl. */
export function formatTable(report: RunReport, journeys: readonly JourneyReport[]): string {
  const rows = report.operations.map((op) => [
    op.operation,
    op.skipped === undefined ? String(op.cases) : 'skipped',
    String(op.failures),
    String(op.ms),
    op.skipped ??
      Object.entries(op.statuses)
        .map(([status, n]) => `${status}×${n}`)
        .join(' '),
  ]);
  for (const journey of journeys)
    rows.push([
      `journey ${journey.name}`,
      journey.skipped === undefined ? String(journey.steps) : 'skipped',
      String(journey.failures),
      '',
      journey.skipped ?? journey.summary,
    ]);
  const header = ['operation', 'cases', 'failures', 'ms', 'statuses'];
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => Math.min(60, (r[i] ?? '').length))),
  );
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i] ?? 0))).join('  ');
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  const totalCases = report.operations.reduce((n, op) => n + op.cases, 0);
  out.push(
    '',
    `${totalCases} cases, ${report.failures.length} failures, seed ${report.seed}, ${(report.durationMs / 1000).toFixed(1)} s`,
  );
  for (const note of report.notes) out.push(`note: ${note}`);
  const failing = report.operations.filter((op) => op.firstFailure !== undefined);
  for (const op of failing) {
    const f = op.firstFailure;
    if (f === undefined) continue;
    out.push(
      '',
      `FAIL ${op.operation} — ${f.case} (status ${f.status})`,
      ...f.problems.map((p) => `  ${p}`),
      `  ${f.curl}`,
    );
  }
  for (const journey of journeys.filter((j) => j.failures > 0))
    out.push(
      '',
      `FAIL journey ${journey.name}`,
      journey.output
        .trim()
        .split('\n')
        .slice(-40)
        .map((l) => `  ${l}`)
        .join('\n'),
    );
  return out.join('\n');
}

const xml = (text: string): string =>
  text
    .replace(
      /[<>&"']/g,
      (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c,
    )
    // XML 1.0 cannot carry most control characters, even escaped.
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '?');

/** JUnit XML: one test case per operation (and per journey), failing with the first failure. */
export function toJUnit(report: RunReport, journeys: readonly JourneyReport[]): string {
  const cases: string[] = [];
  for (const op of report.operations) {
    const name = `${op.method} ${op.path} (${op.operation})`;
    if (op.skipped !== undefined)
      cases.push(
        `    <testcase classname="contract" name="${xml(name)}"><skipped message="${xml(op.skipped)}"/></testcase>`,
      );
    else if (op.firstFailure !== undefined) {
      const all = report.failures.filter((f) => f.operation === op.operation).slice(0, 20);
      const text = all
        .map((f) => `${f.case} (status ${f.status})\n${f.problems.join('\n')}\n${f.curl}`)
        .join('\n\n');
      cases.push(
        `    <testcase classname="contract" name="${xml(name)}"><failure message="${xml(`${op.failures} of ${op.cases} cases failed: ${op.firstFailure.problems[0] ?? ''}`)}">${xml(text)}</failure></testcase>`,
      );
    } else cases.push(`    <testcase classname="contract" name="${xml(name)}"/>`);
  }
  for (const j of journeys) {
    const name = `journey ${j.name}`;
    if (j.skipped !== undefined)
      cases.push(
        `    <testcase classname="journeys" name="${xml(name)}"><skipped message="${xml(j.skipped)}"/></testcase>`,
      );
    else if (j.failures > 0)
      cases.push(
        `    <testcase classname="journeys" name="${xml(name)}"><failure message="${xml(j.summary)}">${xml(j.output.slice(-20000))}</failure></testcase>`,
      );
    else cases.push(`    <testcase classname="journeys" name="${xml(name)}"/>`);
  }
  const failures =
    report.operations.filter((op) => op.firstFailure !== undefined).length +
    journeys.filter((j) => j.failures > 0).length;
  const skipped =
    report.operations.filter((op) => op.skipped !== undefined).length +
    journeys.filter((j) => j.skipped !== undefined).length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="contract" tests="${cases.length}" failures="${failures}" time="${(report.durationMs / 1000).toFixed(3)}">`,
    `  <testsuite name="contract ${xml(report.baseUrl)}" tests="${cases.length}" failures="${failures}" skipped="${skipped}" timestamp="${report.startedAt}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

/** Writes contract.json and contract-junit.xml; returns their paths. */
export function writeReports(dir: string, report: RunReport, journeys: readonly JourneyReport[]): string[] {
  mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'contract.json');
  const junit = path.join(dir, 'contract-junit.xml');
  writeFileSync(
    json,
    JSON.stringify({ ...report, journeys: journeys.map(({ output: _output, ...rest }) => rest) }, null, 2) +
      '\n',
  );
  writeFileSync(junit, toJUnit(report, journeys));
  return [json, junit];
}
