/**
 * `npm run contract:diff [BASE] [-- --changelog]`: the breaking-change gate.
 * Compares openapi.yaml with the contract at BASE (a git ref; default: the
 * newest `api-v*` tag, else the merge base with main), prints the changelog
 * and exits 1 on a breaking change unless info.version's major number changed.
 *
 *   --changelog          also prepend the changelog to CHANGELOG-API.md
 *   --before F --after F compare two files instead (no git)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { changelog, compareContracts } from './classify.js';

const CONTRACT = 'openapi.yaml';
const CHANGELOG = 'CHANGELOG-API.md';

const git = (...args: string[]): string =>
  execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

function tryGit(...args: string[]): string | undefined {
  try {
    return git(...args);
  } catch {
    return undefined;
  }
}

/** The newest `api-v*` tag, else the merge base with main. */
function defaultBase(): string {
  const tag = tryGit('tag', '--list', 'api-v*', '--sort=-v:refname')?.split('\n')[0];
  if (tag !== undefined && tag !== '') return tag;
  const base = tryGit('merge-base', 'HEAD', 'main');
  if (base !== undefined && base !== '') return base;
  throw new Error(
    'no api-v* tag and no branch main to compare with; name a base: npm run contract:diff -- <ref>',
  );
}

function main(): number {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      changelog: { type: 'boolean', default: false },
      before: { type: 'string' },
      after: { type: 'string' },
    },
  });
  let baseName: string;
  let beforeText: string | undefined;
  if (values.before !== undefined) {
    baseName = values.before;
    beforeText = readFileSync(values.before, 'utf8');
  } else {
    baseName = positionals[0] ?? defaultBase();
    if (tryGit('rev-parse', '--verify', '--quiet', `${baseName}^{commit}`) === undefined) {
      console.error(`contract:diff: ${baseName} is not a commit here`);
      return 2;
    }
    beforeText = tryGit('show', `${baseName}:${CONTRACT}`);
  }
  const afterName = values.after ?? CONTRACT;
  const after = parse(readFileSync(afterName, 'utf8')) as Record<string, unknown>;
  if (beforeText === undefined) {
    console.log(`contract:diff: ${baseName} has no ${CONTRACT}; nothing to compare.`);
    return 0;
  }
  const before = parse(beforeText) as Record<string, unknown>;
  const comparison = compareContracts(before, after);
  const title =
    comparison.versionBefore === comparison.versionAfter
      ? `${comparison.versionAfter} (unreleased changes since ${baseName})`
      : `${comparison.versionAfter} (from ${comparison.versionBefore}, since ${baseName})`;
  const text = changelog(comparison, title);
  console.log(text);
  if (values.changelog) {
    const previous = existsSync(CHANGELOG) ? readFileSync(CHANGELOG, 'utf8') : '# API changelog\n';
    const [heading, ...rest] = previous.split('\n');
    writeFileSync(CHANGELOG, [heading, '', text.trimEnd(), ...rest].join('\n').replace(/\n{3,}/g, '\n\n'));
    console.log(`contract:diff: prepended to ${CHANGELOG}`);
  }
  const count = comparison.breaking.length;
  if (count === 0) {
    console.log('contract:diff: no breaking changes.');
    return 0;
  }
  if (comparison.majorChanged) {
    console.log(
      `contract:diff: ${count} breaking change(s), allowed: info.version ${comparison.versionBefore} → ${comparison.versionAfter} changes the major number.`,
    );
    return 0;
  }
  console.error(
    `contract:diff: ${count} breaking change(s) against ${baseName} while info.version stays at major ${comparison.versionAfter.split('.')[0] ?? ''}: ` +
      'make the change additive, or bump the major number of info.version.',
  );
  return 1;
}

try {
  process.exitCode = main();
} catch (error) {
  console.error(`contract:diff: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
}
