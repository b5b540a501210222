/**
 * Reads a request body only after routing, and only with a parser for a media
 * type the operation declares: an undeclared type is 415 before a byte is read,
 * a body over the limit is 413, malformed JSON is 400. `multipart/form-data`
 * streams its files into storage (files/multipart.ts) under its own limits.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import type { Request, RequestHandler, Response } from 'express';
import { ApiError, validationError } from '../contract/errors.js';
import { measureJsonText } from '../contract/json-shape.js';
import type { JsonTextShape } from '../contract/json-shape.js';
import type { OperationSpec } from '../contract/spec.js';
import type { UploadedForm } from '../contract/types.js';
import type { MultipartReader } from '../files/multipart.js';

/** How deep and how wide a JSON body may be (JSON_MAX_DEPTH, JSON_MAX_VALUES); more is a 400. */
export interface JsonShapeLimits {
  readonly maxDepth: number;
  readonly maxValues: number;
}

export const DEFAULT_JSON_SHAPE_LIMITS: JsonShapeLimits = { maxDepth: 32, maxValues: 10_000 };

/** Where the JSON reader leaves what it measured of the text, for the NUL check after validation. */
const SHAPE = Symbol('json shape');
type ShapedRequest = IncomingMessage & { [SHAPE]?: JsonTextShape };

export interface ParsedBody {
  /** The declared media type it matched, lower case. */
  readonly mediaType: string;
  readonly value: unknown;
  /** What Ajv validates when it differs from `value` (multipart: files as placeholders). */
  readonly validationValue?: unknown;
  /** False when the body cannot hold a U+0000 character (JSON text without a `\u0000` escape). */
  readonly mayHoldNul?: boolean;
  /** Undoes what reading stored (multipart: the file parts) unless the handler kept it; call once done. */
  readonly release?: () => Promise<void>;
}

export interface BodyParsers {
  read(req: IncomingMessage, res: ServerResponse, operation: OperationSpec): Promise<ParsedBody | undefined>;
}

/** application/json and any `+json` type (problem+json, …). */
export const isJson = (type: string): boolean => type === 'application/json' || type.endsWith('+json');

/** The media type of a Content-Type header, lower case, without parameters. */
export function mediaTypeOf(header: string | undefined): string | undefined {
  const type = header?.split(';', 1)[0]?.trim().toLowerCase();
  return type === '' ? undefined : type;
}

/** The `charset` parameter of a Content-Type header, lower case, or undefined when there is none. */
function charsetOf(header: string | undefined): string | undefined {
  const found = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(header ?? '');
  return found?.[1]?.toLowerCase();
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** body-parser's error types, mapped to the statuses the contract declares. */
function parserError(error: unknown, limit: number, shapeLimits: JsonShapeLimits): ApiError {
  const type = (error as { type?: unknown }).type;
  switch (type) {
    case 'json.too.deep':
      return new ApiError(
        'malformed-body',
        `The JSON body nests deeper than ${shapeLimits.maxDepth} levels.`,
      );
    case 'json.too.many.values':
      return new ApiError('malformed-body', `The JSON body holds more than ${shapeLimits.maxValues} values.`);
    case 'entity.too.large':
      return new ApiError('content-too-large', `The request body is larger than ${limit} bytes.`);
    case 'entity.parse.failed':
      return new ApiError('malformed-body', 'The request body is not valid JSON.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError(
        'unsupported-media-type',
        'The request body has an unsupported charset or encoding.',
      );
    case 'parameters.too.many':
      return new ApiError('content-too-large', 'The form has too many fields.');
    default:
      return new ApiError('malformed-body', 'The request body could not be read.', { cause: error });
  }
}

/** Runs a body-parser middleware (it needs nothing of Express but the Node request) as a promise. */
function run(
  parser: RequestHandler,
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
  shapeLimits: JsonShapeLimits,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    void parser(req as Request, res as Response, (error?: unknown) => {
      if (error === undefined || error === null) resolve((req as { body?: unknown }).body);
      else reject(parserError(error, limit, shapeLimits));
    });
  });
}

/** A stored form for the handler, and the release that removes its files unless `keep()` was called. */
async function readForm(
  multipart: MultipartReader,
  req: IncomingMessage,
  operation: OperationSpec,
): Promise<ParsedBody> {
  const form = await multipart.read(req, operation);
  let kept = false;
  const value: UploadedForm<unknown> = {
    fields: form.fields,
    files: form.files,
    keep() {
      kept = true;
    },
  };
  return {
    mediaType: 'multipart/form-data',
    value,
    validationValue: form.view,
    release: async () => {
      if (!kept) await form.discard();
    },
  };
}

/**
 * Parsers for JSON (any `+json` type too) and URL-encoded forms, sharing one
 * size limit, and multipart forms when a reader is given.
 */
export function createBodyParsers(
  limit: number,
  multipart?: MultipartReader,
  shapeLimits: JsonShapeLimits = DEFAULT_JSON_SHAPE_LIMITS,
): BodyParsers {
  const always = (): boolean => true;
  // The text is measured before it is parsed: a body too deep or too wide costs one pass over its bytes.
  const json = express.json({
    limit,
    strict: false,
    type: always,
    verify(req, _res, bytes) {
      const shape = measureJsonText(bytes, shapeLimits.maxDepth, shapeLimits.maxValues);
      if (shape.depth > shapeLimits.maxDepth) {
        throw Object.assign(new Error('too deep'), { type: 'json.too.deep' });
      }
      if (shape.values > shapeLimits.maxValues) {
        throw Object.assign(new Error('too many values'), { type: 'json.too.many.values' });
      }
      (req as ShapedRequest)[SHAPE] = shape;
    },
  });
  const form = express.urlencoded({ limit, extended: false, parameterLimit: 100, type: always });

  return {
    async read(req, res, operation) {
      const declared = operation.requestBody;
      if (declared === undefined) return undefined;
      if (!hasBody(req)) {
        if (!declared.required) return undefined;
        throw validationError([
          { in: 'body', path: '', message: 'request body is required', keyword: 'required' },
        ]);
      }
      const mediaType = mediaTypeOf(req.headers['content-type']);
      const accepted = [...declared.content.keys()];
      if (mediaType === undefined || !declared.content.has(mediaType)) {
        throw new ApiError(
          'unsupported-media-type',
          `Content-Type ${mediaType ?? '(none)'} is not accepted here; use one of: ${accepted.join(', ')}.`,
        );
      }
      if (isJson(mediaType)) {
        // RFC 8259 §8.1: JSON exchanged between systems is UTF-8; the parser would also decode UTF-16 and UTF-32.
        const charset = charsetOf(req.headers['content-type']);
        if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
          throw new ApiError('unsupported-media-type', `JSON must be sent as UTF-8, not ${charset}.`);
        }
        const value = await run(json, req, res, limit, shapeLimits);
        return { mediaType, value, mayHoldNul: (req as ShapedRequest)[SHAPE]?.mayHoldNul ?? true };
      }
      if (mediaType === 'application/x-www-form-urlencoded') {
        return { mediaType, value: { ...((await run(form, req, res, limit, shapeLimits)) as object) } };
      }
      if (mediaType === 'multipart/form-data' && multipart !== undefined) {
        return readForm(multipart, req, operation);
      }
      throw new ApiError('unsupported-media-type', `Content-Type ${mediaType} has no reader on this server.`);
    },
  };
}
