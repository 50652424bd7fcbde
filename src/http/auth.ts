/**
 * `createVmproAuth`: the auth routes and the per-request context, framework-neutral, on Web
 * `Request`/`Response`. The handlers live in their own modules (login, callback, logout,
 * back-channel logout); this one builds them from one configuration and wires them together.
 */
import { isVmproError, VmproError } from '../errors.js';
import { escapeHtml } from '../internal/html.js';
import { asLogger, errorsToStderr, type Logger } from '../logger.js';
import { createOidcClient, type OidcClient } from '../oidc/index.js';
import { eventEmitter } from '../session/events.js';
import { createSessionManager, type SessionManager } from '../session/index.js';
import { backchannelLogoutHandler } from './backchannel.js';
import { callbackHandler } from './callback.js';
import { type AccessRule, checkRule, missingAccess } from './claims.js';
import { type ResolvedAuthOptions, resolveAuthOptions, type VmproAuthOptions } from './config.js';
import { contextFactory, type SetCookieSink, type VmproContext } from './context.js';
import { type HandlerDeps, pathOf, type RequestLike, redirect } from './kit.js';
import { loginHandler } from './login.js';
import { logoutHandler } from './logout.js';
import { fingerprint, registered } from './registry.js';
import { customErrorPage, htmlError, jsonError, mapError, wantsHtml } from './responses.js';
import { safeReturnTo } from './return-to.js';
import { transactionCookies } from './transaction.js';

export type { SetCookieSink, VmproContext } from './context.js';

/**
 * A guard made by `auth.guard(rule)`: `null` to go on, else the response to send.
 *
 * @example
 * ```ts
 * const admins = auth.guard({ role: 'portal-admin' });
 * const refusal = await admins(vmpro, request);
 * if (refusal) return refusal;
 * ```
 */
export type VmproGuard = (vmpro: VmproContext, request: RequestLike) => Promise<Response | null>;
export type { RequestLike } from './kit.js';

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
  /**
   * A framework-neutral guard for routes: resolves to `null` when the request may go on, else
   * to the answer to send — a redirect to login (pages) or `401` JSON without a session, a
   * `403` page or JSON when signed in without what `rule` requires. Rejects only when the
   * session cannot be read (`VMPRO_STORE_UNAVAILABLE`: pass it to {@link errorResponse}).
   * Every adapter's `requireLogin(rule)` is this; the rule is checked when the guard is made.
   */
  guard(rule?: AccessRule): VmproGuard;
  /** The protocol client (discovered on first use, retried after a failure). */
  oidc(): Promise<OidcClient>;
  /** Waits for background refreshes, closes the store, and removes this instance from the per-process registry. */
  close(): Promise<void>;
}

const DISCOVERY_RETRY_MS = 5_000;

/**
 * Creates the auth handlers. Discovery happens on first use, not here, so an app starts even
 * while the login server is unreachable (its login routes answer `503` until it is back).
 *
 * One instance per configuration per process: called again with the same configuration (a
 * module evaluated twice by Next.js, Vite SSR or a test runner) it returns the same instance,
 * so there is one session store, one refresh single-flight and one discovery cache. The
 * configuration is compared by its serialisable settings (secrets as hashes); functions,
 * stores and loggers by kind only — the first call's are used. `close()` ends the instance and
 * removes it; pass `instance: 'name'` to get a deliberate second one. A different configuration
 * on the same session cookie and host is logged as a warning (it would sign users out).
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
  const logger: Logger = asLogger(input.logger, errorsToStderr);
  const cookieName = input.session.cookieName ?? (options.secure ? '__Host-vmpro' : 'vmpro');
  return registered(
    configFingerprint(input, options, cookieName),
    { host: new URL(options.appOrigin).hostname, name: cookieName },
    logger,
    (unregister) => buildAuth(input, options, logger, cookieName, unregister),
  );
}

/**
 * What tells two configurations apart: every serialisable setting, secrets as one-way hashes.
 * Functions, stores, loggers and `fetch` count by kind, not identity: a module evaluated twice
 * makes new ones of each, and must still get the same instance.
 */
function configFingerprint(input: VmproAuthOptions, options: ResolvedAuthOptions, cookieName: string) {
  const s = input.session;
  return fingerprint(
    {
      instance: input.instance,
      clientId: options.clientId,
      clientAuthMethod: options.clientAuthMethod,
      apiBase: options.apiBase,
      issuer: options.issuer,
      redirectUri: options.redirectUri,
      postLogoutRedirectUri: options.postLogoutRedirectUri,
      scopes: options.scopes,
      routes: options.routes,
      transactionMaxAgeSec: options.transactionMaxAgeSec,
      clockToleranceSec: input.clockToleranceSec,
      timeoutMs: input.timeoutMs,
      'session.cookieName': cookieName,
      // The cookie's attributes follow from `secure` (HttpOnly, SameSite=Lax, Path=/ always).
      'session.cookieSecure': options.secure,
      'session.store': s.store?.kind ?? 'memory',
      'session.idleTimeoutSec': s.idleTimeoutSec,
      'session.absoluteTimeoutSec': s.absoluteTimeoutSec,
      'session.refreshMarginSec': s.refreshMarginSec,
      oidcClient: input.oidcClient === undefined ? undefined : 'given',
    },
    { clientSecret: options.clientSecret, 'session.secrets': options.secrets },
  );
}

function buildAuth(
  input: VmproAuthOptions,
  options: ResolvedAuthOptions,
  logger: Logger,
  cookieName: string,
  unregister: () => void,
): VmproAuth {
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
    cookieName,
    secrets: [...options.secrets],
    secure: options.secure,
    refresh: async (tokens, opts) => (await oidc()).refresh(tokens, opts),
    refreshMarginSec: input.session.refreshMarginSec,
    idleTimeoutSec: input.session.idleTimeoutSec,
    absoluteTimeoutSec: input.session.absoluteTimeoutSec,
    // A request waits for a refresh as long as for any other call to the login server.
    ...(input.timeoutMs !== undefined && { refreshWaitMs: input.timeoutMs }),
    now,
    logger,
    onEvent: input.onEvent,
  });
  const emit = eventEmitter(input.onEvent, logger);

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
        // A bug (ours or the app's): its message and stack say where. Our own errors never carry
        // tokens, codes or secrets in their messages.
        ...(isVmproError(error) ? {} : unexpected(error)),
      });
    } else {
      logger.info('vmpro-connect: request refused', { code: mapping.code, status: mapping.status });
    }
    if (where !== 'callback' && !wantsHtml(request)) return jsonError(mapping);
    if (input.errorPage !== undefined) {
      try {
        const { status, code, message, retryAfter } = mapping;
        const info = {
          status,
          code,
          message,
          messageHtml: escapeHtml(message),
          ...(retryAfter !== undefined && { retryAfter }),
        };
        return customErrorPage(input.errorPage(info, request), mapping);
      } catch (pageError) {
        logger.error('vmpro-connect: the errorPage function failed; answered with the default page', {
          code: mapping.code,
          ...unexpected(pageError),
        });
      }
    }
    return htmlError(mapping, options.routes.login, undefined, options.routes.logout);
  }

  function unauthenticated(request: RequestLike): Response {
    if (request.method === 'GET' && wantsHtml(request)) {
      const url = new URL(request.url);
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

  function guard(rule?: AccessRule): VmproGuard {
    const checked = checkRule(rule);
    const open = checked.roles.length === 0 && checked.claims === undefined;
    return async function vmproGuard(vmpro, request) {
      const record = await vmpro.session();
      if (record === null) return unauthenticated(request);
      if (open) return null;
      const missing = await missingAccess(record, checked, options.clientId);
      if (missing === null) return null;
      const needs =
        missing === '' ? 'access your account does not have' : `${missing}, which your account does not have`;
      const message =
        checked.message ??
        `You are signed in, but this page needs ${needs}. Ask an administrator for access, or sign out and sign in with another account.`;
      return errorResponse(request, new VmproError('VMPRO_FORBIDDEN', message));
    };
  }

  const deps: HandlerDeps = {
    options,
    sessions,
    oidc,
    errorResponse,
    logger,
    now,
    emit,
    afterLogin: input.afterLogin,
    fetch: input.fetch,
  };
  const transactions = transactionCookies({
    cookieName: sessions.cookieName,
    secrets: options.secrets,
    secure: options.secure,
    maxAgeSec: options.transactionMaxAgeSec,
    now,
  });
  const login = loginHandler(deps, transactions);
  const callback = callbackHandler(deps, transactions);
  const logout = logoutHandler(deps);
  const backchannelLogout = backchannelLogoutHandler(deps);
  const context = contextFactory(deps, input.fetch);

  const r = options.routes;
  const authPaths = new Set(Object.values(r));
  const isAuthRoute = (request: RequestLike) => authPaths.has(pathOf(request.url));

  async function handle(request: Request): Promise<Response | null> {
    const path = pathOf(request.url);
    if (path === r.login) return login(request);
    if (path === r.callback) return callback(request);
    if (path === r.logout) return logout(request);
    if (path === r.backchannelLogout) return backchannelLogout(request);
    return null;
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
    guard,
    oidc,
    close: async () => {
      // Out of the registry first: a createVmproAuth during the shutdown gets a new instance.
      unregister();
      await sessions.close();
    },
  });
}

/** What the log says of an error that is not ours: its kind, message and stack. */
function unexpected(error: unknown): Record<string, unknown> {
  if (error instanceof Error) return { error: error.name, message: error.message, stack: error.stack };
  return { error: typeof error };
}
