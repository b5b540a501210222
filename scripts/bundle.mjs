#!/usr/bin/env node
/**
 * The second half of `npm run build` (after `tsc` has checked the types):
 * esbuild bundles src/server.ts and the embedded database's worker, with the
 * packages they import, into dist/server.js and dist/pglite-worker.js.
 *
 * Why a bundle: Node resolves and reads every module of a package graph one
 * file at a time, and the app's graph is about 1,200 files; the bundle
 * starts 250-550 ms sooner (docs/benchmarks.md, "Start-up").
 *
 * Left out of the bundle, and loaded from node_modules as usual:
 *   - @electric-sql/pglite, which loads its WebAssembly and data files from beside its own modules;
 *   - @node-rs/argon2, a native addon;
 *   - pg-native, an optional part of pg that the app does not use.
 * Files the app reads at run time (generated/openapi.json, the Swagger UI and
 * Redoc assets) are found from the project root and node_modules, not bundled.
 *
 * Usage: node scripts/bundle.mjs [--outdir DIR]   (default: dist)
 * Plain JavaScript on purpose, like build-if-stale.mjs.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
const at = process.argv.indexOf('--outdir');
const outdir = path.resolve(at === -1 ? path.join(root, 'dist') : (process.argv[at + 1] ?? 'dist'));

// Bundled CommonJS packages still call require() (node: built-ins, optional
// modules) and read __dirname; an ES module has neither, so the bundle defines them.
const banner = [
  "import { createRequire as __bundleCreateRequire } from 'node:module';",
  "import { dirname as __bundleDirname } from 'node:path';",
  "import { fileURLToPath as __bundleFileURLToPath } from 'node:url';",
  'const require = __bundleCreateRequire(import.meta.url);',
  'const __filename = __bundleFileURLToPath(import.meta.url);',
  'const __dirname = __bundleDirname(__filename);',
].join('\n');

// Only what a build writes: JavaScript, source maps, and the folders of an
// older unbundled build. Keeps tsc's .tsbuildinfo.
mkdirSync(outdir, { recursive: true });
for (const entry of readdirSync(outdir, { withFileTypes: true }).filter(
  (e) => e.isDirectory() || /\.js(\.map)?$/.test(e.name),
)) {
  rmSync(path.join(outdir, entry.name), { recursive: true, force: true });
}

await build({
  absWorkingDir: root,
  entryPoints: { server: 'src/server.ts', 'pglite-worker': 'src/db/pglite-worker.ts' },
  outdir,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  // Error classes and functions keep their names in logs and stack traces.
  keepNames: true,
  external: ['@electric-sql/pglite', '@node-rs/argon2', 'pg-native'],
  banner: { js: banner },
  logLevel: 'warning',
});
