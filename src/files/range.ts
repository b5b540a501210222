/**
 * Conditional and range requests for downloads (RFC 9110 §13, §14): strong
 * ETags from the SHA-256, `If-None-Match`, `If-Range`, and one byte range.
 */
import type { ByteRange } from './storage.js';

/** The strong entity tag of a file with this SHA-256. */
export const etagOf = (sha256: string): string => `"${sha256}"`;

/** `If-None-Match`: `*` or a list of tags, compared weakly (a `W/` prefix is ignored). */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

export type RangeAnswer =
  | { readonly kind: 'whole' }
  | { readonly kind: 'partial'; readonly range: ByteRange }
  | { readonly kind: 'unsatisfiable' };

/**
 * What to send for a `Range` header on a file of `size` bytes. A malformed
 * header, another unit or several ranges are ignored (the whole file is
 * sent, as RFC 9110 allows); a range wholly beyond the end is unsatisfiable.
 * @example byteRange('bytes=0-4', 13) // { kind: 'partial', range: { start: 0, end: 4 } }
 */
export function byteRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: 'whole' };
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (match === null) return { kind: 'whole' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'whole' };
  if (first === '') {
    // A suffix: the last N bytes.
    const length = Number(last);
    if (length === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', range: { start: Math.max(0, size - length), end: size - 1 } };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return { kind: 'whole' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', range: { start, end } };
}
