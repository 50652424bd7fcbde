const MAX_LENGTH = 2048;

/**
 * Returns `value` when it is a safe same-origin path to send the user back to after login, else
 * `fallback`. Refused: anything not starting with exactly one `/` (so no `//host`, `/\host`, no
 * scheme), backslashes, control characters, percent-encoded slashes, backslashes or control
 * characters, and anything that a URL parser resolves to another origin.
 *
 * @example
 * safeReturnTo('/videos?page=2')   // '/videos?page=2'
 * safeReturnTo('//evil.example')   // '/'
 */
export function safeReturnTo(value: unknown, fallback = '/'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LENGTH) return fallback;
  if (value[0] !== '/' || value[1] === '/' || value[1] === '\\') return fallback;
  if (value.includes('\\')) return fallback;
  if (/[\u0000-\u001f\u007f-\u009f\s]/.test(value)) return fallback;
  if (/%(2f|5c|0[0-9a-f]|1[0-9a-f]|7f|25)/i.test(value)) return fallback;
  let decoded: string;
  try {
    decoded = decodeURIComponent(value);
  } catch {
    return fallback;
  }
  if (decoded[1] === '/' || decoded.includes('\\')) return fallback;
  const base = 'http://vmpro-connect.invalid';
  let url: URL;
  try {
    url = new URL(value, base);
  } catch {
    return fallback;
  }
  if (url.origin !== base) return fallback;
  return url.pathname + url.search + url.hash;
}
