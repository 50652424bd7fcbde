/**
 * What the three Next.js entries share (`vmpro-connect/next`, `/next/middleware`, `/next/errors`):
 * the request header the middleware forwards the page's path in, and the error digest format.
 * No imports: this module runs on Node, on the Edge runtime and in the browser.
 */

/**
 * The request header `vmproMiddleware` sets to the page's path and query, so that
 * `requireLogin()` in a server component (which cannot see the URL) can send the user back there
 * after login. Whatever a client sends in it is overwritten by the middleware, and the value is
 * only ever used through `safeReturnTo` (same-origin paths only).
 */
export const RETURN_TO_HEADER = 'x-vmpro-return-to';

/** A cookie the refresh route sets when it could not refresh: pages then skip the detour for a few seconds (no redirect loop). */
export const REFRESH_DEFERRED_COOKIE = 'vmpro-refresh-deferred';

const PREFIX = 'VMPRO;';

/** What an error page can show about a vmpro-connect error thrown in a server component. */
export interface VmproErrorDigest {
  /** The stable error code (`VMPRO_UPSTREAM_UNAVAILABLE`, `VMPRO_STORE_UNAVAILABLE`…). */
  code: string;
  /** The HTTP status the error stands for (401, 502, 503…). */
  status: number;
  /** The error's message: what went wrong and what to do. Never contains a token, code or secret. */
  message: string;
  /** Seconds to wait before trying again, when known. */
  retryAfter: number | undefined;
}

/** `VMPRO;<code>;<status>;<retryAfter>;<message>`: Next.js passes an error's `digest` to `error.tsx` as it is. */
export function encodeDigest(info: VmproErrorDigest): string {
  return `${PREFIX}${info.code};${info.status};${info.retryAfter ?? ''};${info.message}`;
}

/** The inverse of {@link encodeDigest}; `null` for any other digest (Next's own, or none). */
export function decodeDigest(digest: unknown): VmproErrorDigest | null {
  if (typeof digest !== 'string' || !digest.startsWith(PREFIX)) return null;
  const parts = digest.slice(PREFIX.length).split(';');
  const [code, status, retryAfter] = parts;
  const statusNumber = Number(status);
  if (!code || !/^VMPRO_[A-Z_]+$/.test(code) || !Number.isInteger(statusNumber)) return null;
  const wait = retryAfter ? Number(retryAfter) : Number.NaN;
  return {
    code,
    status: statusNumber,
    message: parts.slice(3).join(';'),
    retryAfter: Number.isFinite(wait) ? wait : undefined,
  };
}
