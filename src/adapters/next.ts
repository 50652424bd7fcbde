/**
 * `vmpro-connect/next`: Next.js App Router (route handlers, server components, server actions).
 * Node.js runtime only — everything here touches tokens and session stores; for the Edge
 * runtime (middleware) use `vmpro-connect/next/middleware`, which only checks for the cookie.
 *
 * Next.js evaluates a module once per layer (route handlers, server components, server actions
 * may each get their own copy of `lib/vmpro.ts`), so the instance is kept on `globalThis` under a
 * `Symbol.for` key: every copy uses the same sessions, refresher and logout list. It is built on
 * the first request, not at import, so `next build` needs no secrets.
 *
 * @example
 * ```ts
 * // lib/vmpro.ts
 * import { vmproNext } from 'vmpro-connect/next';
 * export const vmpro = vmproNext(() => ({
 *   clientId: process.env.VMPRO_CLIENT_ID!,
 *   clientSecret: process.env.VMPRO_CLIENT_SECRET,
 *   redirectUri: process.env.VMPRO_REDIRECT_URI!,
 *   session: { secrets: process.env.VMPRO_SESSION_SECRET! },
 * }));
 *
 * // app/auth/[...vmpro]/route.ts
 * export const { GET, POST } = vmpro.handlers;
 *
 * // app/videos/page.tsx
 * const { user, api } = await vmpro.requireLogin();
 * ```
 */
import type { VmproApiClient } from '../api/index.js';
import { isVmproError, VmproError } from '../errors.js';
import { createVmproAuth, type VmproAuth, type VmproAuthOptions, type VmproContext } from '../http/index.js';
import { type ErrorMapping, htmlError, jsonError, mapError, NO_STORE, wantsHtml } from '../http/responses.js';
import { safeReturnTo } from '../http/return-to.js';
import { errorsToStderr } from '../logger.js';
import type { TokenSet } from '../oidc/types.js';
import type { SessionRecord, SessionUser } from '../session/index.js';
import { encodeDigest, REFRESH_DEFERRED_COOKIE, RETURN_TO_HEADER } from './next-shared.js';

export type { VmproAuth, VmproAuthOptions } from '../http/index.js';

/** The logged-in user's session, as `auth()`, `requireLogin()` and `route()` hand it out. */
export interface VmproNextSession {
  /** The user (from the ID token): `sub`, `name`, `email`, `preferred_username`. */
  readonly user: SessionUser;
  /** When the access token expires (it is refreshed before that), or `null` when unknown. */
  readonly accessTokenExpiresAt: Date | null;
  /** When the refresh token expires (the login ends then unless refreshed), or `null`. */
  readonly refreshTokenExpiresAt: Date | null;
  /** The VideoManager Pro API as this user; tokens are refreshed as needed. */
  readonly api: VmproApiClient;
  /** `fetch` to the VideoManager Pro API with the user's bearer token (`path` like `/v1/vms`). */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** A valid access token (refreshed when needed), for your own API clients. */
  getAccessToken(): Promise<string>;
}

/** What `vmproNext`'s factory returns: options for `createVmproAuth`, or an instance you built. */
export type VmproNextSource = VmproAuthOptions | VmproAuth;

/** Options of {@link vmproNext}. */
export interface VmproNextOptions {
  /**
   * Names the instance on `globalThis` when one app has several (default `'default'`). Copies of
   * your module in Next's layers share the instance of the same name and client.
   */
  name?: string | undefined;
  /**
   * The route (inside your catch-all) that refreshes an encrypted-cookie session for a server
   * component, which cannot set cookies itself. Default: the login route's folder + `/refresh`
   * (`/auth/refresh`).
   */
  refreshPath?: string | undefined;
  /** Next.js's request APIs; for tests (default: `next/headers` and `next/navigation`). */
  runtime?: NextRuntime | undefined;
}

/** The little of Next.js's request APIs this adapter uses (`next/headers`, `next/navigation`). */
export interface NextRuntime {
  cookies(): Promise<NextCookieStore> | NextCookieStore;
  headers(): Promise<{ get(name: string): string | null }> | { get(name: string): string | null };
  /** Throws Next's redirect (never returns). */
  redirect(url: string): never;
}

/** The part of Next's `cookies()` store this adapter uses. */
export interface NextCookieStore {
  getAll(): Array<{ name: string; value: string }>;
  set(cookie: NextCookie): unknown;
  delete(name: string): unknown;
}

/** A cookie as Next's `cookies().set()` takes it. */
export interface NextCookie {
  name: string;
  value: string;
  path: string;
  httpOnly: boolean;
  secure: boolean;
  sameSite: 'lax' | 'strict' | 'none';
  maxAge?: number;
  expires?: Date;
}

/** A route handler wrapped by {@link VmproNext.route}. */
export type VmproRouteHandler<C> = (
  request: Request,
  session: VmproNextSession | null,
  context: C,
) => Response | Promise<Response>;

/** What `vmproNext` returns. Every method builds the instance on first use. */
export interface VmproNext {
  /**
   * The auth routes for ONE catch-all route handler, `app/auth/[...vmpro]/route.ts`:
   * `export const { GET, POST } = vmpro.handlers`. GET: login, callback, refresh; POST: logout,
   * back-channel logout, and callbacks sent as a form.
   */
  readonly handlers: {
    GET(request: Request): Promise<Response>;
    POST(request: Request): Promise<Response>;
  };
  /**
   * The session, or `null`. For server components, route handlers and server actions (reads the
   * request through `next/headers`).
   */
  auth(): Promise<VmproNextSession | null>;
  /**
   * The session; without one, a redirect to login (pages and server actions, back to `returnTo`
   * — default: the path the middleware forwarded, else `/`) or a `VMPRO_NOT_AUTHENTICATED` error
   * (401) for other requests.
   */
  requireLogin(options?: { returnTo?: string | undefined }): Promise<VmproNextSession>;
  /**
   * Wraps a route handler: it gets the session (or `null`); with `requireLogin: true` it is not
   * called without one (redirect to login for pages, `401` JSON for API calls). vmpro-connect
   * errors become the right status with a clear message instead of Next's generic 500.
   */
  route<C = unknown>(
    handler: VmproRouteHandler<C>,
    options?: { requireLogin?: boolean | undefined },
  ): (request: Request, context: C) => Promise<Response>;
  /** The framework-neutral instance (built now if it was not yet). */
  instance(): VmproAuth;
}

const REGISTRY = Symbol.for('vmpro-connect.next.instances');
const PROBE_COOKIE = 'vmpro-probe';
const DEFERRED_SEC = 15;

interface Built {
  auth: VmproAuth;
  /** True when sessions live in the browser's cookie (or we cannot tell): a server component cannot persist a refresh. */
  cookieSessions: boolean;
  marginMs: number;
  now: () => number;
}

function registry(): Map<string, Built> {
  const scope = globalThis as unknown as Record<symbol, Map<string, Built> | undefined>;
  let map = scope[REGISTRY];
  if (!map) {
    map = new Map();
    scope[REGISTRY] = map;
  }
  return map;
}

function isVmproAuth(value: unknown): value is VmproAuth {
  const v = value as Partial<VmproAuth> | null;
  return (
    typeof v === 'object' && v !== null && typeof v.handle === 'function' && typeof v.context === 'function'
  );
}

/** Parses one of our own `Set-Cookie` values (serializeSetCookie's format) into Next's cookie shape. */
export function parseSetCookie(setCookie: string): NextCookie {
  const [pair = '', ...attributes] = setCookie.split('; ');
  const eq = pair.indexOf('=');
  const cookie: NextCookie = {
    name: pair.slice(0, eq),
    value: pair.slice(eq + 1),
    path: '/',
    httpOnly: false,
    secure: false,
    sameSite: 'lax',
  };
  for (const attribute of attributes) {
    const [key = '', value = ''] = attribute.split('=');
    switch (key.toLowerCase()) {
      case 'path':
        cookie.path = value;
        break;
      case 'max-age':
        cookie.maxAge = Number(value);
        break;
      case 'expires':
        cookie.expires = new Date(value);
        break;
      case 'httponly':
        cookie.httpOnly = true;
        break;
      case 'secure':
        cookie.secure = true;
        break;
      case 'samesite':
        cookie.sameSite = value.toLowerCase() as NextCookie['sameSite'];
        break;
    }
  }
  return cookie;
}

/** Stamps a vmpro-connect error with a digest `error.tsx` can read (Next keeps an error's own digest). */
function forNext(error: unknown): unknown {
  if (!isVmproError(error) || typeof (error as { digest?: unknown }).digest === 'string') return error;
  const mapping = mapError(error);
  Object.defineProperty(error, 'digest', {
    value: encodeDigest({
      code: mapping.code,
      status: mapping.status,
      message: mapping.message,
      retryAfter: mapping.retryAfter,
    }),
    configurable: true,
  });
  return error;
}

/** Next's control-flow throws (redirect, notFound, dynamic-usage bail-outs): never ours to handle. */
function isNextSignal(error: unknown): boolean {
  const digest = (error as { digest?: unknown } | null)?.digest;
  return typeof digest === 'string' && !digest.startsWith('VMPRO;');
}

function refreshDue(record: SessionRecord, built: Built): boolean {
  const { accessTokenExpiresAt: exp, receivedAt } = record.tokens;
  if (exp === null) return false;
  const margin = Math.min(built.marginMs, Math.max(0, (exp - receivedAt) / 2));
  return exp - built.now() <= margin;
}

function appendCookies(response: Response, cookies: string[]): Response {
  if (cookies.length === 0) return response;
  let out = response;
  try {
    for (const c of cookies) out.headers.append('set-cookie', c);
  } catch {
    out = new Response(response.body, response);
    for (const c of cookies) out.headers.append('set-cookie', c);
  }
  for (const [k, v] of Object.entries(NO_STORE)) out.headers.set(k, v);
  return out;
}

/** The answer when the instance could not even be built (a configuration error): its message, never a secret. */
function buildFailure(request: Request, error: unknown): Response {
  const mapping: ErrorMapping = isVmproError(error)
    ? mapError(error)
    : {
        ...mapError(error),
        message: 'vmpro-connect could not be set up; the details are in the server log.',
      };
  // No logger exists yet (the options function is what failed), so the library's default one.
  if (!isVmproError(error)) {
    errorsToStderr.error('vmpro-connect: the Next.js adapter could not be set up', {
      ...(error instanceof Error
        ? { error: error.name, message: error.message, stack: error.stack }
        : { error: typeof error }),
    });
  }
  return wantsHtml(request) ? htmlError(mapping, '/') : jsonError(mapping);
}

let defaultRuntime: Promise<NextRuntime> | undefined;
function loadNextRuntime(): Promise<NextRuntime> {
  // Loaded on first use: importing this module needs no Next.js (tests, tools, `node -e`).
  defaultRuntime ??= Promise.all([import('next/headers'), import('next/navigation')]).then(([h, n]) => ({
    cookies: h.cookies as unknown as NextRuntime['cookies'],
    headers: h.headers as unknown as NextRuntime['headers'],
    redirect: n.redirect as unknown as NextRuntime['redirect'],
  }));
  return defaultRuntime;
}

/**
 * Creates the Next.js adapter. `source` is called on first use (never at import, so `next build`
 * runs without secrets) and returns the options of `createVmproAuth` or an instance.
 *
 * Sessions in a server-side store (memory, Redis, PostgreSQL) work everywhere: the cookie holds
 * only an id, so a refresh in a server component (which cannot set cookies) is saved in the store.
 * With `cookieStore()` the session is the cookie: a server component whose tokens are due for a
 * refresh is sent once through the refresh route (`/auth/refresh`), which refreshes and sets the
 * cookie, and back.
 *
 * @example
 * ```ts
 * export const vmpro = vmproNext(() => ({
 *   clientId: process.env.VMPRO_CLIENT_ID!,
 *   clientSecret: process.env.VMPRO_CLIENT_SECRET,
 *   redirectUri: process.env.VMPRO_REDIRECT_URI!,
 *   session: { secrets: process.env.VMPRO_SESSION_SECRET! },
 * }));
 * ```
 */
export function vmproNext(source: () => VmproNextSource, options: VmproNextOptions = {}): VmproNext {
  if (typeof source !== 'function') {
    throw new TypeError(
      'vmpro-connect: vmproNext() takes a function that returns the options, e.g. vmproNext(() => ({ clientId: process.env.VMPRO_CLIENT_ID!, ... })), so that nothing is built at import.',
    );
  }
  const name = options.name ?? 'default';
  let built: Built | undefined;

  function build(): Built {
    if (built) return built;
    const made = source();
    const registered = registry();
    if (isVmproAuth(made)) {
      const key = `${name}\n${made.options.clientId}\n${made.options.redirectUri}`;
      const existing = registered.get(key);
      if (existing) {
        // Another copy of the app's module built one first: use it, and release this one's resources.
        if (existing.auth !== made) void made.close();
        built = existing;
      } else {
        built = { auth: made, cookieSessions: true, marginMs: 30_000, now: Date.now };
        registered.set(key, built);
      }
      return built;
    }
    const key = `${name}\n${made?.clientId}\n${made?.redirectUri}`;
    const existing = registered.get(key);
    if (existing) {
      built = existing;
      return built;
    }
    const auth = createVmproAuth(made);
    const store = made.session.store as { kind?: unknown } | undefined;
    built = {
      auth,
      cookieSessions: store?.kind === 'cookie',
      marginMs: (made.session.refreshMarginSec ?? 30) * 1000,
      now: made.now ?? Date.now,
    };
    registered.set(key, built);
    return built;
  }

  const runtime = (): Promise<NextRuntime> =>
    options.runtime ? Promise.resolve(options.runtime) : loadNextRuntime();

  function refreshPath(auth: VmproAuth): string {
    if (options.refreshPath) return options.refreshPath;
    const login = auth.options.routes.login;
    return `${login.slice(0, login.lastIndexOf('/'))}/refresh`;
  }

  function sessionOf(ctx: VmproContext, record: SessionRecord, api: VmproApiClient): VmproNextSession {
    const { accessTokenExpiresAt: a, refreshTokenExpiresAt: r } = record.tokens;
    return Object.freeze({
      user: { ...record.user },
      accessTokenExpiresAt: a === null ? null : new Date(a),
      refreshTokenExpiresAt: r === null ? null : new Date(r),
      api,
      fetch: (path: string, init?: RequestInit) => ctx.fetch(path, init),
      getAccessToken: () => ctx.tokenSource.getAccessToken(),
    });
  }

  /** A `GET` of the refresh route: refreshes an encrypted-cookie session (a route handler can set the cookie) and goes back. */
  async function refreshRoute(request: Request, auth: VmproAuth, b: Built): Promise<Response> {
    const cookies: string[] = [];
    const ctx = auth.context(request, (c) => cookies.push(c));
    const back = safeReturnTo(new URL(request.url).searchParams.get('returnTo'));
    try {
      const record = await ctx.session();
      if (record && refreshDue(record, b)) {
        let tokens: TokenSet | undefined;
        try {
          tokens = await ctx.tokens({ forceRefresh: true });
        } catch (error) {
          if (!isVmproError(error, 'VMPRO_REFRESH_EXPIRED')) throw error;
        }
        if (tokens && tokens.accessToken === record.tokens.accessToken) {
          // The login server could not refresh right now but the token still works: let pages
          // use it for a moment instead of coming back here in a loop.
          cookies.push(
            `${REFRESH_DEFERRED_COOKIE}=1; Path=/; Max-Age=${DEFERRED_SEC}; HttpOnly; SameSite=Lax`,
          );
        }
      }
      return appendCookies(
        new Response(null, { status: 303, headers: { location: back, ...NO_STORE } }),
        cookies,
      );
    } catch (error) {
      return appendCookies(auth.errorResponse(request, error), cookies);
    }
  }

  async function answer(request: Request): Promise<Response> {
    let b: Built;
    try {
      b = build();
    } catch (error) {
      return buildFailure(request, error);
    }
    const { auth } = b;
    if (request.method === 'GET' && new URL(request.url).pathname === refreshPath(auth))
      return refreshRoute(request, auth, b);
    return (
      (await auth.handle(request)) ??
      jsonError({
        status: 404,
        code: 'VMPRO_NOT_FOUND',
        message: `No such vmpro-connect route. The routes are ${Object.values(auth.options.routes).join(', ')} and ${refreshPath(auth)}.`,
        retryAfter: undefined,
      })
    );
  }

  interface PageContext {
    b: Built;
    ctx: VmproContext;
    cookies: NextCookieStore;
    returnTo: string;
    isPage: boolean;
    rt: NextRuntime;
  }
  /** One context per request (layout and page share it): keyed by Next's cookie store of the request. */
  const perRequest = new WeakMap<object, PageContext>();

  async function pageContext(): Promise<PageContext> {
    const rt = await runtime();
    // Request data first: while `next build` prerenders, this is what marks the page dynamic,
    // before anything is built (the build has no secrets).
    const [cookies, headers] = await Promise.all([rt.cookies(), rt.headers()]);
    const b = build();
    const known = perRequest.get(cookies);
    if (known) return known;
    const cookieHeader = cookies
      .getAll()
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    const returnTo = safeReturnTo(headers.get(RETURN_TO_HEADER));
    const isPage =
      headers.get('next-action') !== null || headers.get('rsc') !== null || wantsHtml({ headers });
    const request = {
      url: b.auth.options.appOrigin + returnTo,
      method: headers.get('next-action') !== null ? 'POST' : 'GET',
      headers: { get: (n: string) => (n.toLowerCase() === 'cookie' ? cookieHeader : headers.get(n)) },
    };
    let writable = true;
    const ctx = b.auth.context(request, (setCookie) => {
      if (!writable) return;
      try {
        cookies.set(parseSetCookie(setCookie));
      } catch {
        // A server component: Next refuses cookie writes. With a server-side store the cookie
        // (an id) needs no change; with the cookie store `auth()` took the refresh route first.
        writable = false;
      }
    });
    const page: PageContext = { b, ctx, cookies, returnTo, isPage, rt };
    perRequest.set(cookies, page);
    return page;
  }

  function loginUrl(auth: VmproAuth, returnTo: string): string {
    return `${auth.options.routes.login}?returnTo=${encodeURIComponent(safeReturnTo(returnTo))}`;
  }

  /** The API client, with its errors stamped for `error.tsx` and an ended login turned into a redirect to login on pages. */
  function pageApi(page: PageContext): VmproApiClient {
    const onError = (error: unknown): never => {
      if (
        page.isPage &&
        (isVmproError(error, 'VMPRO_REFRESH_EXPIRED') || isVmproError(error, 'VMPRO_NOT_AUTHENTICATED'))
      ) {
        page.rt.redirect(loginUrl(page.b.auth, page.returnTo));
      }
      throw forNext(error);
    };
    // A proxy over an empty object (the client and its resources are frozen, and a proxy may not
    // change what a frozen target's properties answer).
    const wrap = <T extends object>(target: T): T => {
      const children = new Map<PropertyKey, unknown>();
      return new Proxy({} as T, {
        get(_shadow, key) {
          if (children.has(key)) return children.get(key);
          const value = Reflect.get(target, key, target) as unknown;
          let out: unknown = value;
          if (typeof value === 'function') {
            out = (...args: unknown[]) => {
              const result = (value as (...a: unknown[]) => unknown).apply(target, args);
              return result instanceof Promise ? result.catch(onError) : result;
            };
          } else if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
            out = wrap(value as object);
          }
          children.set(key, out);
          return out;
        },
        has: (_shadow, key) => Reflect.has(target, key),
      });
    };
    return wrap(page.ctx.api);
  }

  async function auth(): Promise<VmproNextSession | null> {
    try {
      const page = await pageContext();
      const record = await page.ctx.session();
      if (!record) return null;
      if (page.b.cookieSessions && refreshDue(record, page.b) && !deferred(page.cookies)) {
        if (!probeWritable(page.cookies)) {
          page.rt.redirect(`${refreshPath(page.b.auth)}?returnTo=${encodeURIComponent(page.returnTo)}`);
        }
        // A route handler or server action: refresh now, while the response can still take the
        // cookie (a refresh in the background would finish after it has gone).
        const tokens = await page.ctx.tokens({ forceRefresh: true });
        return sessionOf(page.ctx, { ...record, tokens }, pageApi(page));
      }
      return sessionOf(page.ctx, record, pageApi(page));
    } catch (error) {
      throw forNext(error);
    }
  }

  async function requireLogin(opts: { returnTo?: string | undefined } = {}): Promise<VmproNextSession> {
    const session = await auth();
    if (session) return session;
    const page = await pageContext();
    if (page.isPage) page.rt.redirect(loginUrl(page.b.auth, opts.returnTo ?? page.returnTo));
    throw forNext(
      new VmproError(
        'VMPRO_NOT_AUTHENTICATED',
        `Not signed in, or the sign-in has ended. Sign in at ${page.b.auth.options.routes.login}.`,
      ),
    );
  }

  function route<C = unknown>(
    handler: VmproRouteHandler<C>,
    routeOptions: { requireLogin?: boolean | undefined } = {},
  ): (request: Request, context: C) => Promise<Response> {
    return async function vmproRoute(request: Request, context: C): Promise<Response> {
      let b: Built;
      try {
        b = build();
      } catch (error) {
        return buildFailure(request, error);
      }
      const cookies: string[] = [];
      const ctx = b.auth.context(request, (c) => cookies.push(c));
      try {
        const record = await ctx.session();
        if (!record && routeOptions.requireLogin)
          return appendCookies(b.auth.unauthenticated(request), cookies);
        const session = record ? sessionOf(ctx, record, ctx.api) : null;
        return appendCookies(await handler(request, session, context), cookies);
      } catch (error) {
        if (isNextSignal(error)) throw error;
        return appendCookies(b.auth.errorResponse(request, error), cookies);
      }
    };
  }

  return Object.freeze({
    handlers: Object.freeze({ GET: answer, POST: answer }),
    auth,
    requireLogin,
    route,
    instance: () => build().auth,
  });
}

function deferred(cookies: NextCookieStore): boolean {
  return cookies.getAll().some((c) => c.name === REFRESH_DEFERRED_COOKIE);
}

/**
 * True when this request may set cookies (route handler, server action). Next offers no way to
 * ask, so this deletes a cookie that does not exist: a server component refuses (throws), a route
 * handler or server action adds a harmless expired `vmpro-probe` cookie to its response.
 */
function probeWritable(cookies: NextCookieStore): boolean {
  try {
    cookies.delete(PROBE_COOKIE);
    return true;
  } catch {
    return false;
  }
}
