/**
 * Frame schemas from the contract, checked by the contract's one Ajv instance
 * (`validation.schema`), in both directions: a client frame before it is
 * acted on, a server frame once before it is serialized and fanned out.
 */
import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { components } from '../../generated/openapi.js';
import { Violations } from '../contract/errors.js';
import { addAjvErrors } from '../contract/validation.js';
import type { Validation } from '../contract/validation.js';

export type ChatClientFrame = components['schemas']['ChatClientFrame'];
export type ChatServerFrame = components['schemas']['ChatServerFrame'];
export type ErrorFrame = components['schemas']['ErrorFrame'];
export type FrameError = components['schemas']['FrameError'];

const schema = (name: string): string => `/components/schemas/${name}`;

export interface FrameValidators {
  readonly echoText: ValidateFunction;
  readonly echoServerText: ValidateFunction;
  readonly chatClient: ValidateFunction;
  readonly chatServer: ValidateFunction;
}

/** Compiles the frame validators once, at start-up. */
export function frameValidators(validation: Validation): FrameValidators {
  return {
    echoText: validation.schema(schema('EchoText')),
    echoServerText: validation.schema(schema('EchoServerText')),
    chatClient: validation.schema(schema('ChatClientFrame')),
    chatServer: validation.schema(schema('ChatServerFrame')),
  };
}

/** Ajv's errors as the error frame's entries: at most MAX_LISTED_VIOLATIONS, texts clipped, as on HTTP. */
export function frameErrors(validate: ValidateFunction): FrameError[] {
  const violations = new Violations();
  addAjvErrors(violations, 'body', validate.errors);
  return violations.listed.map(({ path, message, keyword }) => ({ path, message, keyword }));
}

export function errorFrame(code: ErrorFrame['code'], detail: string, errors?: FrameError[]): ErrorFrame {
  return errors === undefined ? { type: 'error', code, detail } : { type: 'error', code, detail, errors };
}

/** A server frame that breaks the contract is a bug here: it is logged and not sent. */
export class OutboundFrameError extends Error {
  constructor(readonly errors: FrameError[]) {
    super(
      `outbound frame breaks the contract: ${errors.map((e) => `${e.path || '/'} ${e.message}`).join('; ')}`,
    );
    this.name = 'OutboundFrameError';
  }
}

/** Validates a server frame and serializes it once, for every recipient. */
export function serialize(validate: ValidateFunction, frame: unknown): Buffer {
  if (!validate(frame)) throw new OutboundFrameError(frameErrors(validate));
  return Buffer.from(typeof frame === 'string' ? frame : JSON.stringify(frame), 'utf8');
}
