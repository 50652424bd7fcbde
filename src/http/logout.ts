/**
 * `POST /auth/logout`: ends the session here, revokes its refresh token, and sends the browser to
 * the login server's end-session endpoint.
 */
import { isVmproError } from '../errors.js';
import { checkSameOrigin, collector, type HandlerDeps, methodNotAllowed, redirect } from './kit.js';

export function logoutHandler(deps: HandlerDeps): (request: Request) => Promise<Response> {
  const { options, sessions, logger } = deps;
  return async function logout(request) {
    const { jar, finish } = collector(request);
    try {
      if (request.method !== 'POST') return methodNotAllowed('POST');
      checkSameOrigin(request, options.appOrigin);
      const record = await sessions.destroy(jar);
      let target = options.postLogoutRedirectUri;
      try {
        const client = await deps.oidc();
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
      if (record) {
        logger.info('vmpro-connect: logout', { sub: record.user.sub });
        const at = deps.now();
        const { sub } = record.user;
        deps.emit({ type: 'logout', at, sub, sid: record.sid, reason: 'user' });
        deps.emit({ type: 'session_ended', at, sub, sid: record.sid, reason: 'logout' });
      }
      return finish(redirect(target));
    } catch (error) {
      return finish(deps.errorResponse(request, error));
    }
  };
}
