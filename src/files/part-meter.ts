/**
 * A pass-through for one file part on its way to storage: counts bytes
 * against the part's limit, computes the SHA-256, and sniffs the real type
 * from the first bytes before any byte beyond them is passed on, so a refused
 * type stops the upload early.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { fileTypeFromBuffer } from 'file-type';

/** file-type's own recommendation for how many leading bytes to look at. */
export const SNIFF_BYTES = 4100;

export interface MeterChecks {
  /** Bytes allowed; one more is an error from `tooLarge()`. */
  readonly maxBytes: number;
  readonly tooLarge: () => Error;
  /** Called once with the sniffed type (undefined: no known signature); throw to refuse the part. */
  readonly sniffed: (mediaType: string | undefined) => void;
}

export class PartMeter extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private head: Buffer[] = [];
  private headBytes = 0;
  private sniffDone = false;
  /** Bytes seen so far (all of them once the stream has ended). */
  size = 0;
  sniffedType: string | undefined;

  constructor(private readonly checks: MeterChecks) {
    super();
  }

  /** The hex SHA-256; valid once the stream has ended. */
  digest(): string {
    return this.hash.digest('hex');
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.checks.maxBytes) {
      callback(this.checks.tooLarge());
      return;
    }
    this.hash.update(chunk);
    if (this.sniffDone) {
      callback(null, chunk);
      return;
    }
    this.head.push(chunk);
    this.headBytes += chunk.length;
    if (this.headBytes < SNIFF_BYTES) {
      callback();
      return;
    }
    this.sniff().then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    if (this.sniffDone) callback();
    else this.sniff().then(() => callback(), callback);
  }

  /** Sniffs the held head, checks it, then passes it on. */
  private async sniff(): Promise<void> {
    const head = Buffer.concat(this.head, this.headBytes);
    this.head = [];
    this.sniffDone = true;
    this.sniffedType = (await fileTypeFromBuffer(head.subarray(0, SNIFF_BYTES)))?.mime;
    this.checks.sniffed(this.sniffedType);
    if (head.length > 0) this.push(head);
  }
}
