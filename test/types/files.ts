/**
 * Compile-only checks that the file operations' types bite: each
 * `@ts-expect-error` below must be an error for `tsc --noEmit` to pass.
 */
import { Readable } from 'node:stream';
import type { Input, Reply } from '../../src/contract/types.js';

const bytes = { binary: true, length: 2, open: () => Readable.from([Buffer.from('hi')]) } as const;
const headers = {
  'Content-Length': '2',
  'Content-Disposition': `attachment; filename="a.txt"; filename*=UTF-8''a.txt`,
  ETag: `"${'0'.repeat(64)}"`,
  'X-Content-Type-Options': 'nosniff',
  'Accept-Ranges': 'bytes',
  'Cache-Control': 'private, no-cache',
} as const;

// A download streams bytes with the declared headers and any (sniffed) media type.
export const streamed: Reply<'downloadFile'> = {
  status: 200,
  contentType: 'image/png',
  headers,
  body: bytes,
};

// @ts-expect-error a download's body is a byte stream, not a JSON value
export const json: Reply<'downloadFile'> = { status: 200, contentType: 'text/plain', headers, body: 'hi' };

const { ETag: _etag, ...withoutEtag } = headers;
// @ts-expect-error ETag (like every header the contract marks required) must be set
export const noEtag: Reply<'downloadFile'> = {
  status: 200,
  contentType: 'a/b',
  headers: withoutEtag,
  body: bytes,
};

// @ts-expect-error a 206 needs Content-Range
export const noRange: Reply<'downloadFile'> = {
  status: 206,
  contentType: 'text/plain',
  headers,
  body: bytes,
};

// @ts-expect-error a JSON response cannot be a byte stream
export const binaryJson: Reply<'listFiles'> = { status: 200, body: bytes };

// An upload handler sees stored parts and typed text fields, never raw bytes.
export function description(input: Input<'uploadFile'>): string | undefined {
  const part = input.body.files[0];
  // @ts-expect-error stored parts carry metadata and a storage key, not the bytes
  void part?.data;
  return input.body.fields.description;
}
