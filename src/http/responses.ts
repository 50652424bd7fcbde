import { isVmproError, type VmproError, type VmproErrorCode } from '../errors.js';
import { escapeHtml } from '../internal/html.js';

/** Headers every response that sets or clears a cookie carries. */
export const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const;

const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The HTTP status and public error code for an error, per where it happened. */
export interface ErrorMapping {
  status: number;
  /** The `error` of the JSON answer and the code on the HTML page. */
  code: VmproErrorCode;
  message: string;
  retryAfter: number | undefined;
}

/**
 * Maps an error to the status a browser or API client should see. Nothing a browser or the
 * login server sends maps to a 5xx other than 502/503/504 (upstream trouble); an unknown error
 * (a bug) is a 500 with a generic message.
 */
export function mapError(error: unknown, where: 'callback' | 'other' = 'other'): ErrorMapping {
  if (!isVmproError(error)) {
    return {
      status: 500,
      code: 'VMPRO_INTERNAL',
      message: 'An unexpected error occurred in the app. The details are in the server log.',
      retryAfter: undefined,
    };
  }
  const e = error as VmproError & { status?: number; error?: string };
  const m = (status: number): ErrorMapping => ({
    status,
    code: e.code,
    message: e.message,
    retryAfter: e.retryAfter,
  });
  switch (e.code) {
    case 'VMPRO_NOT_AUTHENTICATED':
    case 'VMPRO_REFRESH_EXPIRED':
      return m(401);
    case 'VMPRO_CROSS_SITE_REQUEST':
    case 'VMPRO_FORBIDDEN':
    case 'VMPRO_LOGIN_REFUSED':
      return m(403);
    case 'VMPRO_AUTHORIZATION_ERROR':
      return m(e.error === 'access_denied' ? 403 : 400);
    case 'VMPRO_STATE_MISMATCH':
    case 'VMPRO_TRANSACTION_MISSING':
    case 'VMPRO_TRANSACTION_EXPIRED':
    case 'VMPRO_CALLBACK_INVALID':
    case 'VMPRO_LOGOUT_TOKEN_INVALID':
      return m(400);
    case 'VMPRO_ID_TOKEN_INVALID':
    case 'VMPRO_TOKEN_RESPONSE_INVALID':
    case 'VMPRO_ISSUER_MISMATCH':
    case 'VMPRO_TOKEN_ERROR':
    case 'VMPRO_UNSUPPORTED':
      // At the callback the sign-in failed and the user can start again; elsewhere the login
      // server gave an answer we cannot use: a bad gateway.
      return m(where === 'callback' ? 400 : 502);
    case 'VMPRO_STORE_UNAVAILABLE':
      return { ...m(503), retryAfter: e.retryAfter ?? 2 };
    case 'VMPRO_UPSTREAM_TIMEOUT':
      return m(504);
    case 'VMPRO_UPSTREAM_UNAVAILABLE':
    case 'VMPRO_DISCOVERY_FAILED':
      return e.retryAfter !== undefined ? m(503) : m(502);
    case 'VMPRO_API_ERROR': {
      const s = e.status ?? 502;
      if (s === 429 || s === 503) return { ...m(503), retryAfter: e.retryAfter ?? 5 };
      if (s === 504) return m(504);
      // The API's own 4xx answers (no access, not found, bad filter) pass through; its failures are a bad gateway.
      return m(s >= 400 && s < 500 ? s : 502);
    }
    case 'VMPRO_ABORTED':
      return m(503);
    case 'VMPRO_CONFIG_INVALID':
      return m(500);
    default:
      return m(500);
  }
}

function withRetryAfter(headers: Headers, retryAfter: number | undefined): void {
  if (retryAfter !== undefined) headers.set('retry-after', String(Math.max(1, Math.ceil(retryAfter))));
}

/** `{"error": code, "message": text}` with the mapped status. */
export function jsonError(mapping: ErrorMapping, extraHeaders?: HeadersInit): Response {
  const headers = new Headers(extraHeaders);
  headers.set('content-type', 'application/json; charset=utf-8');
  headers.set('cache-control', 'no-store');
  withRetryAfter(headers, mapping.retryAfter);
  return new Response(JSON.stringify({ error: mapping.code, message: mapping.message }), {
    status: mapping.status,
    headers,
  });
}

/** A small self-contained HTML page (no external resources) with escaped text. */
export function htmlPage(
  title: string,
  bodyHtml: string,
  status = 200,
  extraHeaders?: HeadersInit,
): Response {
  const headers = new Headers(extraHeaders);
  headers.set('content-type', 'text/html; charset=utf-8');
  headers.set('cache-control', 'no-store');
  headers.set('content-security-policy', PAGE_CSP);
  headers.set('x-content-type-options', 'nosniff');
  headers.set('referrer-policy', 'no-referrer');
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1b1f24}h1{font-size:1.4rem}code{background:#f2f4f7;padding:.1rem .3rem;border-radius:3px}a.button{display:inline-block;margin-top:1rem;padding:.5rem 1rem;background:#0a5bd8;color:#fff;border-radius:6px;text-decoration:none}</style></head><body>${bodyHtml}</body></html>`;
  return new Response(html, { status, headers });
}

/**
 * The error page a browser sees when sign-in fails: what happened and a way to start again.
 * A signed-in user who lacks access (`VMPRO_FORBIDDEN`) gets a way to sign out instead, so that
 * they can sign in with another account (signing in again would bring the same one back).
 */
export function htmlError(
  mapping: ErrorMapping,
  loginPath: string,
  extraHeaders?: HeadersInit,
  logoutPath?: string,
): Response {
  const headers = new Headers(extraHeaders);
  withRetryAfter(headers, mapping.retryAfter);
  const forbidden = mapping.code === 'VMPRO_FORBIDDEN';
  const title = forbidden
    ? 'You do not have access to this page'
    : mapping.status >= 500
      ? 'The sign-in service is not available'
      : 'Sign-in did not work';
  const action =
    forbidden && logoutPath !== undefined
      ? `<form method="post" action="${escapeHtml(logoutPath)}"><button class="button" type="submit">Sign out</button></form>`
      : `<a class="button" href="${escapeHtml(loginPath)}">Sign in again</a>`;
  return htmlPage(
    title,
    `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(mapping.message)}</p><p><small>Error code: <code>${escapeHtml(mapping.code)}</code></small></p>${action}`,
    mapping.status,
    headers,
  );
}

/** What an app's `errorPage` receives: the answer's status, the error's code and its message for humans. */
export interface ErrorPageInfo {
  readonly status: number;
  readonly code: VmproErrorCode;
  /** Plain text, possibly quoting the login server: put {@link messageHtml} in HTML, not this. */
  readonly message: string;
  /** `message`, HTML-escaped, ready to put in a page. */
  readonly messageHtml: string;
  /** Seconds, when the user should retry later (also sent as `Retry-After`). */
  readonly retryAfter?: number | undefined;
}

/**
 * Renders the HTML error answers (failed sign-ins, `403` from guards and refused logins) in the
 * app's own design. A string is sent as the page with the mapped status, `no-store`, and a
 * Content-Security-Policy that allows the app's own styles and images but no scripts; a
 * `Response` is sent as it is. JSON answers (API calls) are not affected.
 *
 * @example
 * ```ts
 * errorPage: (error) =>
 *   `<!doctype html><title>Oops</title><link rel="stylesheet" href="/site.css">
 *    <h1>${error.status === 403 ? 'No access' : 'Sign-in failed'}</h1><p>${error.messageHtml}</p>`,
 * ```
 */
export type ErrorPage = (
  error: ErrorPageInfo,
  request: {
    readonly url: string;
    readonly method: string;
    readonly headers: { get(name: string): string | null };
  },
) => Response | string;

const CUSTOM_PAGE_CSP =
  "default-src 'self'; script-src 'none'; object-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The app's page for `mapping`, as a `Response` with mutable headers. */
export function customErrorPage(result: Response | string, mapping: ErrorMapping): Response {
  if (typeof result === 'string') {
    const headers = new Headers({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': CUSTOM_PAGE_CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    withRetryAfter(headers, mapping.retryAfter);
    return new Response(result, { status: mapping.status, headers });
  }
  if (!(result instanceof Response)) {
    throw new TypeError('errorPage must return a string of HTML or a Response');
  }
  // A copy: the callback adds headers, and a Response's own may be immutable (Response.redirect).
  const copy = new Response(result.body, result);
  if (!copy.headers.has('cache-control')) copy.headers.set('cache-control', 'no-store');
  return copy;
}

/** True when the client prefers an HTML page (a browser navigation) over JSON. */
export function wantsHtml(request: { headers: { get(name: string): string | null } }): boolean {
  const accept = request.headers.get('accept') ?? '';
  if (accept.includes('application/json')) return false;
  return accept.includes('text/html') || request.headers.get('sec-fetch-mode') === 'navigate';
}
