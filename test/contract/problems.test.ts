/**
 * The problem-type catalogue: the contract (components.schemas.ProblemType and
 * the per-type schemas), the server's table (src/contract/problems.ts) and
 * docs/errors.md list the same types with the same titles and statuses; every
 * error response of the contract names catalogued types only; each operation
 * declares the statuses its pipeline can answer with; and every type URI
 * resolves to its documentation on a running server.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { PROBLEM_TYPES } from '../../src/contract/problems.js';
import type { ProblemSlug } from '../../src/contract/problems.js';
import { loadSpec } from '../../src/contract/spec.js';
import { startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';

const root = path.resolve(import.meta.dirname, '../..');
const spec = loadSpec();
type SchemaObject = Record<string, unknown>;
const schemas = (spec.document.components?.['schemas'] ?? {}) as Record<string, SchemaObject>;
const responses = (spec.document.components?.['responses'] ?? {}) as Record<string, SchemaObject>;

interface Entry {
  readonly status: number;
  readonly title: string;
}

/** The catalogue as the contract declares it. */
function contractCatalogue(): Map<string, Entry> {
  const entries = (schemas['ProblemType']?.['oneOf'] ?? []) as SchemaObject[];
  return new Map(
    entries.map((entry) => [
      String(entry['const']),
      { status: entry['x-status'] as number, title: entry['title'] as string },
    ]),
  );
}

/** The catalogue as the server sends it. */
function serverCatalogue(): Map<string, Entry> {
  return new Map(
    Object.entries(PROBLEM_TYPES).map(([slug, entry]) => [
      `/problems/${slug}`,
      { status: entry.status, title: entry.title },
    ]),
  );
}

/** The catalogue table of docs/errors.md: `| [`/problems/x`](#x) | 409 | Title |`. */
function docsCatalogue(): Map<string, Entry> {
  const text = readFileSync(path.join(root, 'docs/errors.md'), 'utf8');
  const rows = [
    ...text.matchAll(/^\| \[`(\/problems\/[a-z-]+)`\]\(#([a-z-]+)\) *\| (\d{3}) *\| (.+?) *\|$/gm),
  ];
  for (const row of rows) expect(row[1], 'each row links its own section').to.equal(`/problems/${row[2]}`);
  const sections = new Set([...text.matchAll(/^### ([a-z-]+)$/gm)].map((m) => `/problems/${m[1]}`));
  const table = new Map(rows.map((row) => [row[1] ?? '', { status: Number(row[3]), title: row[4] ?? '' }]));
  expect([...sections].sort(), 'one section per row of the table').to.deep.equal([...table.keys()].sort());
  return table;
}

/** The value at a JSON Pointer into the contract. */
function resolve(pointer: string): SchemaObject {
  let node: unknown = spec.document;
  for (const token of pointer.split('/').slice(1))
    node = (node as Record<string, unknown>)[token.replace(/~1/g, '/').replace(/~0/g, '~')];
  return node as SchemaObject;
}

/** The type URIs a schema allows, following $refs, oneOf and allOf; undefined for a free-form `type`. */
function typesOf(schema: SchemaObject | undefined, seen = new Set<string>()): Set<string> | undefined {
  if (schema === undefined) return new Set();
  const ref = schema['$ref'];
  if (typeof ref === 'string') {
    const name = ref.split('/').pop() ?? '';
    if (seen.has(name)) return new Set();
    return typesOf(schemas[name], new Set([...seen, name]));
  }
  const own = (schema['properties'] as Record<string, SchemaObject> | undefined)?.['type']?.['const'];
  if (typeof own === 'string') return new Set([own]);
  const options = schema['oneOf'] as SchemaObject[] | undefined;
  if (options !== undefined) {
    const found = new Set<string>();
    for (const option of options) {
      const types = typesOf(option, seen);
      if (types === undefined) return undefined;
      for (const type of types) found.add(type);
    }
    return found;
  }
  return undefined;
}

describe('problem-type catalogue', () => {
  it('lists the same types, titles and statuses in the contract, the server and docs/errors.md', () => {
    const contract = contractCatalogue();
    expect(contract.size).to.be.greaterThan(20);
    expect([...serverCatalogue()].sort()).to.deep.equal([...contract].sort());
    expect([...docsCatalogue()].sort()).to.deep.equal([...contract].sort());
  });

  it('fixes the title and status in every per-type schema as the catalogue does', () => {
    const contract = contractCatalogue();
    let count = 0;
    for (const [name, schema] of Object.entries(schemas)) {
      const properties = schema['properties'] as Record<string, SchemaObject> | undefined;
      const type = properties?.['type']?.['const'];
      if (typeof type !== 'string' || !type.startsWith('/problems/')) continue;
      count += 1;
      expect(contract.get(type), name).to.deep.equal({
        status: properties?.['status']?.['const'],
        title: properties?.['title']?.['const'],
      });
    }
    expect(count).to.be.greaterThan(15);
  });

  it('gives every problem response of every operation catalogued types that fit its status', () => {
    const contract = contractCatalogue();
    for (const operation of spec.operations) {
      for (const [status, response] of operation.responses) {
        const pointer = response.content.get('application/problem+json')?.schemaPointer;
        if (pointer === undefined) continue;
        const schema = resolve(pointer);
        const types = typesOf(schema);
        const where = `${operation.operationId} ${status}`;
        expect(types, `${where} names its problem types`).to.not.equal(undefined);
        expect(types?.size, where).to.be.greaterThan(0);
        for (const type of types ?? [])
          expect(contract.get(type)?.status, `${where}: ${type}`).to.equal(status);
      }
    }
    for (const [name, response] of Object.entries(responses)) {
      const content = response['content'] as Record<string, SchemaObject> | undefined;
      const schema = content?.['application/problem+json']?.['schema'] as SchemaObject | undefined;
      if (schema !== undefined) expect(typesOf(schema), name).to.not.equal(undefined);
    }
  });

  it('declares, on every operation, the statuses its pipeline can answer with', () => {
    const openDuringStartup = new Set(['getHealth', 'getReadiness']);
    // x-roles that list every role an account can have refuse nobody.
    const everyRole = (schemas['UserRole']?.['enum'] ?? []) as string[];
    expect(everyRole).to.include('admin');
    const missing: string[] = [];
    for (const operation of spec.operations) {
      const expected = new Set<number>([500]);
      if (!openDuringStartup.has(operation.operationId)) expected.add(503);
      if (operation.security.length > 0) expected.add(401);
      const roles = operation.roles;
      if (roles !== undefined && !everyRole.every((r) => roles.includes(r))) expected.add(403);
      if (operation.rateLimit !== undefined) expected.add(429);
      if (operation.parameters.length > 0 || operation.requestBody !== undefined) expected.add(422);
      if (operation.requestBody !== undefined) for (const status of [400, 413, 415]) expected.add(status);
      for (const status of expected)
        if (!operation.responses.has(status)) missing.push(`${operation.operationId} ${status}`);
    }
    expect(missing).to.deep.equal([]);
  });

  describe('on a running server', function () {
    this.timeout(120_000);
    let t: TestApp;
    before(async () => {
      t = await startApp();
    });
    after(async () => {
      await t.close();
    });

    it('resolves every type URI to its entry, and /problems to the whole catalogue', async () => {
      const all = await t.fetch('/problems');
      expect(all.status).to.equal(200);
      const page = await all.text();
      for (const [slug, entry] of Object.entries(PROBLEM_TYPES)) {
        expect(page).to.include(`id="${slug}"`);
        const res = await t.fetch(`/problems/${slug}`);
        expect(res.status, slug).to.equal(200);
        expect(res.headers.get('content-type')).to.match(/^text\/html/);
        const text = await res.text();
        expect(text).to.include(`/problems/${slug}`).and.include(entry.title);
      }
      const unknown = await t.fetch('/problems/no-such-type');
      expect(unknown.status).to.equal(404);
      expect(await unknown.json()).to.include({
        type: '/problems/route-not-found' satisfies `/problems/${ProblemSlug}`,
      });
    });
  });
});
