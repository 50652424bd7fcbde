/**
 * `GET|POST /auth/callback`: the login server's answer. Validated against the browser's
 * transaction, the transaction claimed once (across instances), the code exchanged, the session
 * created.
 */
import { VmproError } from '../errors.js';
import { RELAY_PAGE_SCRIPT_HASH, relayPageHtml } from '../oidc/index.js';
import type { AuthTransaction } from '../oidc/types.js';
import type { SessionUser } from '../session/index.js';
import { createCookieJar } from './cookies.js';
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
      await sessions.create(jar, { tokens, user, sid });
      logger.info('vmpro-connect: login', { sub: claims.sub });
      return finish(redirect(safeReturnTo(transaction.returnTo), NO_REFERRER));
    } catch (error) {
      const response = deps.errorResponse(request, error, 'callback');
      response.headers.set('referrer-policy', 'no-referrer');
      return finish(response);
    }
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
