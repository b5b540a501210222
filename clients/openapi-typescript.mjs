// Generates types for openapi-fetch with openapi-typescript's Node API (the CLI has no `transform`):
// `format: binary` becomes Blob, so an upload takes a File and a download is typed as one.
// Usage: node openapi-typescript.mjs <openapi.json> <out.d.ts>
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';

const [input, output] = process.argv.slice(2);
if (input === undefined || output === undefined) throw new Error('usage: openapi-typescript.mjs <in> <out>');
const BLOB = ts.factory.createTypeReferenceNode(ts.factory.createIdentifier('Blob'));
const ast = await openapiTS(JSON.parse(readFileSync(input, 'utf8')), {
  transform(schema) {
    if (schema.format === 'binary') return BLOB;
    return undefined;
  },
});
mkdirSync(path.dirname(output), { recursive: true });
writeFileSync(output, astToString(ast));
