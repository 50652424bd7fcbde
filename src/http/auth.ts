/**
 * `createVmproAuth`: the auth routes and the per-request context, framework-neutral, on Web
 * `Request`/`Response`. The handlers live in their own modules (login, callback, logout,
 * back-channel logout); this one builds them from one configuration and wires them together.
 */
import { isVmproError, VmproError } from '../errors.js';
import { errorsToStderr, type Logger } from '../logger.js';
import { createOidcClient, type OidcClient } from '../oidc/index.js';
import { createSessionManager, type SessionManager } from '../session/index.js';
import { backchannelLogoutHandler } from './backchannel.js';
import { callbackHandler } from './callback.js';
import { type ResolvedAuthOptions, resolveAuthOptions, type VmproAuthOptions } from './config.js';
import { contextFactory, type SetCookieSink, type VmproContext } from './context.js';
import { type HandlerDeps, pathOf, type RequestLike, redirect } from './kit.js';
import { loginHandler } from './login.js';
import { logoutHandler } from './logout.js';
import { htmlError, jsonError, mapError, wantsHtml } from './responses.js';
import { safeReturnTo } from './return-to.js';
import { transactionCookies } from './transaction.js';

export type { SetCookieSink, VmproContext } from './context.js';
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
  /** The protocol client (discovered on first use, retried after a failure). */
  oidc(): Promise<OidcClient>;
  close(): Promise<void>;
}

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
  const logger: Logger = input.logger ?? errorsToStderr;
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
    // A request waits for a refresh as long as for any other call to the login server.
    ...(input.timeoutMs !== undefined && { refreshWaitMs: input.timeoutMs }),
    now,
    logger,
  });

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
    const loginPath = options.routes.login;
    return where === 'callback' || wantsHtml(request) ? htmlError(mapping, loginPath) : jsonError(mapping);
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

  const deps: HandlerDeps = { options, sessions, oidc, errorResponse, logger, now };
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
    oidc,
    close: () => sessions.close(),
  });
}

/** What the log says of an error that is not ours: its kind, message and stack. */
function unexpected(error: unknown): Record<string, unknown> {
  if (error instanceof Error) return { error: error.name, message: error.message, stack: error.stack };
  return { error: typeof error };
}
