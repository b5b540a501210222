/**
 * Walks over client data without recursion: the call stack never depends on
 * how deeply a client nested its JSON, and the work is one visit per value.
 */
import { escapePointer } from './spec.js';
import type { ErrorLocation, Violations } from './errors.js';

/**
 * Whether `value` nests deeper than `max` levels. A scalar is depth 0, `[]` and
 * `{}` are depth 1, `{"a": [1]}` is depth 2.
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const stack: unknown[] = [value];
  const depths: number[] = [1];
  while (stack.length > 0) {
    const current = stack.pop();
    const depth = depths.pop() ?? 0;
    if (depth > max) return true;
    const children = Array.isArray(current) ? current : Object.values(current as object);
    for (const child of children) {
      if (typeof child === 'object' && child !== null) {
        stack.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

interface Visit {
  readonly value: unknown;
  readonly key: string | undefined;
  readonly parent: Visit | undefined;
}

function pointerOf(visit: Visit): string {
  const keys: string[] = [];
  for (let at: Visit | undefined = visit; at?.key !== undefined; at = at.parent) keys.push(at.key);
  return keys.reduceRight((path, key) => `${path}/${escapePointer(key)}`, '');
}

/**
 * PostgreSQL text cannot hold U+0000, so a string carrying one would fail in
 * SQL as a 500; each such string is a violation instead. Past the listed
 * ones they are only counted, so no path is built for them.
 */
export function addNulViolations(violations: Violations, location: ErrorLocation, value: unknown): void {
  const stack: Visit[] = [{ value, key: undefined, parent: undefined }];
  while (stack.length > 0) {
    const visit = stack.pop() as Visit;
    const current = visit.value;
    if (typeof current === 'string') {
      if (current.includes('\u0000')) {
        if (violations.room === 0) {
          violations.count(1);
          continue;
        }
        violations.add({
          in: location,
          path: pointerOf(visit),
          message: 'must not contain the NUL character (U+0000)',
          keyword: 'nul',
        });
      }
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) {
        const child: unknown = current[i];
        if (typeof child === 'string' || (typeof child === 'object' && child !== null))
          stack.push({ value: child, key: String(i), parent: visit });
      }
    } else if (typeof current === 'object' && current !== null) {
      const entries = Object.entries(current);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i] as [string, unknown];
        stack.push({ value: child, key, parent: visit });
      }
    }
  }
}
