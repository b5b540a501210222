/**
 * asyncapi.yaml beside openapi.yaml: redocly lints its structure (npm run
 * lint:spec) but not its examples, so this checks what it cannot: every
 * payload is a `$ref` to a schema of the contract, every example is valid
 * against it (with the server's own Ajv), and the channels are the contract's
 * two upgrade paths.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { loadSpec } from '../../src/contract/spec.js';
import { createValidation } from '../../src/contract/validation.js';

interface Message {
  payload: { $ref?: string };
  examples?: { name: string; payload: unknown }[];
}
interface AsyncApi {
  asyncapi: string;
  channels: Record<string, { address: string; messages: Record<string, { $ref: string }> }>;
  components: { messages: Record<string, Message> };
}

const document = parse(
  readFileSync(path.resolve(import.meta.dirname, '../../asyncapi.yaml'), 'utf8'),
) as AsyncApi;

describe('asyncapi.yaml', () => {
  const spec = loadSpec();
  const validation = createValidation(spec);

  it('is AsyncAPI 3 and its channels are the upgrade paths of connectEcho and connectChat', () => {
    expect(document.asyncapi).to.match(/^3\./);
    const addresses = Object.values(document.channels).map((channel) => channel.address);
    expect(addresses).to.have.members([
      spec.byId.get('connectEcho')?.path,
      spec.byId.get('connectChat')?.path,
    ]);
  });

  for (const [name, message] of Object.entries(document.components.messages)) {
    it(`message ${name}: its payload is a contract schema and its examples are valid against it`, () => {
      const ref = message.payload.$ref ?? '';
      expect(ref).to.match(/^\.\/openapi\.yaml#\/components\/schemas\/\w+$/);
      const pointer = ref.slice(ref.indexOf('#') + 1);
      const validate = validation.schema(pointer);
      expect(message.examples ?? []).to.not.be.empty;
      for (const example of message.examples ?? []) {
        expect(validate(example.payload), `${example.name}: ${JSON.stringify(validate.errors)}`).to.equal(
          true,
        );
      }
    });
  }
});
