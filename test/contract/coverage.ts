/**
 * Contract coverage: every (operationId, status, media type) the real app
 * answered during `npm test`, compared at the end of the run with what the
 * contract declares. `test/helpers/app.ts` feeds it the app's request log
 * lines; apps built on another contract or other handlers are not recorded.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { coveringMediaType, loadSpec } from '../../src/contract/spec.js';
import type { Spec } from '../../src/contract/spec.js';

/** A response as `operationId status media-type` (`-` for no body). */
export type ResponseKey = string;

export interface CoverageException {
  readonly operation: string;
  readonly status: number;
  readonly mediaType?: string;
  readonly reason: string;
}

const produced = new Map<ResponseKey, number>();

export const keyOf = (operationId: string, status: number, mediaType: string | undefined): ResponseKey =>
  `${operationId} ${status} ${mediaType ?? '-'}`;

/** Records one request log line of the real app. */
export function recordLogLine(line: Readonly<Record<string, unknown>>): void {
  if (line['msg'] !== 'request' || typeof line['operationId'] !== 'string') return;
  // A request whose client went away got no response: its status is Node's default, not an answer.
  if (line['aborted'] === true) return;
  const status = Number(line['status']);
  const header = typeof line['contentType'] === 'string' ? line['contentType'] : undefined;
  const mediaType = header?.split(';', 1)[0]?.trim().toLowerCase() || undefined;
  const key = keyOf(line['operationId'], status, mediaType);
  produced.set(key, (produced.get(key) ?? 0) + 1);
}

/** Everything the contract declares, one key per status and media type. */
export function declaredResponses(spec: Spec = loadSpec()): ResponseKey[] {
  const keys: ResponseKey[] = [];
  for (const op of spec.operations) {
    for (const [status, response] of op.responses) {
      if (response.content.size === 0) keys.push(keyOf(op.operationId, status, undefined));
      for (const type of response.content.keys()) keys.push(keyOf(op.operationId, status, type));
    }
  }
  return keys;
}

export const EXCEPTIONS_FILE = path.resolve(import.meta.dirname, 'coverage-exceptions.yaml');

export function loadExceptions(file = EXCEPTIONS_FILE): CoverageException[] {
  const list = (parse(readFileSync(file, 'utf8')) ?? []) as CoverageException[];
  for (const entry of list) {
    if (typeof entry.reason !== 'string' || entry.reason.trim().length < 10) {
      throw new Error(`${file}: ${JSON.stringify(entry)} needs a real reason`);
    }
  }
  return list;
}

function excused(key: ResponseKey, exceptions: readonly CoverageException[]): CoverageException | undefined {
  const [operation, status, mediaType] = key.split(' ');
  return exceptions.find(
    (e) =>
      (e.operation === '*' || e.operation === operation) &&
      String(e.status) === status &&
      (e.mediaType === undefined || e.mediaType === mediaType),
  );
}

export interface CoverageResult {
  readonly declared: number;
  readonly covered: number;
  readonly missing: readonly ResponseKey[];
  readonly undeclared: readonly ResponseKey[];
  readonly excused: readonly { key: ResponseKey; reason: string }[];
  /** Exceptions that excuse nothing any more (the response is produced now, or was never declared). */
  readonly stale: readonly CoverageException[];
}

/**
 * Counts a produced concrete media type under the declared range that covers
 * it (a download declared `*\/*` and answered `image/png` is `*\/*`).
 */
function coveredByRanges(
  declared: ReadonlySet<ResponseKey>,
  seen: ReadonlyMap<ResponseKey, number>,
): Map<ResponseKey, number> {
  const mapped = new Map<ResponseKey, number>();
  for (const [key, count] of seen) {
    const [operation = '', status = '', mediaType = '-'] = key.split(' ');
    let target = key;
    if (!declared.has(key) && mediaType !== '-') {
      const types = { has: (type: string) => declared.has(`${operation} ${status} ${type}`) };
      const covering = coveringMediaType(types, mediaType);
      if (covering !== undefined) target = `${operation} ${status} ${covering}`;
    }
    mapped.set(target, (mapped.get(target) ?? 0) + count);
  }
  return mapped;
}

/** Compares what was produced with what is declared. */
export function coverage(
  declared: readonly ResponseKey[],
  seen: ReadonlyMap<ResponseKey, number> = produced,
  exceptions: readonly CoverageException[] = loadExceptions(),
): CoverageResult {
  const declaredSet = new Set(declared);
  seen = coveredByRanges(declaredSet, seen);
  const missing: ResponseKey[] = [];
  const excusedList: { key: ResponseKey; reason: string }[] = [];
  const used = new Set<CoverageException>();
  for (const key of declared) {
    if (seen.has(key)) continue;
    const exception = excused(key, exceptions);
    if (exception === undefined) missing.push(key);
    else {
      used.add(exception);
      excusedList.push({ key, reason: exception.reason });
    }
  }
  return {
    declared: declared.length,
    covered: declared.filter((key) => seen.has(key)).length,
    missing,
    undeclared: [...seen.keys()].filter((key) => !declaredSet.has(key)),
    excused: excusedList,
    stale: exceptions.filter((e) => !used.has(e)),
  };
}

/** What was recorded so far (for the end-of-run check). */
export const recorded = (): ReadonlyMap<ResponseKey, number> => produced;
