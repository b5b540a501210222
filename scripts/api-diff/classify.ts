/**
 * Compares two OpenAPI 3.1 documents and classifies every change to what a
 * client sees. api-smart-diff does the structural diff (it resolves $refs and
 * moves path-level parameters into each operation) and its own breaking /
 * non-breaking verdicts; the rules it lacks are applied here:
 *
 * - a removed response property, or a removed enum value anywhere, is breaking
 *   (clients read them; the library only counts required response members);
 * - a changed `const` is breaking (the library calls it non-breaking);
 * - `contentMediaType` / `contentEncoding` changed, or added on input, is
 *   breaking (the library leaves them unclassified);
 * - a bound, pattern or format added or tightened on output is not breaking (a
 *   reader never sees a value outside the old range); loosened or removed, it is;
 * - `type` is compared as a set, so 3.1 type arrays are judged by direction:
 *   on input breaking only when a type is dropped, on output only when one is
 *   added (the library calls every input type change breaking and every
 *   output one non-breaking);
 * - security is judged per operation from the effective requirements
 *   (operation or document level): a public operation that gets a scheme is
 *   breaking, and so is an operation that loses an alternative clients used
 *   (the library calls an added operation-level `security` non-breaking).
 *
 * Only changes under `paths` (and the document's `security`) count; component
 * changes show up there through the $refs that use them.
 */
import { apiCompare } from 'api-smart-diff';

export type ChangeKind = 'added' | 'changed' | 'deprecated' | 'removed';

export interface Change {
  readonly kind: ChangeKind;
  readonly breaking: boolean;
  /** `GET /items/{item_id}`, or `document`. */
  readonly operation: string;
  /** What changed, in words: `response 404`, `property items[].note in response 200 (application/json)`. */
  readonly subject: string;
  /** For changed values: before → after. */
  readonly detail?: string;
}

export interface Comparison {
  readonly changes: readonly Change[];
  readonly versionBefore: string;
  readonly versionAfter: string;
  /** True when info.version's major number differs: breaking changes are allowed. */
  readonly majorChanged: boolean;
  readonly breaking: readonly Change[];
}

type Json = Record<string, unknown>;
type PathToken = string | number;

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const show = (value: unknown): string => (value === undefined ? '(none)' : JSON.stringify(value));

function major(version: string): string {
  return /^v?(\d+)/.exec(version.trim())?.[1] ?? version;
}

/** Follows local `$ref`s (`#/components/...`) until a value that is not one. */
function deref(document: Json, value: unknown, depth = 0): unknown {
  if (!isObject(value) || typeof value['$ref'] !== 'string' || depth > 20) return value;
  const pointer = value['$ref'];
  if (!pointer.startsWith('#/')) return value;
  let node: unknown = document;
  for (const raw of pointer.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = isObject(node) ? node[key] : undefined;
  }
  return deref(document, node, depth + 1);
}

const parameterName = (parameter: unknown): string =>
  isObject(parameter) ? `${String(parameter['in'])} parameter ${String(parameter['name'])}` : 'parameter';

/** Where in an operation a diff is, and the schema path below that place. */
interface Place {
  readonly side: 'input' | 'output' | 'operation';
  /** `request body (application/json)`, `query parameter limit`, `response 200 (application/json)` … */
  readonly label: string;
  /** Tokens below `schema` (or below the parameter/response), if any. */
  readonly rest: readonly PathToken[];
  readonly inSchema: boolean;
}

function locate(rest: readonly PathToken[], operation: Json | undefined, document: Json): Place {
  const [first, second, third, fourth, ...below] = rest;
  if (first === 'parameters' && typeof second === 'number') {
    const parameters = Array.isArray(operation?.['parameters']) ? (operation['parameters'] as unknown[]) : [];
    const name = parameterName(deref(document, parameters[second]));
    const tail = rest.slice(2);
    return {
      side: 'input',
      label: name,
      rest: tail[0] === 'schema' ? tail.slice(1) : tail,
      inSchema: tail[0] === 'schema',
    };
  }
  if (first === 'requestBody') {
    if (second === 'content' && third !== undefined) {
      const tail = fourth === 'schema' ? below : [];
      return {
        side: 'input',
        label: `request body (${String(third)})`,
        rest: tail,
        inSchema: fourth === 'schema',
      };
    }
    return { side: 'input', label: 'request body', rest: rest.slice(1), inSchema: false };
  }
  if (first === 'responses' && second !== undefined) {
    if (third === 'content' && fourth !== undefined) {
      const [schema, ...inner] = below;
      return {
        side: 'output',
        label: `response ${String(second)} (${String(fourth)})`,
        rest: schema === 'schema' ? inner : below,
        inSchema: schema === 'schema',
      };
    }
    if (third === 'headers' && fourth !== undefined) {
      return {
        side: 'output',
        label: `response ${String(second)} header ${String(fourth)}`,
        rest: below,
        inSchema: false,
      };
    }
    return { side: 'output', label: `response ${String(second)}`, rest: rest.slice(2), inSchema: false };
  }
  return { side: 'operation', label: 'operation', rest, inSchema: false };
}

/** `items[].kind` from `properties items items properties kind`; the keyword after it, if any. */
function schemaPath(rest: readonly PathToken[]): { property: string; keyword: readonly PathToken[] } {
  let property = '';
  let i = 0;
  while (i < rest.length) {
    const token = rest[i];
    const next = rest[i + 1];
    if (token === 'properties' && next !== undefined) {
      property += property === '' ? String(next) : `.${String(next)}`;
      i += 2;
    } else if (token === 'items' || token === 'prefixItems') {
      property += '[]';
      i += token === 'prefixItems' ? 2 : 1;
    } else if (token === 'additionalProperties') {
      property += '{}';
      i += 1;
    } else if ((token === 'allOf' || token === 'oneOf' || token === 'anyOf') && typeof next === 'number') {
      i += 2;
    } else {
      break;
    }
  }
  return { property, keyword: rest.slice(i) };
}

/** Range keywords, and whether a larger value loosens (`max`) or tightens (`min`) the range. */
const BOUNDS: Readonly<Record<string, 'max' | 'min'>> = {
  maxLength: 'max',
  maxItems: 'max',
  maxProperties: 'max',
  maximum: 'max',
  exclusiveMaximum: 'max',
  minLength: 'min',
  minItems: 'min',
  minProperties: 'min',
  minimum: 'min',
  exclusiveMinimum: 'min',
};

/** Whether a change to a bound, pattern or format of a response value only narrows what the server sends. */
function narrowsOutput(word: string, diff: RawDiff): boolean {
  if (diff.action === 'add') return true;
  if (diff.action !== 'replace') return false;
  const side = BOUNDS[word];
  if (side === undefined || typeof diff.before !== 'number' || typeof diff.after !== 'number') return false;
  return side === 'max' ? diff.after < diff.before : diff.after > diff.before;
}

const typeSet = (value: unknown): Set<string> =>
  new Set((Array.isArray(value) ? value : value === undefined ? [] : [value]).map((type) => show(type)));

const subsetOf = (a: Set<string>, b: Set<string>): boolean => [...a].every((x) => b.has(x));

interface RawDiff {
  readonly action: 'add' | 'remove' | 'replace' | 'rename';
  readonly path: PathToken[];
  readonly before?: unknown;
  readonly after?: unknown;
  readonly type: 'breaking' | 'non-breaking' | 'annotation' | 'unclassified' | 'deprecated';
}

const KIND: Readonly<Record<RawDiff['action'], ChangeKind>> = {
  add: 'added',
  remove: 'removed',
  replace: 'changed',
  rename: 'changed',
};

/** One classified change from one library diff under `paths`; undefined for what clients never see. */
function classify(
  diff: RawDiff,
  operationName: string,
  operation: Json | undefined,
  rest: PathToken[],
  documents: { readonly before: Json; readonly after: Json },
): Change[] {
  const document = diff.action === 'remove' ? documents.before : documents.after;
  const value = diff.action === 'remove' ? diff.before : diff.after;
  // A whole parameter list, or one whole parameter: name each by its resolved definition.
  if (rest[0] === 'parameters' && (rest.length === 1 || (rest.length === 2 && diff.action !== 'replace'))) {
    const list = rest.length === 1 && Array.isArray(value) ? (value as unknown[]) : [value];
    return list.map((parameter) => {
      const resolved = deref(document, parameter);
      const required = isObject(resolved) && resolved['required'] === true;
      return {
        kind: KIND[diff.action],
        // A new parameter breaks clients only when it is required; the library's verdict otherwise.
        breaking: diff.action === 'add' ? required : diff.type === 'breaking',
        operation: operationName,
        subject: `${required ? 'required ' : ''}${parameterName(resolved)}`,
      };
    });
  }
  const one = classifyOne(diff, operationName, operation, rest, document);
  return one === undefined ? [] : [one];
}

function classifyOne(
  diff: RawDiff,
  operationName: string,
  operation: Json | undefined,
  rest: PathToken[],
  document: Json,
): Change | undefined {
  let breaking = diff.type === 'breaking';
  let kind = KIND[diff.action];
  if (rest.length === 0) return { kind, breaking, operation: operationName, subject: 'operation' };
  if (rest[rest.length - 1] === 'deprecated' && diff.after === true) {
    const place = locate(rest.slice(0, -1), operation, document);
    const { property } = schemaPath(place.rest);
    const subject =
      place.side === 'operation'
        ? 'operation'
        : property === ''
          ? place.label
          : `property ${property} in ${place.label}`;
    return { kind: 'deprecated', breaking: false, operation: operationName, subject };
  }
  if (diff.type === 'annotation') return undefined;
  const place = locate(rest, operation, document);
  if (place.side === 'operation') {
    return {
      kind,
      breaking,
      operation: operationName,
      subject: rest.join('.'),
      detail: `${show(diff.before)} → ${show(diff.after)}`,
    };
  }
  if (!place.inSchema) {
    // A whole parameter, response, media type or header.
    if (place.rest.length === 0) return { kind, breaking, operation: operationName, subject: place.label };
    const keyword = place.rest.join('.');
    return {
      kind: 'changed',
      breaking,
      operation: operationName,
      subject: `${keyword} of ${place.label}`,
      detail: `${show(diff.before)} → ${show(diff.after)}`,
    };
  }
  const { property, keyword } = schemaPath(place.rest);
  const where = property === '' ? place.label : `property ${property} in ${place.label}`;
  const [word, index] = keyword;
  if (word === undefined) {
    // A whole property (or the whole schema).
    if (diff.action === 'remove' && place.side === 'output') breaking = true;
    return { kind, breaking, operation: operationName, subject: where };
  }
  if (word === 'enum' && index !== undefined) {
    if (diff.action === 'remove') breaking = true;
    const value = diff.action === 'remove' ? diff.before : diff.after;
    return { kind, breaking, operation: operationName, subject: `enum value ${show(value)} of ${where}` };
  }
  if (word === 'required' && index !== undefined) {
    const name = String(diff.action === 'remove' ? diff.before : diff.after);
    return {
      kind: 'changed',
      breaking,
      operation: operationName,
      subject: `property ${property === '' ? name : `${property}.${name}`} in ${place.label}`,
      detail: diff.action === 'add' ? 'now required' : 'now optional',
    };
  }
  if (word === 'const') breaking = true;
  if (word === 'contentMediaType' || word === 'contentEncoding') {
    breaking =
      diff.action === 'replace' ||
      (diff.action === 'add' && place.side === 'input') ||
      diff.action === 'remove';
  }
  if (
    place.side === 'output' &&
    typeof word === 'string' &&
    (word in BOUNDS || word === 'pattern' || word === 'format')
  ) {
    // A server that promises a tighter range never breaks a reader; a looser one may.
    breaking = !narrowsOutput(word, diff);
  }
  if (word === 'type') {
    const before = typeSet(diff.before);
    const after = typeSet(diff.after);
    breaking = place.side === 'input' ? !subsetOf(before, after) : !subsetOf(after, before);
    kind = 'changed';
  }
  return {
    kind: 'changed',
    breaking,
    operation: operationName,
    subject: `${keyword.join('.')} of ${where}`,
    detail: `${show(diff.before)} → ${show(diff.after)}`,
  };
}

type Requirement = Readonly<Record<string, unknown>>;

/** The security requirements in force for an operation: its own, or the document's. */
function effectiveSecurity(document: Json, operation: Json): Requirement[] {
  const own = operation['security'] ?? document['security'] ?? [];
  return Array.isArray(own) ? own.filter(isObject) : [];
}

const isPublic = (requirements: readonly Requirement[]): boolean =>
  requirements.length === 0 || requirements.some((r) => Object.keys(r).length === 0);

const requirementKey = (r: Requirement): string => Object.keys(r).sort().join('+');

function securityChanges(before: Json, after: Json): Change[] {
  const changes: Change[] = [];
  const pathsBefore = isObject(before['paths']) ? before['paths'] : {};
  const pathsAfter = isObject(after['paths']) ? after['paths'] : {};
  for (const [route, itemBefore] of Object.entries(pathsBefore)) {
    const itemAfter = pathsAfter[route];
    if (!isObject(itemBefore) || !isObject(itemAfter)) continue;
    for (const method of METHODS) {
      const opBefore = itemBefore[method];
      const opAfter = itemAfter[method];
      if (!isObject(opBefore) || !isObject(opAfter)) continue;
      const was = effectiveSecurity(before, opBefore);
      const now = effectiveSecurity(after, opAfter);
      const wasKeys = new Set(was.map(requirementKey));
      const nowKeys = new Set(now.map(requirementKey));
      if (wasKeys.size === nowKeys.size && subsetOf(wasKeys, nowKeys)) continue;
      const operation = `${method.toUpperCase()} ${route}`;
      const detail = `${show([...wasKeys])} → ${show([...nowKeys])}`;
      if (isPublic(was) && !isPublic(now)) {
        changes.push({
          kind: 'changed',
          breaking: true,
          operation,
          subject: 'security: a public operation now needs credentials',
          detail,
        });
      } else {
        // Breaking when a way of calling it that clients used is gone.
        const lost = !isPublic(now) && [...wasKeys].some((key) => !nowKeys.has(key));
        changes.push({ kind: 'changed', breaking: lost, operation, subject: 'security', detail });
      }
    }
  }
  return changes;
}

/**
 * Compares `before` with `after` (parsed OpenAPI documents).
 * @example const { breaking, majorChanged } = compareContracts(parse(old), parse(now));
 */
export function compareContracts(before: Json, after: Json): Comparison {
  // The library rewrites its inputs (path-level parameters move into operations): give it copies.
  const { diffs, merged } = apiCompare(structuredClone(before), structuredClone(after)) as unknown as {
    diffs: RawDiff[];
    merged: Json;
  };
  const mergedPaths = isObject(merged['paths']) ? merged['paths'] : {};
  const changes: Change[] = [];
  for (const diff of diffs) {
    const [root, route, method, ...rest] = diff.path;
    if (root !== 'paths') continue;
    if (route === undefined) continue;
    if (method === undefined) {
      changes.push({
        kind: KIND[diff.action],
        breaking: diff.type === 'breaking',
        operation: String(route),
        subject: 'path',
      });
      continue;
    }
    if (!METHODS.has(String(method))) continue; // path-level fields reach the operations through the library
    if (rest[0] === 'security') continue; // judged from the documents below
    const item = mergedPaths[String(route)];
    const operation =
      isObject(item) && isObject(item[String(method)]) ? (item[String(method)] as Json) : undefined;
    const name = `${String(method).toUpperCase()} ${String(route)}`;
    changes.push(...classify(diff, name, operation, rest, { before, after }));
  }
  changes.push(...securityChanges(before, after));
  const info = (doc: Json): string => {
    const version = isObject(doc['info']) ? doc['info']['version'] : undefined;
    return typeof version === 'string' || typeof version === 'number' ? String(version) : '';
  };
  const versionBefore = info(before);
  const versionAfter = info(after);
  return {
    changes,
    versionBefore,
    versionAfter,
    majorChanged: major(versionBefore) !== major(versionAfter),
    breaking: changes.filter((change) => change.breaking),
  };
}

const HEADINGS: readonly [ChangeKind, string][] = [
  ['added', 'Added'],
  ['changed', 'Changed'],
  ['deprecated', 'Deprecated'],
  ['removed', 'Removed'],
];

/** The changes as a Markdown changelog section, breaking ones marked. */
export function changelog(comparison: Comparison, title: string): string {
  const lines = [`## ${title}`, ''];
  if (comparison.changes.length === 0) lines.push('No changes a client can see.', '');
  for (const [kind, heading] of HEADINGS) {
    const entries = comparison.changes.filter((change) => change.kind === kind);
    if (entries.length === 0) continue;
    lines.push(`### ${heading}`, '');
    const seen = new Set<string>();
    for (const change of entries) {
      const line = `- ${change.breaking ? '**breaking** ' : ''}\`${change.operation}\`: ${change.subject}${change.detail === undefined ? '' : ` (${change.detail})`}`;
      if (seen.has(line)) continue;
      seen.add(line);
      lines.push(line);
    }
    lines.push('');
  }
  return lines.join('\n');
}
