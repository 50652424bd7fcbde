/**
 * `GET|POST /auth/callback`: the login server's answer. Validated against the browser's
 * transaction, the transaction claimed once (across instances), the code exchanged, the session
 * created.
 */
import { createVmproApiClient } from '../api/index.js';
import { isVmproError, VmproError } from '../errors.js';
import { RELAY_PAGE_SCRIPT_HASH, relayPageHtml } from '../oidc/index.js';
import type { AuthTransaction, TokenSet } from '../oidc/types.js';
import type { JsonValue, SessionRecord, SessionUser } from '../session/index.js';
import { hasRole, type VmproIdTokenClaims } from './claims.js';
import { createCookieJar } from './cookies.js';
import { type AfterLoginContext, afterLoginData } from './hooks.js';
import { checkSameOrigin, collector, type HandlerDeps, methodNotAllowed, readForm, redirect } from './kit.js';
import { NO_STORE } from './responses.js';
import { safeReturnTo } from './return-to.js';
import { type TransactionCookies, transactionKey } from './transaction.js';

const NO_REFERRER = { 'referrer-policy': 'no-referrer' };

export function callbackHandler(
  deps: HandlerDeps,
  transactions: TransactionCookies,
): (request: Request) => Promise<Response> {
  const { options, sessions, logger, now } = deps;
  const relayHtml = relayPageHtml({ postPath: options.routes.callback });

  /**
   * The answer to a callback whose transaction another request has already used: on to
   * `returnTo` when this request carries a live session (the winner's cookie arrived), else the
   * same page as any replay. Reads the session without touching cookies, so it cannot clear
   * the cookie the winning request is setting.
   */
  async function alreadyUsed(request: Request, transaction: AuthTransaction): Promise<Response> {
    const readOnly = createCookieJar(request.headers.get('cookie'), () => {});
    const record = await sessions.load(readOnly).catch(() => null);
    if (record) return redirect(safeReturnTo(transaction.returnTo), NO_REFERRER);
    throw new VmproError(
      'VMPRO_TRANSACTION_MISSING',
      'This sign-in was already completed (a second click, or the page loaded twice), has expired, or was started in another browser. Start again.',
    );
  }

  /** Claims the transaction before its code is redeemed; `false` when another request did. */
  async function claim(state: string, transaction: AuthTransaction, restore: () => void): Promise<boolean> {
    const ttlMs = transaction.createdAt + options.transactionMaxAgeSec * 1000 - now();
    if (ttlMs <= 0) return false;
    try {
      return await sessions.claimOnce(transactionKey(state), ttlMs);
    } catch (error) {
      // The store could not tell (503): nothing was redeemed, so the browser keeps the
      // transaction and a reload once the store is back completes the sign-in.
      restore();
      throw error;
    }
  }

  return async function callback(request) {
    const { jar, finish } = collector(request);
    try {
      let params: URLSearchParams;
      if (request.method === 'GET' || request.method === 'HEAD') {
        params = new URL(request.url).searchParams;
        if (params.size === 0) return relayPage(relayHtml);
      } else if (request.method === 'POST') {
        checkSameOrigin(request, options.appOrigin);
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
      const state = states[0];
      const taken = await transactions.take(jar, state);
      if (!taken) {
        throw new VmproError(
          'VMPRO_TRANSACTION_MISSING',
          'This sign-in was already completed, has expired, was replaced by a newer sign-in in another tab, or was started in another browser. Start again.',
        );
      }
      const { transaction } = taken;
      const client = await deps.oidc();
      const validated = await client.validateCallback(params, transaction);
      // Single use for real: a second request with the same cookie and state (a double click, a
      // prefetch, a retried navigation, a copy) must never redeem the code again — Keycloak
      // takes that for an attack and revokes what the first exchange issued.
      if (!(await claim(state, transaction, taken.restore))) {
        return finish(await alreadyUsed(request, transaction));
      }
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
      const returnTo = safeReturnTo(transaction.returnTo);
      let data: Record<string, JsonValue> | undefined;
      if (deps.afterLogin !== undefined) {
        try {
          data = afterLoginData(
            await deps.afterLogin(afterLoginContext(deps, request, tokens, user, returnTo)),
          );
        } catch (error) {
          // No session: the tokens just issued are of no use, so the login server forgets them.
          if (tokens.refreshToken) {
            await client.revoke(tokens.refreshToken, 'refresh_token').catch(() => {});
          }
          if (isVmproError(error, 'VMPRO_LOGIN_REFUSED')) {
            logger.info('vmpro-connect: afterLogin refused the sign-in', { sub: claims.sub });
          }
          throw error;
        }
      }
      await sessions.create(jar, { tokens, user, sid, ...(data !== undefined && { data }) });
      logger.info('vmpro-connect: login', { sub: claims.sub });
      deps.emit({
        type: 'login',
        at: now(),
        sub: claims.sub,
        sid,
        durationMs: Math.max(0, now() - transaction.createdAt),
      });
      return finish(redirect(returnTo, NO_REFERRER));
    } catch (error) {
      const response = deps.errorResponse(request, error, 'callback');
      response.headers.set('referrer-policy', 'no-referrer');
      return finish(response);
    }
  };
}

/** What `afterLogin` sees of a sign-in: claims, token metadata (no raw token), a role check and the API. */
function afterLoginContext(
  deps: HandlerDeps,
  request: Request,
  tokens: TokenSet,
  user: SessionUser,
  returnTo: string,
): AfterLoginContext {
  const { options, logger } = deps;
  // hasRole reads a record; this one exists only for the check (nothing is stored yet).
  const probe = { tokens, user } as SessionRecord;
  let api: AfterLoginContext['api'] | undefined;
  return {
    claims: tokens.claims as VmproIdTokenClaims,
    user: { ...user },
    tokens: {
      scope: tokens.scope,
      accessTokenExpiresAt: tokens.accessTokenExpiresAt,
      refreshTokenExpiresAt: tokens.refreshTokenExpiresAt,
      hasRefreshToken: tokens.refreshToken !== null,
    },
    hasRole: (role) => hasRole(probe, role, options.clientId),
    get api() {
      api ??= createVmproApiClient({
        baseUrl: options.apiBase,
        tokenSource: { getAccessToken: async () => tokens.accessToken },
        fetch: deps.fetch,
        logger,
        retry: { limit: 1, maxRetryAfterSec: 3 },
      });
      return api;
    },
    request,
    returnTo,
  };
}

/** The page that turns a `response_mode=fragment` answer into a same-origin POST. */
function relayPage(html: string): Response {
  return new Response(html, {
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      ...NO_STORE,
      ...NO_REFERRER,
      'x-content-type-options': 'nosniff',
      'content-security-policy': `default-src 'none'; script-src ${RELAY_PAGE_SCRIPT_HASH}; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    },
  });
}
