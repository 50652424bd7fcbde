/**
 * `POST /auth/backchannel-logout`: OpenID Connect Back-Channel Logout. A valid logout token ends
 * every session of its `sid` (else its `sub`); anything else is `400` and changes nothing.
 */
import { isVmproError } from '../errors.js';
import { type HandlerDeps, methodNotAllowed, readForm } from './kit.js';
import { NO_STORE } from './responses.js';

/** How long a logout token's `jti` is remembered (its `iat` is checked against the same window). */
const JTI_MEMORY_MS = 10 * 60_000;
const MAX_JTIS = 10_000;

export function backchannelLogoutHandler(deps: HandlerDeps): (request: Request) => Promise<Response> {
  const { sessions, logger, now } = deps;
  const seen = new Map<string, number>();

  /** True the first time `key` is seen within its lifetime. */
  function firstUse(key: string, until: number): boolean {
    const t = now();
    for (const [k, exp] of seen) if (exp < t) seen.delete(k);
    if (seen.has(key)) return false;
    if (seen.size > MAX_JTIS) seen.delete(seen.keys().next().value as string);
    seen.set(key, until);
    return true;
  }

  // The login server reads this answer: OpenID Connect Back-Channel Logout §2.8 asks for a 400
  // with an OAuth 2.0 error (RFC 6749 §5.2), hence `invalid_request` rather than a VMPRO_ code.
  const bad = (message: string) =>
    new Response(JSON.stringify({ error: 'invalid_request', message }), {
      status: 400,
      headers: { 'content-type': 'application/json', ...NO_STORE },
    });

  return async function backchannelLogout(request) {
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
      const client = await deps.oidc();
      const claims = await client.verifyLogoutToken(tokens[0]);
      if (!firstUse(`${claims.iss} ${claims.jti}`, now() + JTI_MEMORY_MS)) {
        return bad('This logout token was already used.');
      }
      const ended = await sessions.endSessions(
        claims.sid ? { sid: claims.sid } : { sub: claims.sub as string },
      );
      logger.info('vmpro-connect: back-channel logout', { sessions: ended });
      const at = now();
      const sub = typeof claims.sub === 'string' ? claims.sub : null;
      const sid = typeof claims.sid === 'string' ? claims.sid : null;
      deps.emit({ type: 'logout', at, sub, sid, reason: 'backchannel', sessions: ended });
      deps.emit({ type: 'session_ended', at, sub, sid, reason: 'backchannel' });
      return new Response(null, { status: 200, headers: NO_STORE });
    } catch (error) {
      if (isVmproError(error, 'VMPRO_LOGOUT_TOKEN_INVALID')) return bad(error.message);
      return deps.errorResponse(request, error);
    }
  };
}
