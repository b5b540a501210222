/**
 * Regenerates everything derived from openapi.yaml:
 *   generated/openapi.json  the bundled contract (served at /openapi.json and loaded at start-up)
 *   generated/openapi.d.ts  openapi-typescript types the handlers are checked against
 *   generated/security.d.ts what each operation's security lets through (openapi-typescript leaves it out)
 * `--check` writes nothing and fails when a committed file differs from what would be generated.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';

const root = path.resolve(import.meta.dirname, '..');
const check = process.argv.includes('--check');

function bundle(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'bundle-'));
  try {
    const out = path.join(dir, 'openapi.json');
    execFileSync(path.join(root, 'node_modules/.bin/redocly'), ['bundle', 'openapi.yaml', '-o', out], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
    return JSON.stringify(JSON.parse(readFileSync(out, 'utf8')), null, 2) + '\n';
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const bundled = bundle();
const ast = await openapiTS(JSON.parse(bundled) as Parameters<typeof openapiTS>[0], {
  exportType: false,
  alphabetize: false,
});
const header = '// Generated from openapi.yaml by `npm run gen`. Do not edit.\n\n';

interface SecuredDocument {
  readonly security?: readonly Record<string, unknown>[];
  readonly paths?: Record<
    string,
    Record<string, { operationId?: string; security?: Record<string, unknown>[] }>
  >;
  readonly components?: { readonly securitySchemes?: Record<string, unknown> };
}

/**
 * For each operation, the security scheme that names the caller in each of its
 * alternatives (the first of the alternative), or `anonymous` where a request
 * may pass without one: no security, or an empty `{}` alternative.
 */
function securityTypes(document: SecuredDocument): string {
  const methods = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
  const lines: string[] = [];
  for (const item of Object.values(document.paths ?? {})) {
    for (const [method, operation] of Object.entries(item)) {
      if (!methods.has(method) || operation.operationId === undefined) continue;
      const requirements = operation.security ?? document.security ?? [];
      const names = new Set<string>();
      if (requirements.length === 0) names.add('anonymous');
      for (const requirement of requirements) names.add(Object.keys(requirement)[0] ?? 'anonymous');
      const union = [...names].map((name) => JSON.stringify(name)).join(' | ');
      lines.push(`    ${operation.operationId}: ${union};`);
    }
  }
  const schemes = Object.keys(document.components?.securitySchemes ?? {}).map((name) => JSON.stringify(name));
  return (
    header +
    '/** The security schemes of the contract. */\n' +
    `export type securitySchemeName = ${schemes.join(' | ') || 'never'};\n` +
    '/** Per operation: the scheme that names the caller in each security alternative, or `anonymous`. */\n' +
    `export interface operationSecurity {\n${lines.join('\n')}\n}\n`
  );
}

const outputs: Record<string, string> = {
  'generated/openapi.json': bundled,
  'generated/openapi.d.ts': header + astToString(ast),
  'generated/security.d.ts': securityTypes(JSON.parse(bundled) as SecuredDocument),
};

let stale = 0;
for (const [file, content] of Object.entries(outputs)) {
  const target = path.join(root, file);
  const current = existsSync(target) ? readFileSync(target, 'utf8') : undefined;
  if (current === content) continue;
  if (check) {
    stale += 1;
    console.error(`${file} is stale: run \`npm run gen\` and commit the result.`);
  } else {
    writeFileSync(target, content);
    console.log(`wrote ${file}`);
  }
}
if (check && stale > 0) process.exit(1);
if (check) console.log('generated/ is fresh.');
