/**
 * What every auth handler shares: the dependencies they are built from, cookie collection for
 * the responses they build themselves, redirects, same-origin checks and form reading.
 */

import { VmproError, type VmproErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import type { OidcClient } from '../oidc/index.js';
import type { Emit } from '../session/events.js';
import type { CookieJar, SessionManager } from '../session/index.js';
import type { ResolvedAuthOptions } from './config.js';
import { createCookieJar } from './cookies.js';
import type { VmproEvent } from './events.js';
import type { AfterLoginHook } from './hooks.js';
import { NO_STORE } from './responses.js';

/**
 * The little of a request that session lookups and the unauthenticated / error answers read.
 * A Web `Request` fits; adapters pass a cheaper object over their framework's request so that a
 * session lookup never builds a whole `Request`.
 */
export interface RequestLike {
  readonly url: string;
  readonly method: string;
  readonly headers: { get(name: string): string | null };
}

/** What the handlers are built from (one set per `createVmproAuth`). */
export interface HandlerDeps {
  readonly options: ResolvedAuthOptions;
  readonly sessions: SessionManager;
  /** The protocol client (discovered on first use, retried after a failure). */
  oidc(): Promise<OidcClient>;
  /** Maps any error to the response a user should see. */
  errorResponse(request: RequestLike, error: unknown, where?: 'callback' | 'other'): Response;
  readonly logger: Logger;
  readonly now: () => number;
  /** Sends an event to the app's `onEvent` (never throws, never waits). */
  readonly emit: Emit<VmproEvent>;
  readonly afterLogin: AfterLoginHook | undefined;
  /** The app's `fetch` (for the API client `afterLogin` gets). */
  readonly fetch: typeof fetch | undefined;
}

/** Collects Set-Cookie values for a response a handler builds itself. */
export function collector(request: Request): { jar: CookieJar; finish(response: Response): Response } {
  const cookies: string[] = [];
  const jar = createCookieJar(request.headers.get('cookie'), (c) => cookies.push(c));
  return {
    jar,
    finish(response) {
      for (const c of cookies) response.headers.append('set-cookie', c);
      if (cookies.length > 0) for (const [k, v] of Object.entries(NO_STORE)) response.headers.set(k, v);
      return response;
    },
  };
}

export function redirect(location: string, extra?: Record<string, string>): Response {
  return new Response(null, { status: 303, headers: { location, ...NO_STORE, ...extra } });
}

export function methodNotAllowed(allow: string): Response {
  return new Response(
    JSON.stringify({
      error: 'VMPRO_METHOD_NOT_ALLOWED' satisfies VmproErrorCode,
      message: `Use ${allow} for this route.`,
    }),
    { status: 405, headers: { allow, 'content-type': 'application/json', ...NO_STORE } },
  );
}

/**
 * Same-origin check for state-changing requests: Fetch Metadata, then `Origin`, then `Referer`.
 * Throws `VMPRO_CROSS_SITE_REQUEST`.
 */
export function checkSameOrigin(request: Request, appOrigin: string): void {
  const site = request.headers.get('sec-fetch-site');
  if (site !== null) {
    if (site === 'same-origin' || site === 'none') return;
    throw crossSite(`Sec-Fetch-Site: ${site}`);
  }
  const origin = request.headers.get('origin');
  if (origin !== null) {
    if (origin === appOrigin) return;
    throw crossSite('a foreign Origin header');
  }
  const referer = request.headers.get('referer');
  if (referer) {
    try {
      if (new URL(referer).origin === appOrigin) return;
    } catch {
      // falls through to the refusal
    }
  }
  throw crossSite('no Origin, Referer or Sec-Fetch-Site header');
}

function crossSite(why: string): VmproError {
  return new VmproError(
    'VMPRO_CROSS_SITE_REQUEST',
    `This request did not come from a page of this app (${why}), so it was refused to protect you from cross-site request forgery. Use the app's own button.`,
  );
}

const MAX_FORM_BYTES = 64 * 1024;

/** Reads an `application/x-www-form-urlencoded` body of at most 64 KB; else `VMPRO_CALLBACK_INVALID`. */
export async function readForm(request: Request): Promise<URLSearchParams> {
  const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new VmproError(
      'VMPRO_CALLBACK_INVALID',
      `Expected a form (application/x-www-form-urlencoded), got ${type || 'no content type'}.`,
    );
  }
  const length = Number(request.headers.get('content-length') ?? '0');
  if (length > MAX_FORM_BYTES) throw new VmproError('VMPRO_CALLBACK_INVALID', 'The form is too large.');
  const text = await request.text();
  if (text.length > MAX_FORM_BYTES) throw new VmproError('VMPRO_CALLBACK_INVALID', 'The form is too large.');
  return new URLSearchParams(text);
}

/** The path of an absolute URL string, without parsing the whole URL (every request asks). */
export function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start < 0) return '/';
  let end = url.length;
  const q = url.indexOf('?', start);
  if (q >= 0) end = q;
  const h = url.indexOf('#', start);
  if (h >= 0 && h < end) end = h;
  return url.slice(start, end);
}
