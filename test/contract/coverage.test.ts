/**
 * At the end of a full `npm test` run: every response the contract declares
 * was produced by some test (or is listed with a reason in
 * coverage-exceptions.yaml), and nothing undeclared was produced.
 * A run of some files only (or with --grep) prints the figure and checks nothing.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Suite } from 'mocha';
import { coverage, declaredResponses, keyOf, recordLogLine, recorded } from './coverage.js';

const testRoot = path.resolve(import.meta.dirname, '..');

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(full);
    return entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

function loadedFiles(suite: Suite, found = new Set<string>()): Set<string> {
  if (suite.file !== undefined) found.add(path.resolve(suite.file));
  for (const child of suite.suites) loadedFiles(child, found);
  return found;
}

describe('contract coverage bookkeeping', () => {
  it('tells declared, missing, undeclared and excused responses apart', () => {
    const seen = new Map([
      [keyOf('getHealth', 200, 'application/json'), 1],
      [keyOf('getHealth', 418, 'application/json'), 1],
    ]);
    const result = coverage(
      [
        keyOf('getHealth', 200, 'application/json'),
        keyOf('getHealth', 500, 'application/problem+json'),
        keyOf('getRoot', 500, 'application/problem+json'),
      ],
      seen,
      [{ operation: 'getRoot', status: 500, reason: 'cannot be provoked here' }],
    );
    expect(result.covered).to.equal(1);
    expect(result.missing).to.deep.equal(['getHealth 500 application/problem+json']);
    expect(result.undeclared).to.deep.equal(['getHealth 418 application/json']);
    expect(result.excused.map((e) => e.key)).to.deep.equal(['getRoot 500 application/problem+json']);
  });

  it('reads the media type from the request log line', () => {
    const before = recorded().get('coverageProbe 201 application/json') ?? 0;
    recordLogLine({
      msg: 'request',
      operationId: 'coverageProbe',
      status: 201,
      contentType: 'application/json; charset=utf-8',
    });
    expect(recorded().get('coverageProbe 201 application/json')).to.equal(before + 1);
    // Not a real operation: forget it so the end-of-run check does not see it.
    (recorded() as Map<string, number>).delete('coverageProbe 201 application/json');
  });
});

after(function () {
  const root = this.test?.parent;
  const declared = declaredResponses();
  const result = coverage(declared, recorded());
  const percent = ((100 * result.covered) / result.declared).toFixed(1);
  console.log(
    `\n  contract coverage: ${result.covered}/${result.declared} declared responses produced (${percent} %), ` +
      `${result.excused.length} excused in test/contract/coverage-exceptions.yaml, ` +
      `${result.missing.length} missing, ${result.undeclared.length} undeclared`,
  );
  for (const key of result.missing) console.log(`    missing:    ${key}`);
  for (const key of result.undeclared) console.log(`    undeclared: ${key}`);
  const partial =
    root === undefined ||
    process.argv.some((arg) => ['--grep', '-g', '--fgrep', '-f'].includes(arg)) ||
    testFiles(testRoot).some((file) => !loadedFiles(root).has(file));
  if (partial) {
    console.log('  (a partial run: coverage is reported, not enforced)');
    return;
  }
  expect(result.undeclared, 'responses the contract does not declare').to.deep.equal([]);
  expect(
    result.missing,
    'declared responses no test produced (add a test or an exception with a reason)',
  ).to.deep.equal([]);
  expect(
    result.stale.map((e) => `${e.operation} ${e.status}`),
    'exceptions that excuse nothing',
  ).to.deep.equal([]);
});
