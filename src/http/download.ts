/** Response headers of file downloads (rest-api.md 3.14, 3.15). Pure functions. */

const TYPES_BY_EXTENSION: Readonly<Record<string, string>> = {
  csv: 'text/csv; charset=utf-8',
  png: 'image/png',
  json: 'application/json',
  txt: 'text/plain; charset=utf-8',
};

/** The last `/`-separated segment of a path. */
export function baseNameOf(path: string): string {
  const parts = path.split('/');
  return parts[parts.length - 1] ?? path;
}

/**
 * Content-Type by extension (case-insensitive): .csv, .png, .json, .txt or no extension
 * (e.g. `UPLOAD_DONE`) as the contract lists, anything else `application/octet-stream`.
 */
export function contentTypeFor(fileName: string): string {
  const base = baseNameOf(fileName);
  const dot = base.lastIndexOf('.');
  if (dot <= 0) return 'text/plain; charset=utf-8';
  return TYPES_BY_EXTENSION[base.slice(dot + 1).toLowerCase()] ?? 'application/octet-stream';
}

/** RFC 5987 `value-chars`: percent-encode everything except attr-char. */
function encodeRfc5987(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * `attachment; filename="<base name>"`, plus `filename*=UTF-8''…` when the name has characters
 * outside printable ASCII (the quoted form then carries `_` in their place, so the header stays
 * ASCII as HTTP requires). `"` and `\` are backslash-escaped inside the quoted string.
 */
export function contentDispositionFor(fileName: string): string {
  const base = baseNameOf(fileName);
  const printableAscii = /^[\x20-\x7e]*$/.test(base);
  const fallback = base.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, (c) => `\\${c}`);
  const header = `attachment; filename="${fallback}"`;
  return printableAscii ? header : `${header}; filename*=UTF-8''${encodeRfc5987(base)}`;
}
