/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): the functions with the
 * most self time, the most inclusive (self + callees) time, and self time by
 * where the code lives (a package, node internals, our src/).
 *
 * Only samples inside an optional window count, so a profile of a whole
 * server's life can be cut to the measured run (no start-up, no warm-up).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

export interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

export interface Profile {
  readonly nodes: readonly ProfileNode[];
  /** Microseconds on the monotonic clock (the one process.hrtime reads). */
  readonly startTime: number;
  readonly endTime: number;
  /** The node sampled at each tick, and the microseconds since the previous sample. */
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface Row {
  readonly name: string;
  readonly percent: number;
}

export interface ProfileSummary {
  readonly samples: number;
  readonly sampledMs: number;
  readonly self: readonly Row[];
  readonly inclusive: readonly Row[];
  readonly byLocation: readonly Row[];
}

export interface Window {
  readonly fromUs: number;
  readonly toUs: number;
}

function shortUrl(url: string, root: string): string {
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  return file.startsWith(root) ? path.relative(root, file) : file;
}

/** node_modules/<package>, src/<dir>, node internals, or V8's pseudo-frames such as (garbage collector). */
function location(frame: CallFrame, root: string): string {
  const url = shortUrl(frame.url, root);
  if (url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1] !== undefined) return pkg[1];
  if (url.startsWith('node:')) return 'node: internals';
  const ours = /^(src\/[^/]+)/.exec(url);
  return ours?.[1] ?? url;
}

/**
 * Function name and position. Positions are in the code V8 ran: for files
 * transpiled by tsx that is esbuild's output, so the column tells apart
 * anonymous functions that share a line.
 */
function key(frame: CallFrame, root: string): string {
  const url = shortUrl(frame.url, root);
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  return url === '' ? name : `${name}  ${url}:${frame.lineNumber + 1}:${frame.columnNumber + 1}`;
}

function top(totals: Map<string, number>, all: number, count: number): Row[] {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, hits]) => ({ name, percent: (100 * hits) / all }));
}

export function summariseProfile(file: string, root: string, window?: Window, count = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));

  // Hits per node, counting only the samples inside the window.
  const hits = new Map<number, number>();
  let at = profile.startTime;
  let counted = 0;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (window !== undefined && (at < window.fromUs || at > window.toUs)) return;
    hits.set(id, (hits.get(id) ?? 0) + 1);
    counted += 1;
  });
  const all = counted || 1;

  const self = new Map<string, number>();
  const where = new Map<string, number>();
  for (const [id, n] of hits) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    const k = key(frame, root);
    self.set(k, (self.get(k) ?? 0) + n);
    const loc = location(frame, root);
    where.set(loc, (where.get(loc) ?? 0) + n);
  }

  // Inclusive: a node's hits plus its descendants'. A function that appears
  // again below itself (recursion) is counted once, at its outermost frame.
  const inclusive = new Map<string, number>();
  const active = new Map<string, number>();
  const subtree = (id: number): number => {
    const node = byId.get(id);
    if (node === undefined) return 0;
    const k = key(node.callFrame, root);
    active.set(k, (active.get(k) ?? 0) + 1);
    let total = hits.get(id) ?? 0;
    for (const child of node.children ?? []) total += subtree(child);
    const depth = active.get(k) ?? 1;
    if (depth === 1) {
      inclusive.set(k, (inclusive.get(k) ?? 0) + total);
      active.delete(k);
    } else {
      active.set(k, depth - 1);
    }
    return total;
  };
  const rootNode = profile.nodes[0];
  if (rootNode !== undefined) subtree(rootNode.id);
  // The root and the idle/program pseudo-frames say nothing about the code.
  for (const pseudo of ['(root)', '(program)', '(idle)']) inclusive.delete(pseudo);

  const from = window === undefined ? profile.startTime : Math.max(window.fromUs, profile.startTime);
  const to = window === undefined ? profile.endTime : Math.min(window.toUs, profile.endTime);
  return {
    samples: counted,
    sampledMs: (to - from) / 1000,
    self: top(self, all, count),
    inclusive: top(inclusive, all, count),
    byLocation: top(where, all, count),
  };
}
