/**
 * Regenerates everything derived from openapi.yaml:
 *   generated/openapi.json  the bundled contract (served at /openapi.json and loaded at start-up)
 *   generated/openapi.d.ts  openapi-typescript types the handlers are checked against
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
const outputs: Record<string, string> = {
  'generated/openapi.json': bundled,
  'generated/openapi.d.ts': header + astToString(ast),
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
