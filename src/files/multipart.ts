/**
 * Reads a `multipart/form-data` request with busboy, streaming each file part
 * through a PartMeter straight into storage under a fresh server-made key.
 * Every busboy limit is set, from configuration and from the contract (see
 * form-plan.ts). Any failure (a limit, a refused type, an undeclared part,
 * malformed multipart, the client going away) stops reading, removes every
 * part stored so far and rejects with the problem to answer: 400, 413, 415 or
 * 422. The caller removes the parts of a successful read (`discard`) unless
 * their metadata was committed.
 */
import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import type { Busboy, FieldInfo, FileInfo } from 'busboy';
import type { Readable } from 'node:stream';
import type { FilesConfig } from '../config.js';
import { ApiError, validationError } from '../contract/errors.js';
import type { OperationSpec, Spec } from '../contract/spec.js';
import { escapePointer } from '../contract/spec.js';
import type { StoredPart } from '../contract/types.js';
import { coerceParameter } from '../contract/validation.js';
import { normalizeFilename } from './filename.js';
import { accepts, formPlan } from './form-plan.js';
import type { FilePartRule, FormPlan } from './form-plan.js';
import { PartMeter } from './part-meter.js';
import { newStorageKey } from './storage.js';
import type { FileStorage } from './storage.js';

export interface MultipartForm {
  /** Text fields, coerced to their schema types. */
  readonly fields: Record<string, unknown>;
  /** File parts in the order they were sent, all durably stored. */
  readonly files: readonly StoredPart[];
  /** What Ajv validates: the fields, with each file as a placeholder string (an array for array parts). */
  readonly view: Record<string, unknown>;
  /** Removes every stored part; safe to call more than once. */
  discard(): Promise<void>;
}

export interface MultipartReader {
  read(req: IncomingMessage, operation: OperationSpec): Promise<MultipartForm>;
}

export interface MultipartOptions {
  readonly spec: Spec;
  readonly storage: FileStorage;
  readonly limits: FilesConfig;
}

const partError = (name: string | undefined, message: string, keyword: string): ApiError =>
  validationError([
    { in: 'body', path: name === undefined ? '' : `/${escapePointer(name)}`, message, keyword },
  ]);

function malformed(error: unknown): ApiError {
  const reason = error instanceof Error ? error.message.replace(/\.$/, '') : 'unreadable';
  return new ApiError('malformed-body', `The multipart body is malformed: ${reason}.`, { cause: error });
}

/** The media type of a part's Content-Type, lower case, no parameters. */
const mediaTypeOf = (value: string | undefined): string =>
  value?.split(';', 1)[0]?.trim().toLowerCase() || 'application/octet-stream';

/**
 * One request's parse. Kept as a class so the many busboy and request events
 * share state without a long closure.
 */
class FormRead {
  private readonly fields: Record<string, unknown> = {};
  private readonly slots: (StoredPart | undefined)[] = [];
  private readonly keys: string[] = [];
  private readonly writes: Promise<void>[] = [];
  private readonly meters = new Set<PartMeter>();
  private readonly counts = new Map<string, number>();
  private settled = false;
  private discarding: Promise<void> | undefined;
  private parser: Busboy | undefined;

  constructor(
    private readonly req: IncomingMessage,
    private readonly plan: FormPlan,
    private readonly storage: FileStorage,
    private readonly limits: FilesConfig,
    private readonly resolve: (form: MultipartForm) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  start(): void {
    const { req, limits, plan } = this;
    req.on('close', this.onRequestClose);
    req.on('error', this.onRequestError);
    let parser: Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        defParamCharset: 'utf8',
        limits: {
          fieldNameSize: 200,
          // busboy flags a value (or file) that reaches its limit as truncated even when it ends
          // exactly there; one byte of slack makes "over the limit" mean over it.
          fieldSize: limits.maxFieldBytes + 1,
          fields: limits.maxFields,
          fileSize: plan.maxFileBytes + 1,
          // One more than allowed, so the extra file arrives and the 422 can name its part.
          files: plan.maxFiles + 1,
          // busboy signals partsLimit when the count reaches it, so allow one more to mean "over".
          parts: limits.maxParts + 1,
          headerPairs: limits.maxHeaderPairs,
        },
      });
    } catch (error) {
      // No boundary, or not multipart at all.
      this.fail(malformed(error));
      return;
    }
    this.parser = parser;
    parser.on('file', this.onFile);
    parser.on('field', this.onField);
    parser.on('partsLimit', () => {
      this.fail(new ApiError('content-too-large', `The form has more than ${limits.maxParts} parts.`));
    });
    parser.on('fieldsLimit', () => {
      this.fail(new ApiError('content-too-large', `The form has more than ${limits.maxFields} text fields.`));
    });
    parser.on('filesLimit', () => {
      this.fail(partError(undefined, `must have at most ${plan.maxFiles} files`, 'maxItems'));
    });
    parser.on('error', (error: unknown) => {
      this.fail(error instanceof ApiError ? error : malformed(error));
    });
    parser.on('close', this.onParsed);
    req.pipe(parser);
  }

  private readonly onRequestClose = (): void => {
    if (!this.req.complete) {
      this.fail(
        new ApiError('malformed-body', 'The connection closed before the request body was complete.'),
      );
    }
  };

  private readonly onRequestError = (error: unknown): void => {
    this.fail(malformed(error));
  };

  private readonly onField = (name: string | undefined, value: string, info: FieldInfo): void => {
    if (this.settled) return;
    if (info.nameTruncated || info.valueTruncated) {
      this.fail(
        new ApiError(
          'content-too-large',
          `Field "${name ?? ''}" is longer than ${this.limits.maxFieldBytes} bytes.`,
        ),
      );
      return;
    }
    const schema = name === undefined ? undefined : this.plan.fields.get(name);
    if (name === undefined || schema === undefined) {
      const isFile = name !== undefined && this.plan.files.has(name);
      this.fail(
        partError(
          name,
          isFile ? 'must be a file part' : 'is not a declared part',
          isFile ? 'type' : 'additionalProperties',
        ),
      );
      return;
    }
    const coerced = coerceParameter(value, schema);
    if (schema['type'] === 'array') {
      const list = (this.fields[name] as unknown[] | undefined) ?? [];
      list.push(...(Array.isArray(coerced) ? (coerced as unknown[]) : [coerced]));
      this.fields[name] = list;
    } else if (name in this.fields) {
      this.fail(partError(name, 'must be sent once', 'maxItems'));
    } else {
      this.fields[name] = coerced;
    }
  };

  private readonly onFile = (name: string | undefined, stream: Readable, info: FileInfo): void => {
    if (this.settled) {
      stream.resume();
      return;
    }
    const rule = name === undefined ? undefined : this.plan.files.get(name);
    if (name === undefined || rule === undefined) {
      stream.resume();
      const isField = name !== undefined && this.plan.fields.has(name);
      this.fail(
        partError(
          name,
          isField ? 'must be a text field, not a file' : 'is not a declared part',
          isField ? 'type' : 'additionalProperties',
        ),
      );
      return;
    }
    const count = (this.counts.get(name) ?? 0) + 1;
    this.counts.set(name, count);
    if (count > rule.maxItems) {
      stream.resume();
      this.fail(
        partError(
          name,
          `must have at most ${rule.maxItems} file${rule.maxItems === 1 ? '' : 's'}`,
          'maxItems',
        ),
      );
      return;
    }
    if (this.slots.length >= this.plan.maxFiles) {
      stream.resume();
      this.fail(partError(name, `must have at most ${this.plan.maxFiles} files in all`, 'maxItems'));
      return;
    }
    this.store(rule, stream, info);
  };

  /** Streams one file part through a meter into storage under a new key. */
  private store(rule: FilePartRule, stream: Readable, info: FileInfo): void {
    const declaredType = mediaTypeOf(info.mimeType);
    const tooLarge = (): ApiError =>
      new ApiError('content-too-large', `Part "${rule.name}" is larger than ${rule.maxBytes} bytes.`);
    const meter = new PartMeter({
      maxBytes: rule.maxBytes,
      tooLarge,
      sniffed: (sniffed) => {
        const type = sniffed ?? declaredType;
        if (!accepts(rule.accept, type)) {
          const how = sniffed === undefined ? 'declared' : 'sniffed from its bytes';
          throw new ApiError(
            'unsupported-media-type',
            `Part "${rule.name}" is ${type} (${how}); accepted: ${rule.accept.join(', ')}.`,
          );
        }
      },
    });
    this.meters.add(meter);
    // Its errors reach storage.write through the pipe; this keeps a late destroy() from going uncaught.
    meter.on('error', () => undefined);
    stream.on('limit', () => meter.destroy(tooLarge()));
    stream.on('error', (error: unknown) => meter.destroy(malformed(error)));
    stream.pipe(meter);

    const key = newStorageKey();
    this.keys.push(key);
    const slot = this.slots.length;
    this.slots.push(undefined);
    const write = this.storage.write(key, meter).then(() => {
      this.meters.delete(meter);
      this.slots[slot] = {
        field: rule.name,
        key,
        filename: normalizeFilename(info.filename),
        declaredType,
        contentType: meter.sniffedType ?? declaredType,
        size: meter.size,
        sha256: meter.digest(),
      };
    });
    this.writes.push(write);
    write.catch((error: unknown) => {
      this.fail(error);
    });
  }

  private readonly onParsed = (): void => {
    if (this.settled) return;
    Promise.all(this.writes).then(
      () => {
        if (this.settled) return;
        this.settled = true;
        this.detach();
        const files = this.slots.filter((part): part is StoredPart => part !== undefined);
        const view: Record<string, unknown> = { ...this.fields };
        for (const part of files) {
          const rule = this.plan.files.get(part.field);
          if (rule?.array === true) ((view[part.field] ??= []) as unknown[]).push(part.filename);
          else view[part.field] = part.filename;
        }
        this.resolve({ fields: this.fields, files, view, discard: () => this.discard() });
      },
      () => undefined,
    ); // a failed write has already called fail()
  };

  /** Stops reading, removes every stored part, then rejects. */
  private fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.detach();
    for (const meter of this.meters) meter.destroy(error instanceof Error ? error : new Error(String(error)));
    // Drain what the client still sends, so it can read the answer (bounded by REQUEST_TIMEOUT_MS).
    this.req.resume();
    this.discard().then(
      () => this.reject(error),
      () => this.reject(error),
    );
  }

  private detach(): void {
    this.req.off('close', this.onRequestClose);
    this.req.off('error', this.onRequestError);
    if (this.parser !== undefined) {
      this.req.unpipe(this.parser);
      this.parser.removeAllListeners('file');
      this.parser.removeAllListeners('field');
      // Later parser errors (the rest of an abandoned body) must not go unhandled.
      this.parser.on('error', () => undefined);
    }
  }

  private discard(): Promise<void> {
    this.discarding ??= (async () => {
      await Promise.allSettled(this.writes);
      await Promise.all(this.keys.map((key) => this.storage.remove(key)));
    })();
    return this.discarding;
  }
}

/**
 * A reader for the operations of a contract; plans are made once per operation.
 * @example const form = await reader.read(req, spec.byId.get('uploadFile')!);
 */
export function createMultipartReader(options: MultipartOptions): MultipartReader {
  const { spec, storage, limits } = options;
  const plans = new Map<string, FormPlan | undefined>();
  const planFor = (operation: OperationSpec): FormPlan | undefined => {
    if (!plans.has(operation.operationId)) {
      plans.set(operation.operationId, formPlan(spec.document, operation, limits));
    }
    return plans.get(operation.operationId);
  };
  return {
    read(req, operation) {
      const plan = planFor(operation);
      if (plan === undefined) {
        return Promise.reject(
          new ApiError('unsupported-media-type', 'This operation takes no multipart/form-data body.'),
        );
      }
      return new Promise<MultipartForm>((resolve, reject) => {
        new FormRead(req, plan, storage, limits, resolve, reject).start();
      });
    },
  };
}
