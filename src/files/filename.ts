/**
 * The client's filename is metadata: normalised on the way in, encoded safely
 * on the way out. It never reaches a filesystem path.
 */

export const MAX_FILENAME_LENGTH = 255;

/** Control characters (C0, DEL, C1) and bidirectional overrides that could disguise a name. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * NFC, last path segment only (both separators), unsafe characters removed,
 * trimmed, at most 255 characters; `file` when nothing is left.
 * @example normalizeFilename('../../etc/passwd') === 'passwd'
 */
export function normalizeFilename(raw: string | undefined): string {
  const segments = (raw ?? '').normalize('NFC').split(/[/\\]/);
  let name = (segments[segments.length - 1] ?? '').replace(UNSAFE, '').trim();
  // Cut by code points, so a surrogate pair is never split.
  name = [...name].slice(0, MAX_FILENAME_LENGTH).join('').trim();
  return name === '' || /^\.+$/.test(name) ? 'file' : name;
}

/** RFC 8187 ext-value characters that need no escaping (attr-char). */
function encodeExtValue(value: string): string {
  return encodeURIComponent(value).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * `attachment` with an ASCII fallback for old clients and the exact name as
 * RFC 6266 / RFC 8187 `filename*`.
 * @example contentDisposition('résumé.pdf') === `attachment; filename="resume.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`
 */
export function contentDisposition(filename: string): string {
  const fallback = filename
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]|["\\%]/g, '_');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeExtValue(filename)}`;
}
