import { createHash } from 'node:crypto';
import { createVmproApiClient, type VmproApiClient } from '../api/index.js';
import { isVmproError, VmproError } from '../errors.js';
import { type Logger, silentLogger } from '../logger.js';
import { createOidcClient, type OidcClient, relayPageHtml } from '../oidc/index.js';
import type { AuthTransaction, TokenSet } from '../oidc/types.js';
import {
  type CookieAttributes,
  type CookieJar,
  createSessionManager,
  type SessionManager,
  type SessionRecord,
  type SessionUser,
  sealJson,
  unsealJson,
} from '../session/index.js';
import type { TokenSource } from '../token-source.js';
import { type ResolvedAuthOptions, resolveAuthOptions, type VmproAuthOptions } from './config.js';
import { createCookieJar } from './cookies.js';
import { htmlError, htmlPage, jsonError, mapError, NO_STORE, wantsHtml } from './responses.js';
import { safeReturnTo } from './return-to.js';

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

/** Receives each `Set-Cookie` value a handler produces, as soon as it is produced. */
export type SetCookieSink = (setCookie: string) => void;

/**
 * Everything about the current request's login: the session (loaded once, lazily), fresh tokens
 * and a VideoManager Pro API client that refreshes them as needed.
 */
export interface VmproContext {
  /** The session, or `null` when the user is not logged in. Loaded once per request. */
  session(): Promise<SessionRecord | null>;
  /**
   * The session, synchronously, when the store holds it in this process (memory store, the
   * Redis store's local cache) and it needs no write now; `undefined` otherwise — then
   * `await session()`, which handles every case. `undefined` never means "logged out". For hot
   * routes that want to answer without an async step (see the README, "Hot routes").
   */
  cachedSession(): SessionRecord | undefined;
  /** The logged-in user, or `null`. */
  user(): Promise<SessionUser | null>;
  /** The session, or a `VMPRO_NOT_AUTHENTICATED` error. */
  requireSession(): Promise<SessionRecord>;
  /** Tokens with at least the refresh margin left, refreshed once per session when needed. */
  tokens(options?: { forceRefresh?: boolean; signal?: AbortSignal }): Promise<TokenSet>;
  /** A token source over this request's session, for your own API clients. */
  readonly tokenSource: TokenSource;
  /** The VideoManager Pro API as the logged-in user (created on first use). */
  readonly api: VmproApiClient;
  /**
   * `fetch` to the VideoManager Pro API with the user's bearer token. `path` is relative to the
   * API origin (`/v1/vms`); the token is never sent anywhere else.
   */
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

/** The auth handlers, framework-neutral, on Web `Request`/`Response`. */
export interface VmproAuth {
  readonly options: ResolvedAuthOptions;
  readonly sessions: SessionManager;
  /** Answers the auth routes (login, callback, logout, back-channel logout); `null` for any other path. */
  handle(request: Request): Promise<Response | null>;
  login(request: Request): Promise<Response>;
  callback(request: Request): Promise<Response>;
  logout(request: Request): Promise<Response>;
  backchannelLogout(request: Request): Promise<Response>;
  /** The per-request context; cookie changes go to `sink` (adapters put them on the response). */
  context(request: RequestLike, sink: SetCookieSink): VmproContext;
  /** True when `request` goes to one of the auth routes (a cheap check, no URL parsing). */
  isAuthRoute(request: RequestLike): boolean;
  /** What a protected route answers without a session: a redirect to login for pages, `401` JSON for API calls. */
  unauthenticated(request: RequestLike): Response;
  /** Maps any error to the response a user should see (typed code, human message, right status). */
  errorResponse(request: RequestLike, error: unknown): Response;
  /** The protocol client (discovered on first use, retried after a failure). */
  oidc(): Promise<OidcClient>;
  close(): Promise<void>;
}

const TX_PURPOSE = 'transaction';
const MAX_FORM_BYTES = 64 * 1024;
const DISCOVERY_RETRY_MS = 5_000;

/**
 * Creates the auth handlers. Discovery happens on first use, not here, so an app starts even
 * while the login server is unreachable (its login routes answer `503` until it is back).
 *
 * @example
 * ```ts
 * const auth = createVmproAuth({
 *   clientId: process.env.VMPRO_CLIENT_ID!,
 *   clientSecret: process.env.VMPRO_CLIENT_SECRET,
 *   redirectUri: 'https://portal.example.com/auth/callback',
 *   session: { secrets: process.env.VMPRO_SESSION_SECRET! },
 * });
 * ```
 */
export function createVmproAuth(input: VmproAuthOptions): VmproAuth {
  const options = resolveAuthOptions(input);
  const logger: Logger = input.logger ?? silentLogger;
  const now = input.now ?? Date.now;

  let clientPromise: Promise<OidcClient> | undefined = input.oidcClient
    ? Promise.resolve(input.oidcClient)
    : undefined;
  let lastFailure = 0;
  function oidc(): Promise<OidcClient> {
    if (clientPromise) return clientPromise;
    if (lastFailure && now() - lastFailure < DISCOVERY_RETRY_MS) {
      return Promise.reject(
        new VmproError(
          'VMPRO_DISCOVERY_FAILED',
          'The login server could not be reached a moment ago; retrying shortly.',
          { retryable: true, retryAfter: Math.ceil(DISCOVERY_RETRY_MS / 1000) },
        ),
      );
    }
    const pending = createOidcClient({
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      clientAuthMethod: options.clientAuthMethod,
      apiBase: options.apiBase,
      issuer: options.issuer,
      redirectUri: options.redirectUri,
      scopes: [...options.scopes],
      fetch: input.fetch,
      timeoutMs: input.timeoutMs,
      clockToleranceSec: input.clockToleranceSec,
      transactionMaxAgeSec: options.transactionMaxAgeSec,
      now,
      logger,
    });
    clientPromise = pending;
    pending.catch((error: unknown) => {
      if (clientPromise === pending) clientPromise = undefined;
      lastFailure = now();
      logger.error('vmpro-connect: discovery failed', { code: isVmproError(error) ? error.code : 'unknown' });
    });
    return pending;
  }

  const sessions = createSessionManager({
    store: input.session.store,
    secrets: [...options.secrets],
    secure: options.secure,
    refresh: async (tokens, opts) => (await oidc()).refresh(tokens, opts),
    refreshMarginSec: input.session.refreshMarginSec,
    idleTimeoutSec: input.session.idleTimeoutSec,
    absoluteTimeoutSec: input.session.absoluteTimeoutSec,
    now,
    logger,
  });

  const txAttributes: CookieAttributes = {
    httpOnly: true,
    secure: options.secure,
    sameSite: 'Lax',
    path: '/',
    maxAge: options.transactionMaxAgeSec,
  };
  const txPrefix = `${sessions.cookieName}-tx-`;
  const txCookieName = (state: string) =>
    txPrefix + createHash('sha256').update(state).digest('base64url').slice(0, 16);

  const seenLogoutTokens = new Map<string, number>();
  function rememberJti(key: string, until: number): boolean {
    const t = now();
    for (const [k, exp] of seenLogoutTokens) if (exp < t) seenLogoutTokens.delete(k);
    if (seenLogoutTokens.has(key)) return false;
    if (seenLogoutTokens.size > 10_000)
      seenLogoutTokens.delete(seenLogoutTokens.keys().next().value as string);
    seenLogoutTokens.set(key, until);
    return true;
  }

  /** Collects Set-Cookie values for a response this module builds itself. */
  function collector(request: Request): { jar: CookieJar; finish(response: Response): Response } {
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

  function errorResponse(
    request: RequestLike,
    error: unknown,
    where: 'callback' | 'other' = 'other',
  ): Response {
    const mapping = mapError(error, where);
    if (mapping.status >= 500) {
      logger.error('vmpro-connect: request failed', {
        code: mapping.code,
        status: mapping.status,
        path: pathOf(request.url),
        error: isVmproError(error) ? undefined : String((error as Error)?.name ?? error),
      });
    } else {
      logger.info('vmpro-connect: request refused', { code: mapping.code, status: mapping.status });
    }
    const loginPath = options.routes.login;
    return where === 'callback' || wantsHtml(request) ? htmlError(mapping, loginPath) : jsonError(mapping);
  }

  function redirect(location: string, extra?: Record<string, string>): Response {
    return new Response(null, { status: 303, headers: { location, ...NO_STORE, ...extra } });
  }

  /** Same-origin check for state-changing requests (Fetch Metadata, then Origin, then Referer). */
  function checkSameOrigin(request: Request): void {
    const site = request.headers.get('sec-fetch-site');
    if (site !== null) {
      if (site === 'same-origin' || site === 'none') return;
      throw crossSite(`Sec-Fetch-Site: ${site}`);
    }
    const origin = request.headers.get('origin');
    if (origin !== null) {
      if (origin === options.appOrigin) return;
      throw crossSite('a foreign Origin header');
    }
    const referer = request.headers.get('referer');
    if (referer) {
      try {
        if (new URL(referer).origin === options.appOrigin) return;
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

  async function readForm(request: Request): Promise<URLSearchParams> {
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
    if (text.length > MAX_FORM_BYTES)
      throw new VmproError('VMPRO_CALLBACK_INVALID', 'The form is too large.');
    return new URLSearchParams(text);
  }

  async function login(request: Request): Promise<Response> {
    const { jar, finish } = collector(request);
    try {
      if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed('GET');
      const url = new URL(request.url);
      const returnTo = safeReturnTo(url.searchParams.get('returnTo'));
      const client = await oidc();
      const { url: authorizationUrl, transaction } = await client.createAuthorizationRequest({ returnTo });
      const sealed = await sealJson([...options.secrets], transaction, {
        maxAgeSec: options.transactionMaxAgeSec,
        purpose: TX_PURPOSE,
        now,
      });
      jar.set(txCookieName(transaction.state), sealed, txAttributes);
      return finish(redirect(authorizationUrl.href));
    } catch (error) {
      return finish(errorResponse(request, error));
    }
  }

  async function callback(request: Request): Promise<Response> {
    const { jar, finish } = collector(request);
    const headers = { 'referrer-policy': 'no-referrer' };
    try {
      let params: URLSearchParams;
      if (request.method === 'GET' || request.method === 'HEAD') {
        params = new URL(request.url).searchParams;
        if ([...params.keys()].length === 0) return relayPage();
      } else if (request.method === 'POST') {
        checkSameOrigin(request);
        params = await readForm(request);
      } else {
        return methodNotAllowed('GET, POST');
      }
      const states = params.getAll('state');
      if (states.length !== 1 || !states[0]) {
        throw new VmproError(
          'VMPRO_TRANSACTION_MISSING',
          'The sign-in answer carries no usable state, so it cannot be matched to a sign-in you started. Start again.',
        );
      }
      const name = txCookieName(states[0]);
      const sealed = jar.get(name);
      if (sealed) jar.delete(name, txAttributes);
      const transaction = sealed
        ? await unsealJson<AuthTransaction>([...options.secrets], sealed, { purpose: TX_PURPOSE, now })
        : null;
      if (!transaction) {
        throw new VmproError(
          'VMPRO_TRANSACTION_MISSING',
          'This sign-in was already completed, has expired, or was started in another browser. Start again.',
        );
      }
      const client = await oidc();
      const validated = await client.validateCallback(params, transaction);
      const tokens = await client.exchangeCode(validated);
      const claims = tokens.claims;
      if (!claims) {
        throw new VmproError(
          'VMPRO_ID_TOKEN_INVALID',
          'The login server sent no ID token, so the user is unknown.',
        );
      }
      const user: SessionUser = { sub: claims.sub };
      if (typeof claims.name === 'string') user.name = claims.name;
      if (typeof claims.email === 'string') user.email = claims.email;
      if (typeof claims.preferred_username === 'string') user.preferred_username = claims.preferred_username;
      const sid = typeof claims.sid === 'string' ? claims.sid : tokens.sessionState;
      await sessions.create(jar, { tokens, user, sid });
      logger.info('vmpro-connect: login', { sub: claims.sub });
      return finish(redirect(safeReturnTo(transaction.returnTo), headers));
    } catch (error) {
      const response = errorResponse(request, error, 'callback');
      response.headers.set('referrer-policy', 'no-referrer');
      return finish(response);
    }
  }

  function relayPage(): Response {
    const html = relayPageHtml({ postPath: options.routes.callback });
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
      (m) =>
        `'sha256-${createHash('sha256')
          .update(m[1] ?? '')
          .digest('base64')}'`,
    );
    return new Response(html, {
      status: 200,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        ...NO_STORE,
        'referrer-policy': 'no-referrer',
        'x-content-type-options': 'nosniff',
        'content-security-policy': `default-src 'none'; script-src ${scripts.join(' ') || "'none'"}; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
      },
    });
  }

  async function logout(request: Request): Promise<Response> {
    const { jar, finish } = collector(request);
    try {
      if (request.method !== 'POST') return methodNotAllowed('POST');
      checkSameOrigin(request);
      const record = await sessions.destroy(jar);
      let target = options.postLogoutRedirectUri;
      try {
        const client = await oidc();
        if (record?.tokens.refreshToken) {
          await client.revoke(record.tokens.refreshToken, 'refresh_token').catch((error: unknown) => {
            logger.warn('vmpro-connect: revoking the refresh token at logout failed', {
              code: isVmproError(error) ? error.code : 'unknown',
            });
          });
        }
        const endSession = client.buildEndSessionUrl({
          idTokenHint: record?.tokens.idToken ?? null,
          postLogoutRedirectUri: options.postLogoutRedirectUri,
        });
        if (endSession) target = endSession.href;
      } catch (error) {
        // The local session is gone; the login server's session ends when it is reachable again.
        logger.warn('vmpro-connect: login server unreachable at logout; ended the local session only', {
          code: isVmproError(error) ? error.code : 'unknown',
        });
      }
      if (record) logger.info('vmpro-connect: logout', { sub: record.user.sub });
      return finish(redirect(target));
    } catch (error) {
      return finish(errorResponse(request, error));
    }
  }

  async function backchannelLogout(request: Request): Promise<Response> {
    const bad = (message: string) =>
      new Response(JSON.stringify({ error: 'invalid_request', message }), {
        status: 400,
        headers: { 'content-type': 'application/json', ...NO_STORE },
      });
    if (request.method !== 'POST') return methodNotAllowed('POST');
    let params: URLSearchParams;
    try {
      params = await readForm(request);
    } catch (error) {
      return bad(isVmproError(error) ? error.message : 'Unreadable body.');
    }
    const tokens = params.getAll('logout_token');
    if (tokens.length !== 1 || !tokens[0]) return bad('Expected exactly one logout_token.');
    try {
      const client = await oidc();
      const claims = await client.verifyLogoutToken(tokens[0]);
      if (!rememberJti(`${claims.iss} ${claims.jti}`, now() + 10 * 60_000)) {
        return bad('This logout token was already used.');
      }
      const ended = await sessions.endSessions(
        claims.sid ? { sid: claims.sid } : { sub: claims.sub as string },
      );
      logger.info('vmpro-connect: back-channel logout', { sessions: ended });
      return new Response(null, { status: 200, headers: NO_STORE });
    } catch (error) {
      if (isVmproError(error, 'VMPRO_LOGOUT_TOKEN_INVALID')) return bad(error.message);
      return errorResponse(request, error);
    }
  }

  function methodNotAllowed(allow: string): Response {
    return new Response(
      JSON.stringify({ error: 'method_not_allowed', message: `Use ${allow} for this route.` }),
      { status: 405, headers: { allow, 'content-type': 'application/json', ...NO_STORE } },
    );
  }

  function unauthenticated(request: RequestLike): Response {
    const url = new URL(request.url);
    if (request.method === 'GET' && wantsHtml(request)) {
      const returnTo = safeReturnTo(url.pathname + url.search);
      return redirect(`${options.routes.login}?returnTo=${encodeURIComponent(returnTo)}`);
    }
    return jsonError({
      status: 401,
      code: 'VMPRO_NOT_AUTHENTICATED',
      message: `Not signed in, or the sign-in has ended. Sign in at ${options.routes.login}.`,
      retryAfter: undefined,
    });
  }

  /**
   * The per-request context. A class, so that a request allocates one small object (this runs on
   * every request; closures per request showed up as garbage-collection time in profiles).
   */
  class RequestContext implements VmproContext {
    #jar: CookieJar | undefined;
    #loaded: Promise<SessionRecord | null> | undefined;
    /** The session from the store's memory; `null` once looked up and not there. */
    #cached: SessionRecord | null | undefined;
    /** The session as last refreshed in this request (`session()` keeps answering the loaded one). */
    #current: SessionRecord | undefined;
    #api: VmproApiClient | undefined;
    #tokenSource: TokenSource | undefined;
    readonly #request: RequestLike;
    readonly #sink: SetCookieSink;

    constructor(request: RequestLike, sink: SetCookieSink) {
      this.#request = request;
      this.#sink = sink;
    }

    #cookies(): CookieJar {
      this.#jar ??= createCookieJar(this.#request.headers.get('cookie'), this.#sink);
      return this.#jar;
    }

    session(): Promise<SessionRecord | null> {
      if (this.#loaded === undefined) {
        // Most requests: the store holds the session in memory, no I/O and no async steps.
        const cached = this.cachedSession();
        this.#loaded = cached === undefined ? sessions.load(this.#cookies()) : Promise.resolve(cached);
      }
      return this.#loaded;
    }

    cachedSession(): SessionRecord | undefined {
      if (this.#cached === undefined) {
        // Looked up once; after a load() that did not come from memory there is nothing to give.
        const found = this.#loaded === undefined ? sessions.loadCached(this.#cookies()) : undefined;
        this.#cached = found ?? null;
      }
      return this.#cached ?? undefined;
    }

    async user(): Promise<SessionUser | null> {
      return (await this.session())?.user ?? null;
    }

    async requireSession(): Promise<SessionRecord> {
      const record = await this.session();
      if (!record)
        throw new VmproError('VMPRO_NOT_AUTHENTICATED', 'Not signed in, or the sign-in has ended.');
      return record;
    }

    async tokens(opts?: { forceRefresh?: boolean; signal?: AbortSignal }): Promise<TokenSet> {
      const record = this.#current ?? (await this.requireSession());
      this.#current = await sessions.freshSession(this.#cookies(), record, opts);
      return this.#current.tokens;
    }

    get tokenSource(): TokenSource {
      this.#tokenSource ??= { getAccessToken: async (opts) => (await this.tokens(opts)).accessToken };
      return this.#tokenSource;
    }

    get api(): VmproApiClient {
      // Inside a web request, wait little for the API: one retry, and a Retry-After of more
      // than 3 s goes back to the browser as a 503 with that Retry-After.
      this.#api ??= createVmproApiClient({
        baseUrl: options.apiBase,
        tokenSource: this.tokenSource,
        fetch: input.fetch,
        logger,
        retry: { limit: 1, maxRetryAfterSec: 3 },
      });
      return this.#api;
    }

    async fetch(path: string, init?: RequestInit): Promise<Response> {
      if (!path.startsWith('/') || path.startsWith('//')) {
        throw new VmproError(
          'VMPRO_CONFIG_INVALID',
          'context.fetch takes a path on the API origin, like /v1/vms.',
        );
      }
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${await this.tokenSource.getAccessToken()}`);
      return (input.fetch ?? fetch)(new URL(path, options.apiBase), { ...init, headers, redirect: 'manual' });
    }
  }

  function context(request: RequestLike, sink: SetCookieSink): VmproContext {
    return new RequestContext(request, sink);
  }

  const authPaths = new Set(Object.values(options.routes));
  const isAuthRoute = (request: RequestLike) => authPaths.has(pathOf(request.url));

  async function handle(request: Request): Promise<Response | null> {
    if (!isAuthRoute(request)) return null;
    const path = pathOf(request.url);
    const r = options.routes;
    if (path === r.login) return login(request);
    if (path === r.callback) return callback(request);
    if (path === r.logout) return logout(request);
    return backchannelLogout(request);
  }

  return Object.freeze({
    options,
    sessions,
    handle,
    login,
    callback,
    logout,
    backchannelLogout,
    context,
    isAuthRoute,
    unauthenticated,
    errorResponse: (request: RequestLike, error: unknown) => errorResponse(request, error),
    oidc,
    close: () => sessions.close(),
  });
}

/** The path of an absolute URL string, without parsing the whole URL (hot path). */
function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start < 0) return '/';
  let end = url.length;
  const q = url.indexOf('?', start);
  if (q >= 0) end = q;
  const h = url.indexOf('#', start);
  if (h >= 0 && h < end) end = h;
  return url.slice(start, end);
}

/** Page helper re-exported for apps that want the same look for their own messages. */
export { htmlPage };
