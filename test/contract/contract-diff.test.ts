import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parse, stringify } from 'yaml';
import { changelog, compareContracts } from '../../scripts/api-diff/classify.js';
import type { Change } from '../../scripts/api-diff/classify.js';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access,
   @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return
   -- each test edits the fixture contract as the untyped YAML document it is. */
type Doc = Record<string, any>;

const FIXTURE = 'test/fixtures/contract-diff/base.yaml';
const run = promisify(execFile);

describe('contract:diff, the breaking-change gate', () => {
  let base: Doc;
  before(async () => {
    base = parse(await readFile(FIXTURE, 'utf8')) as Doc;
  });

  const changed = (change: (doc: Doc) => void): Doc => {
    const doc = structuredClone(base);
    change(doc);
    return doc;
  };
  const schemas = (doc: Doc): Doc => doc['components']['schemas'] as Doc;
  const describeChange = (c: Change): string => `${c.kind} ${c.operation}: ${c.subject}`;

  const breaks: [string, (doc: Doc) => void, RegExp][] = [
    [
      'a removed operation',
      (d) => delete d['paths']['/things/{thing_id}'].get,
      /removed GET \/things\/\{thing_id\}: operation/,
    ],
    [
      'a removed response',
      (d) => delete d['paths']['/things/{thing_id}'].get.responses['404'],
      /removed GET \/things\/\{thing_id\}: response 404/,
    ],
    [
      'a removed response property',
      (d) => delete schemas(d)['Thing'].properties.note,
      /removed GET \/things\/\{thing_id\}: property note in response 200/,
    ],
    [
      'a removed enum value',
      (d) => (schemas(d)['Kind'].enum = ['small']),
      /removed .*enum value "large" of property kind in response 200/,
    ],
    [
      'a new required query parameter',
      (d) =>
        d['paths']['/things'].get.parameters.push({
          name: 'q',
          in: 'query',
          required: true,
          schema: { type: 'string' },
        }),
      /added GET \/things: required query parameter q/,
    ],
    [
      'an optional parameter made required',
      (d) => (d['components']['parameters'].Limit.required = true),
      /changed GET \/things: required of query parameter limit/,
    ],
    [
      'a new required body property',
      (d) => {
        schemas(d)['ThingCreate'].properties.size = { type: 'integer' };
        schemas(d)['ThingCreate'].required.push('size');
      },
      /changed POST \/things: property size in request body \(application\/json\)/,
    ],
    [
      'a type array narrowed on input',
      (d) => (schemas(d)['ThingCreate'].properties.note.type = 'string'),
      /changed POST \/things: type of property note in request body/,
    ],
    [
      'a format added on input',
      (d) => (schemas(d)['ThingCreate'].properties.contact.format = 'email'),
      /changed POST \/things: format of property contact in request body/,
    ],
    [
      'a lower maximum on a parameter',
      (d) => (d['components']['parameters'].Limit.schema.maximum = 50),
      /changed GET \/things: maximum of query parameter limit/,
    ],
    [
      'a lower maximum on a path parameter',
      (d) => (d['paths']['/things/{thing_id}'].parameters[0].schema.maximum = 5),
      /GET \/things\/\{thing_id\}: maximum of path parameter thing_id/,
    ],
    [
      'a shorter maxLength on input',
      (d) => (schemas(d)['ThingCreate'].properties.name.maxLength = 20),
      /changed POST \/things: maxLength of property name/,
    ],
    [
      'a narrower pattern on input',
      (d) => (schemas(d)['ThingCreate'].properties.code.pattern = '^[a-z]{2,}$'),
      /changed POST \/things: pattern of property code/,
    ],
    [
      'a changed status code',
      (d) => {
        const r = d['paths']['/things'].post.responses;
        r['200'] = r['201'];
        delete r['201'];
      },
      /removed POST \/things: response 201/,
    ],
    [
      'a changed response media type',
      (d) => {
        const c = d['paths']['/things/{thing_id}'].get.responses['200'].content;
        c['application/xml'] = c['application/json'];
        delete c['application/json'];
      },
      /removed GET \/things\/\{thing_id\}: response 200 \(application\/json\)/,
    ],
    [
      'a changed request media type',
      (d) => {
        const c = d['paths']['/things'].post.requestBody.content;
        c['text/plain'] = c['application/json'];
        delete c['application/json'];
      },
      /removed POST \/things: request body \(application\/json\)/,
    ],
    [
      'a changed const',
      (d) => (schemas(d)['Thing'].properties.state.const = 'live'),
      /changed GET \/things\/\{thing_id\}: const of property state in response 200/,
    ],
    [
      'a changed contentMediaType',
      (d) => (schemas(d)['Thing'].properties.picture.contentMediaType = 'image/jpeg'),
      /changed GET \/things\/\{thing_id\}: contentMediaType of property picture/,
    ],
    [
      'a type widened on output',
      (d) => (schemas(d)['Thing'].properties.name.type = ['string', 'null']),
      /changed GET \/things\/\{thing_id\}: type of property name in response 200/,
    ],
    [
      'a security scheme on a public operation',
      (d) => (d['paths']['/things'].get.security = [{ Bearer: [] }]),
      /changed GET \/things: security: a public operation now needs credentials/,
    ],
    [
      'a document-wide security scheme',
      (d) => (d['security'] = [{ Bearer: [] }]),
      /changed GET \/things\/\{thing_id\}: security: a public operation now needs credentials/,
    ],
  ];
  for (const [what, change, expected] of breaks) {
    it(`fails on ${what}`, () => {
      const result = compareContracts(base, changed(change));
      const breaking = result.breaking.map(describeChange);
      expect(
        breaking.some((line) => expected.test(line)),
        breaking.join('\n'),
      ).to.equal(true);
      expect(result.majorChanged).to.equal(false);
    });
  }

  const additive: [string, (doc: Doc) => void][] = [
    [
      'a new operation',
      (d) =>
        (d['paths']['/things/{thing_id}'].delete = {
          operationId: 'deleteThing',
          responses: { '204': { description: 'Gone.' } },
        }),
    ],
    [
      'a new optional parameter',
      (d) =>
        d['paths']['/things'].get.parameters.push({ name: 'q', in: 'query', schema: { type: 'string' } }),
    ],
    [
      'a new optional body property',
      (d) => (schemas(d)['ThingCreate'].properties.size = { type: 'integer' }),
    ],
    ['a new response property', (d) => (schemas(d)['Thing'].properties.size = { type: 'integer' })],
    [
      'a new response',
      (d) => (d['paths']['/things/{thing_id}'].get.responses['410'] = { description: 'Gone.' }),
    ],
    ['a higher maximum on input', (d) => (d['components']['parameters'].Limit.schema.maximum = 500)],
    [
      'a type array widened on input',
      (d) => (schemas(d)['ThingCreate'].properties.contact.type = ['string', 'null']),
    ],
    [
      'a new response header',
      (d) =>
        (d['paths']['/things/{thing_id}'].get.responses['200'].headers = {
          ETag: { schema: { type: 'string' } },
        }),
    ],
    ['a new bound on output', (d) => (schemas(d)['Thing'].properties.name.maxLength = 100)],
    [
      'tighter bounds on output',
      (d) => {
        schemas(d)['Thing'].properties.id.minimum = 1;
        schemas(d)['Thing'].properties.id.maximum = 1000;
      },
    ],
    [
      'a deprecated operation and property',
      (d) => {
        d['paths']['/things'].get.deprecated = true;
        schemas(d)['ThingCreate'].properties.note.deprecated = true;
      },
    ],
  ];
  for (const [what, change] of additive) {
    it(`passes ${what}`, () => {
      const result = compareContracts(base, changed(change));
      expect(result.breaking.map(describeChange)).to.deep.equal([]);
      expect(result.changes).to.not.be.empty;
    });
  }

  it('passes a bound added to a response-only schema of the real contract', async () => {
    const real = parse(await readFile('openapi.yaml', 'utf8')) as Doc;
    const next = structuredClone(real);
    next['components']['schemas'].ProblemFields.properties.request_id.maxLength = 100;
    const result = compareContracts(real, next);
    expect(result.changes).to.not.be.empty;
    expect(result.breaking.map(describeChange)).to.deep.equal([]);
  });

  it('leaves out what clients never see: descriptions and examples', () => {
    const result = compareContracts(
      base,
      changed((d) => {
        schemas(d)['Thing'].description = 'A thing.';
        schemas(d)['Thing'].properties.name.examples = ['Ada'];
      }),
    );
    expect(result.changes).to.deep.equal([]);
    expect(changelog(result, 'test')).to.include('No changes a client can see.');
  });

  it('lists deprecations under Deprecated, and additions under Added', () => {
    const result = compareContracts(
      base,
      changed((d) => {
        d['paths']['/things'].get.deprecated = true;
        schemas(d)['Thing'].properties.size = { type: 'integer' };
      }),
    );
    const text = changelog(result, 'test');
    expect(text).to.include('### Deprecated\n\n- `GET /things`: operation');
    expect(text).to.match(/### Added\n\n- `GET \/things`: property items\[\]\.size in response 200/);
  });

  it('allows breaking changes when the major number of info.version changes', () => {
    const result = compareContracts(
      base,
      changed((d) => {
        delete d['paths']['/things/{thing_id}'].get;
        d['info'].version = '2.0.0';
      }),
    );
    expect(result.breaking).to.have.length.greaterThan(0);
    expect(result).to.include({ majorChanged: true, versionBefore: '1.2.0', versionAfter: '2.0.0' });
  });

  describe('npm run contract:diff (the command)', function () {
    this.timeout(60_000);
    let dir: string;
    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'contract-diff-'));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    const cli = async (after: Doc): Promise<{ code: number; out: string }> => {
      const file = path.join(dir, 'after.yaml');
      await writeFile(file, stringify(after));
      try {
        const { stdout } = await run('npx', [
          'tsx',
          'scripts/api-diff/cli.ts',
          '--before',
          FIXTURE,
          '--after',
          file,
        ]);
        return { code: 0, out: stdout };
      } catch (error) {
        const failed = error as { code: number; stdout: string; stderr: string };
        return { code: failed.code, out: failed.stdout + failed.stderr };
      }
    };

    it('exits 1 on a breaking change, naming it', async () => {
      const { code, out } = await cli(changed((d) => delete d['paths']['/things/{thing_id}'].get));
      expect(code).to.equal(1);
      expect(out).to.include('**breaking** `GET /things/{thing_id}`: operation');
      expect(out).to.include('bump the major number of info.version');
    });

    it('exits 0 on the same change with a new major version, and on an additive change', async () => {
      const major = await cli(
        changed((d) => {
          delete d['paths']['/things/{thing_id}'].get;
          d['info'].version = '2.0.0';
        }),
      );
      expect(major.code, major.out).to.equal(0);
      const additive = await cli(changed((d) => (schemas(d)['Thing'].properties.size = { type: 'integer' })));
      expect(additive.code, additive.out).to.equal(0);
      expect(additive.out).to.include('no breaking changes');
    });
  });
});
