/**
 * `vmpro-connect/next/middleware`: a guard for Next.js middleware (`middleware.ts`, Edge runtime)
 * or proxy (`proxy.ts`, Node runtime in Next.js 16). It looks only at whether the session cookie
 * is present — no store, no tokens, no `node:crypto` — so it runs on the Edge runtime; the page,
 * route handler or server action behind it still checks the session itself with `auth()` or
 * `requireLogin()` from `vmpro-connect/next` (a cookie's presence proves nothing: it may be a
 * copy of a logged-out one).
 *
 * @example
 * ```ts
 * // middleware.ts (or proxy.ts with `export const proxy = ...` in Next.js 16)
 * import { vmproMiddleware } from 'vmpro-connect/next/middleware';
 *
 * export const middleware = vmproMiddleware({ protect: ['/videos/:path*'] });
 * export const config = { matcher: ['/((?!_next/|favicon.ico|auth/).*)'] };
 * ```
 */
import { safeReturnTo } from '../http/return-to.js';
import { RETURN_TO_HEADER } from './next-shared.js';

/** Options of {@link vmproMiddleware}. */
export interface VmproMiddlewareOptions {
  /**
   * Paths that need a session cookie, in Next's matcher syntax: `/videos` (exactly), `/videos/:id`
   * (one segment), `/videos/:path*` (`/videos` and everything below), `/videos/:path+` (below only).
   */
  protect: readonly string[];
  /** The login route of your catch-all (default `/auth/login`). */
  loginPath?: string | undefined;
  /**
   * The session cookie's name (default: `__Host-vmpro` or `vmpro`, the names vmpro-connect uses
   * on https and plain-http loopback). Chunked cookies (`name.0`, `name.1`…) count too.
   */
  cookieName?: string | readonly string[] | undefined;
  /**
   * The app's public origin, for the redirect's absolute URL (Next requires absolute URLs in
   * middleware). Default: the origin of the request's URL. Set it behind a proxy that rewrites
   * `Host`, e.g. `process.env.APP_ORIGIN`.
   */
  origin?: string | undefined;
}

/** The middleware: a redirect to login for a protected path without a session cookie; else the request goes on. */
export type VmproMiddleware = (request: Request) => Promise<Response | undefined>;

type Segment = { kind: 'literal'; value: string } | { kind: 'one' } | { kind: 'rest'; atLeastOne: boolean };

function invalid(problem: string): Error {
  // The same shape as configError's messages; this entry imports no error classes (Edge bundle size).
  return new TypeError(`vmpro-connect: \`protect\` ${problem}.`);
}

function compile(pattern: string): Segment[] {
  if (typeof pattern !== 'string' || !pattern.startsWith('/'))
    throw invalid(`entries must be paths starting with "/" (got ${JSON.stringify(pattern)})`);
  const parts = pattern.split('/').slice(1);
  if (parts.length === 1 && parts[0] === '') return [];
  return parts.map((part, i): Segment => {
    const match = /^:[A-Za-z_][A-Za-z0-9_]*([*+])?$/.exec(part);
    if (!match) {
      if (part.includes(':') || part.includes('*') || part.includes('(') || part === '')
        throw invalid(
          `entry ${JSON.stringify(pattern)} is not a supported pattern (use /a, /a/:id, /a/:path* or /a/:path+)`,
        );
      return { kind: 'literal', value: part };
    }
    if (!match[1]) return { kind: 'one' };
    if (i !== parts.length - 1) throw invalid(`entry ${JSON.stringify(pattern)} has ${part} before its end`);
    return { kind: 'rest', atLeastOne: match[1] === '+' };
  });
}

function matches(segments: Segment[], path: string): boolean {
  const parts = path === '/' ? [] : path.split('/').slice(1);
  if (parts.at(-1) === '') parts.pop();
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as Segment;
    if (segment.kind === 'rest') return parts.length - i >= (segment.atLeastOne ? 1 : 0);
    const part = parts[i];
    if (part === undefined) return false;
    if (segment.kind === 'literal' && segment.value !== part) return false;
  }
  return parts.length === segments.length;
}

function hasCookie(header: string | null, names: readonly string[]): boolean {
  if (!header) return false;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (!value) continue;
    for (const wanted of names) if (name === wanted || name === `${wanted}.0`) return true;
  }
  return false;
}

/** The little of `next/server` this entry uses, loaded on first use (so importing this module needs no Next.js). */
interface NextServerLike {
  NextResponse: { next(init: { request: { headers: Headers } }): Response };
}
let nextServer: Promise<NextServerLike> | undefined;

/**
 * Creates the middleware. Without the session cookie, a protected path gets a `307` to
 * `loginPath?returnTo=<path>` with an absolute `Location`; every other request goes on, with the
 * page's path in the `x-vmpro-return-to` request header (so `requireLogin()` in a server
 * component can send the user back to it after login).
 *
 * @example
 * ```ts
 * export const middleware = vmproMiddleware({
 *   protect: ['/videos/:path*', '/account'],
 *   origin: process.env.APP_ORIGIN,
 * });
 * ```
 */
export function vmproMiddleware(options: VmproMiddlewareOptions): VmproMiddleware {
  if (typeof options !== 'object' || options === null || !Array.isArray(options.protect))
    throw invalid('is required: a list of paths such as ["/videos/:path*"]');
  const patterns = options.protect.map(compile);
  const loginPath = options.loginPath ?? '/auth/login';
  if (!loginPath.startsWith('/') || loginPath.startsWith('//'))
    throw new TypeError('vmpro-connect: `loginPath` must be a path starting with a single "/".');
  const names =
    options.cookieName === undefined
      ? ['__Host-vmpro', 'vmpro']
      : typeof options.cookieName === 'string'
        ? [options.cookieName]
        : [...options.cookieName];
  let origin: string | undefined;
  if (options.origin !== undefined) {
    try {
      origin = new URL(options.origin).origin;
    } catch {
      throw new TypeError(
        `vmpro-connect: \`origin\` must be an absolute URL such as https://portal.example.com (got ${JSON.stringify(options.origin)}).`,
      );
    }
  }

  return async function vmproGuard(request: Request): Promise<Response | undefined> {
    const url = new URL(request.url);
    const returnTo = safeReturnTo(url.pathname + url.search);
    if (patterns.some((p) => matches(p, url.pathname)) && !hasCookie(request.headers.get('cookie'), names)) {
      const target = new URL(loginPath, origin ?? url.origin);
      target.searchParams.set('returnTo', returnTo);
      return new Response(null, {
        status: 307,
        headers: { location: target.href, 'cache-control': 'no-store' },
      });
    }
    nextServer ??= import('next/server') as unknown as Promise<NextServerLike>;
    const { NextResponse } = await nextServer;
    const headers = new Headers(request.headers);
    headers.set(RETURN_TO_HEADER, returnTo);
    return NextResponse.next({ request: { headers } });
  };
}
