#!/usr/bin/env node
/**
 * `npm start`'s build step: `npm run build` (tsc's incremental type check,
 * then the bundle, scripts/bundle.mjs) only when something it depends on
 * changed since the last build, so a restart with nothing changed goes
 * straight to `node dist/server.js`. Plain JavaScript on purpose: it must run
 * before anything is compiled.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync, utimesSync } from 'node:fs';
import console from 'node:console';
import path from 'node:path';
import process from 'node:process';

const root = path.resolve(import.meta.dirname, '..');
const stamp = path.join(root, 'dist', '.tsbuildinfo');

/**
 * The newest modification time under `dir` (files only), or 0 when it does not exist.
 * @param {string} dir
 * @returns {number}
 */
function newest(dir) {
  let latest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }
  return latest;
}

/**
 * @param {string} file
 * @returns {number}
 */
function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

const built = Math.min(mtime(stamp), mtime(path.join(root, 'dist', 'server.js')));
const inputs = Math.max(
  newest(path.join(root, 'src')),
  newest(path.join(root, 'generated')),
  mtime(path.join(root, 'tsconfig.json')),
  mtime(path.join(root, 'tsconfig.build.json')),
  mtime(path.join(root, 'package-lock.json')),
  mtime(path.join(root, 'scripts', 'bundle.mjs')),
);
if (built > 0 && built >= inputs) {
  console.log('dist/ is up to date with src/: not compiling');
} else {
  execFileSync(
    process.execPath,
    [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    { cwd: root, stdio: 'inherit' },
  );
  execFileSync(process.execPath, [path.join(root, 'scripts', 'bundle.mjs')], { cwd: root, stdio: 'inherit' });
  // An incremental check that finds nothing new leaves the stamp as it was: mark this check done.
  const now = new Date();
  utimesSync(stamp, now, now);
  utimesSync(path.join(root, 'dist', 'server.js'), now, now);
}
