/** `GET /auth/login`: a new transaction, and the redirect to the login server. */
import { collector, type HandlerDeps, methodNotAllowed, redirect } from './kit.js';
import { safeReturnTo } from './return-to.js';
import type { TransactionCookies } from './transaction.js';

export function loginHandler(
  deps: HandlerDeps,
  transactions: TransactionCookies,
): (request: Request) => Promise<Response> {
  return async function login(request) {
    const { jar, finish } = collector(request);
    try {
      if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed('GET');
      const returnTo = safeReturnTo(new URL(request.url).searchParams.get('returnTo'));
      const client = await deps.oidc();
      const { url, transaction } = await client.createAuthorizationRequest({ returnTo });
      await transactions.put(jar, transaction);
      return finish(redirect(url.href));
    } catch (error) {
      return finish(deps.errorResponse(request, error));
    }
  };
}
