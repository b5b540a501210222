/**
 * Method + path → operation, built once at start-up as a segment trie, so the
 * cost of matching a request depends on the depth of its path, not on how many
 * operations the contract has.
 *
 * HEAD and OPTIONS are implied, as in most HTTP frameworks, unless the contract
 * declares them: HEAD on a path with a GET runs that GET operation (the
 * response writer leaves the body out, RFC 9110 §9.3.2), and OPTIONS answers
 * with the path's `Allow` (RFC 9110 §9.3.7).
 */
import type { OperationSpec } from './spec.js';

interface Node {
  readonly literal: Map<string, Node>;
  param: { readonly name: string; readonly node: Node } | undefined;
  readonly methods: Map<string, OperationSpec>;
  /** The methods the path answers, declared and implied, in `Allow` order. */
  allow: readonly string[];
}

export type RouteMatch =
  | { readonly kind: 'operation'; readonly operation: OperationSpec; readonly params: Record<string, string> }
  | { readonly kind: 'method-not-allowed'; readonly allow: readonly string[] }
  /** OPTIONS on a path that does not declare it: answered with `Allow`. */
  | { readonly kind: 'options'; readonly allow: readonly string[] }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'bad-path' };

const newNode = (): Node => ({ literal: new Map(), param: undefined, methods: new Map(), allow: [] });

/** The declared methods, then HEAD when GET is declared, then OPTIONS (unless declared already). */
export function allowedMethods(declared: Iterable<string>): string[] {
  const methods = [...declared].map((method) => method.toUpperCase());
  if (methods.includes('GET') && !methods.includes('HEAD'))
    methods.splice(methods.indexOf('GET') + 1, 0, 'HEAD');
  if (!methods.includes('OPTIONS')) methods.push('OPTIONS');
  return methods;
}

/** Splits a path into segments, ignoring a trailing slash (`/items/` is `/items`, as in the guide). */
function segments(path: string): string[] {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return trimmed === '/' || trimmed === '' ? [] : trimmed.slice(1).split('/');
}

export class RouteIndex {
  private readonly root = newNode();
  private readonly paramNames = new Map<OperationSpec, string[]>();

  constructor(operations: readonly OperationSpec[]) {
    for (const operation of operations) this.add(operation);
  }

  private add(operation: OperationSpec): void {
    this.paramNames.set(
      operation,
      [...operation.path.matchAll(/\{([^{}]+)\}/g)].map((m) => m[1] ?? ''),
    );
    let node = this.root;
    for (const segment of segments(operation.path)) {
      const param = /^\{([^{}]+)\}$/.exec(segment);
      if (param?.[1] !== undefined) {
        if (node.param !== undefined && node.param.name !== param[1]) {
          throw new Error(
            `${operation.path}: path parameter {${param[1]}} clashes with {${node.param.name}}`,
          );
        }
        node.param ??= { name: param[1], node: newNode() };
        node = node.param.node;
      } else if (segment.includes('{')) {
        throw new Error(`${operation.path}: a path parameter must be a whole segment`);
      } else {
        let next = node.literal.get(segment);
        if (next === undefined) {
          next = newNode();
          node.literal.set(segment, next);
        }
        node = next;
      }
    }
    const method = operation.method.toUpperCase();
    if (node.methods.has(method)) throw new Error(`Two operations for ${method} ${operation.path}`);
    node.methods.set(method, operation);
    node.allow = allowedMethods(node.methods.keys());
  }

  /** Literal segments win over parameters; backtracks when a literal branch dead-ends. */
  private find(node: Node, parts: readonly string[], index: number, params: string[]): Node | undefined {
    if (index === parts.length) return node.methods.size > 0 ? node : undefined;
    const part = parts[index] ?? '';
    const literal = node.literal.get(part);
    if (literal !== undefined) {
      const found = this.find(literal, parts, index + 1, params);
      if (found !== undefined) return found;
    }
    if (node.param !== undefined && part !== '') {
      params.push(part);
      const found = this.find(node.param.node, parts, index + 1, params);
      if (found !== undefined) return found;
      params.pop();
    }
    return undefined;
  }

  /**
   * @param method an HTTP method in any case
   * @param pathname the request's path without its query string, still percent-encoded
   */
  match(method: string, pathname: string): RouteMatch {
    let parts = segments(pathname);
    // Only a path with a percent sign has anything to decode (or to reject as malformed).
    if (pathname.includes('%')) {
      try {
        parts = parts.map(decodeURIComponent);
      } catch {
        return { kind: 'bad-path' };
      }
    }
    const values: string[] = [];
    const node = this.find(this.root, parts, 0, values);
    if (node === undefined) return { kind: 'not-found' };
    const upper = method.toUpperCase();
    const operation = node.methods.get(upper) ?? (upper === 'HEAD' ? node.methods.get('GET') : undefined);
    if (operation === undefined)
      return { kind: upper === 'OPTIONS' ? 'options' : 'method-not-allowed', allow: node.allow };
    const params: Record<string, string> = {};
    const names = this.paramNames.get(operation) ?? [];
    for (let i = 0; i < names.length; i += 1) params[names[i] ?? ''] = values[i] ?? '';
    return { kind: 'operation', operation, params };
  }
}
