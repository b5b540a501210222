/**
 * Walks over client data without recursion: the call stack never depends on
 * how deeply a client nested its JSON, and the work is one visit per value.
 */
import { escapePointer } from './spec.js';
import type { ErrorLocation, Violations } from './errors.js';

export interface JsonTextShape {
  /** Deepest nesting of arrays and objects (`{}` is 1). */
  readonly depth: number;
  /** Object members and array elements, counted from the separators (an upper bound). */
  readonly values: number;
  /** False when no string can hold U+0000: the text has no `\u0000` escape anywhere. */
  readonly mayHoldNul: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

/**
 * Measures JSON text before it is parsed, in one pass over its bytes, so a
 * body too deep or with too many values is refused before it costs a parse.
 * Stops as soon as `maxDepth` or `maxValues` is passed (the figure returned is
 * then just over the limit). Malformed text is left to the parser.
 */
export function measureJsonText(bytes: Uint8Array, maxDepth: number, maxValues: number): JsonTextShape {
  let depth = 0;
  let deepest = 0;
  let values = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      depth++;
      values++;
      if (depth > deepest) deepest = depth;
      if (deepest > maxDepth || values > maxValues) break;
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      depth--;
    } else if (byte === COMMA) {
      values++;
      if (values > maxValues) break;
    }
  }
  const mayHoldNul = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes('\\u0000');
  return { depth: deepest, values, mayHoldNul };
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
