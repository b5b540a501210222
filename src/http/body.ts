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
import type { OperationSpec } from '../contract/spec.js';
import type { UploadedForm } from '../contract/types.js';
import type { MultipartReader } from '../files/multipart.js';

export interface ParsedBody {
  /** The declared media type it matched, lower case. */
  readonly mediaType: string;
  readonly value: unknown;
  /** What Ajv validates when it differs from `value` (multipart: files as placeholders). */
  readonly validationValue?: unknown;
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

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** body-parser's error types, mapped to the statuses the contract declares. */
function parserError(error: unknown, limit: number): ApiError {
  const type = (error as { type?: unknown }).type;
  switch (type) {
    case 'entity.too.large':
      return new ApiError(413, `The request body is larger than ${limit} bytes.`);
    case 'entity.parse.failed':
      return new ApiError(400, 'The request body is not valid JSON.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError(415, 'The request body has an unsupported charset or encoding.');
    case 'parameters.too.many':
      return new ApiError(413, 'The form has too many fields.');
    default:
      return new ApiError(400, 'The request body could not be read.', { cause: error });
  }
}

/** Runs a body-parser middleware (it needs nothing of Express but the Node request) as a promise. */
function run(
  parser: RequestHandler,
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    void parser(req as Request, res as Response, (error?: unknown) => {
      if (error === undefined || error === null) resolve((req as { body?: unknown }).body);
      else reject(parserError(error, limit));
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
export function createBodyParsers(limit: number, multipart?: MultipartReader): BodyParsers {
  const always = (): boolean => true;
  const json = express.json({ limit, strict: false, type: always });
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
          415,
          `Content-Type ${mediaType ?? '(none)'} is not accepted here; use one of: ${accepted.join(', ')}.`,
        );
      }
      if (isJson(mediaType)) return { mediaType, value: await run(json, req, res, limit) };
      if (mediaType === 'application/x-www-form-urlencoded') {
        return { mediaType, value: { ...((await run(form, req, res, limit)) as object) } };
      }
      if (mediaType === 'multipart/form-data' && multipart !== undefined) {
        return readForm(multipart, req, operation);
      }
      throw new ApiError(415, `Content-Type ${mediaType} has no reader on this server.`);
    },
  };
}
