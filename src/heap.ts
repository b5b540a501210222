/**
 * One full garbage collection once start-up is over.
 *
 * Compiling the contract's validators leaves a great deal of short-lived
 * garbage, and much of it is plain objects whose first property name is unique
 * (names of generated code, schema ids). V8 records each of those as a map
 * transition on the one shared map that small plain objects start from, and a
 * map holds at most 1,536 transitions. Until a full collection clears the dead
 * ones, that map stays full: every object on the request path that needs a
 * transition not already there (node's own tick and header objects among them)
 * then drops to a slow dictionary object, request after request. A contract of
 * about 200 operations filled it; the request cost stepped up by a tenth and
 * stayed there until the heap grew enough for V8 to collect on its own.
 * Collecting once at the end of start-up (tens of ms) removes that step, and
 * the per-request cost no longer depends on the contract's size
 * (docs/benchmarks.md, contract size).
 *
 * `gc()` is only given to code when V8 runs with `--expose-gc`; the flag is
 * set for the moment it takes to fetch the function from a new context and
 * cleared again, so no other code sees a `gc` global.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Runs one full collection; returns how long it took in ms, or undefined when
 * the runtime gave no `gc()` to call (then nothing was done).
 */
export function collectStartupGarbage(): number | undefined {
  setFlagsFromString('--expose-gc');
  let gc: unknown;
  try {
    gc = runInNewContext('typeof gc === "function" ? gc : undefined');
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  if (typeof gc !== 'function') return undefined;
  const started = performance.now();
  (gc as () => void)();
  return performance.now() - started;
}
