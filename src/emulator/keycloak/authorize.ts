/**
 * The browser-facing endpoints of the realm: the authorization endpoint with its login form,
 * and the end-session (logout) endpoint. Requests that cannot be trusted to redirect (unknown
 * client, unregistered redirect URI) get an HTML error page and are never redirected.
 */

import { html, isFormEncoded, oauthError, redirect } from './http.js';
import { errorPage, loggedOutPage, loginPage, logoutConfirmPage } from './pages.js';
import { CODE_LIFETIME_MS, LOGIN_FORM_LIFETIME_MS, REALM_PATH, type Realm } from './realm.js';
import { type AuthRequest, opaqueId, type SsoSession } from './state.js';

const PKCE_VALUE = /^[A-Za-z0-9\-._~]{43,128}$/;

/**
 * The form action of the login page: a path, so the form posts back to the host the browser
 * used (and carries the cookies of that host) even when it differs from the issuer's.
 */
const LOGIN_ACTION = `${REALM_PATH}/login-actions/authenticate`;

/** Adds the response parameters to the redirect URI, in its query or its fragment. */
function authResponseUrl(
  redirectUri: string,
  mode: 'query' | 'fragment',
  params: Record<string, string | undefined>,
): string {
  const url = new URL(redirectUri);
  const entries = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined);
  if (mode === 'fragment') {
    url.hash = new URLSearchParams(entries).toString();
  } else {
    for (const [k, v] of entries) url.searchParams.append(k, v);
  }
  return url.href;
}

/** `iss` (RFC 9207) for authorization responses, unless switched off. */
function issParam(realm: Realm): string | undefined {
  return realm.config.issParameter ? realm.issuer() : undefined;
}

/** A redirect carrying an OAuth error back to the client. */
function errorRedirect(
  realm: Realm,
  req: Pick<AuthRequest, 'redirectUri' | 'responseMode' | 'state'>,
  error: string,
  description: string,
  cookies: string[] = [],
): Response {
  return redirect(
    authResponseUrl(req.redirectUri, req.responseMode, {
      error,
      error_description: description,
      state: req.state,
      iss: issParam(realm),
    }),
    cookies,
  );
}

function errorHtml(title: string, message: string, status = 400): Response {
  return html(errorPage(title, message), status);
}

/** Issues a code for `session` and redirects back to the client. */
function issueCode(realm: Realm, session: SsoSession, req: AuthRequest, cookies: string[] = []): Response {
  const clientSession = realm.state.clientSession(session, req.clientId, req.nonce);
  session.lastActivity = realm.now();
  const code = opaqueId();
  realm.state.codes.set(code, {
    request: req,
    clientSession,
    expiresAt: realm.now() + CODE_LIFETIME_MS,
    used: false,
  });
  return redirect(
    authResponseUrl(req.redirectUri, req.responseMode, {
      code,
      state: req.state,
      session_state: realm.config.sessionStateParameter ? session.id : undefined,
      iss: issParam(realm),
    }),
    cookies,
  );
}

/**
 * `GET|POST /protocol/openid-connect/auth`: validates the request, then either reuses the
 * browser's SSO session, answers `login_required` for `prompt=none`, or shows the login form.
 */
export async function authorizationEndpoint(realm: Realm, request: Request): Promise<Response> {
  realm.count.authorizationRequests++;
  let params: URLSearchParams;
  if (request.method === 'GET') {
    params = new URL(request.url).searchParams;
  } else if (request.method === 'POST' && isFormEncoded(request)) {
    params = new URLSearchParams(await request.text());
  } else {
    return errorHtml(
      'Invalid request',
      'The authorization endpoint takes GET, or POST with a form body.',
      405,
    );
  }

  const single = (name: string): string | undefined => params.get(name) ?? undefined;
  for (const name of ['client_id', 'redirect_uri']) {
    if (params.getAll(name).length > 1) return errorHtml('Invalid request', `Duplicated parameter: ${name}`);
  }
  const clientId = single('client_id');
  if (!clientId) return errorHtml('Invalid request', 'Missing parameter: client_id');
  const client = realm.clients.get(clientId);
  if (!client) return errorHtml('Client not found', 'Client not found.');
  const redirectUri = single('redirect_uri');
  if (!redirectUri) return errorHtml('Invalid request', 'Missing parameter: redirect_uri');
  if (!client.redirectUris.includes(redirectUri)) {
    return errorHtml('Invalid redirect URI', 'Invalid parameter: redirect_uri');
  }

  // From here on, problems go back to the (registered) redirect URI.
  const responseModeParam = single('response_mode') ?? 'query';
  const responseMode = responseModeParam === 'fragment' ? 'fragment' : 'query';
  const base = { redirectUri, responseMode, state: single('state') } as const;
  const fail = (error: string, description: string) => errorRedirect(realm, base, error, description);

  for (const name of new Set(params.keys())) {
    if (params.getAll(name).length > 1) return fail('invalid_request', `Duplicated parameter: ${name}`);
  }
  if (responseModeParam !== 'query' && responseModeParam !== 'fragment') {
    return fail('invalid_request', 'Invalid parameter: response_mode');
  }
  const responseType = single('response_type');
  if (!responseType) return fail('invalid_request', 'Missing parameter: response_type');
  if (responseType !== 'code') {
    return fail(
      'unsupported_response_type',
      'Client is not allowed to initiate browser login with given response_type.',
    );
  }
  if (params.has('request') || params.has('request_uri')) {
    return fail('request_not_supported', 'Request objects are not supported');
  }
  const scope = single('scope') ?? '';
  if (!scope.split(/\s+/).includes('openid'))
    return fail('invalid_scope', 'Invalid scopes: openid is required');

  const codeChallenge = single('code_challenge');
  const method = single('code_challenge_method');
  let codeChallengeMethod: 'S256' | 'plain' | undefined;
  if (codeChallenge !== undefined) {
    codeChallengeMethod = (method ?? 'plain') as 'S256' | 'plain';
    if (codeChallengeMethod !== 'S256' && codeChallengeMethod !== 'plain') {
      return fail('invalid_request', 'Invalid parameter: code_challenge_method');
    }
    if (!PKCE_VALUE.test(codeChallenge)) return fail('invalid_request', 'Invalid parameter: code_challenge');
  } else if (method !== undefined) {
    return fail('invalid_request', 'Missing parameter: code_challenge');
  } else if (realm.config.requirePkce) {
    return fail('invalid_request', 'Missing parameter: code_challenge_method');
  }

  const prompts = (single('prompt') ?? '').split(/\s+/).filter(Boolean);
  if (prompts.includes('none') && prompts.length > 1) {
    return fail('invalid_request', 'Invalid parameter: prompt');
  }
  const maxAgeParam = single('max_age');
  let maxAge: number | undefined;
  if (maxAgeParam !== undefined) {
    maxAge = Number(maxAgeParam);
    if (!/^\d+$/.test(maxAgeParam)) return fail('invalid_request', 'Invalid parameter: max_age');
  }

  const nonce = single('nonce');
  const authRequest: AuthRequest = {
    clientId,
    redirectUri,
    responseMode,
    scope,
    ...(base.state !== undefined ? { state: base.state } : {}),
    ...(nonce !== undefined ? { nonce } : {}),
    ...(codeChallenge !== undefined ? { codeChallenge, codeChallengeMethod } : {}),
    ...(maxAge !== undefined ? { maxAge } : {}),
  };

  const sso = realm.ssoFromCookie(request);
  const tooOld = sso && maxAge !== undefined && realm.now() / 1000 - sso.authTime > maxAge;
  if (sso && !tooOld && !prompts.includes('login')) return issueCode(realm, sso, authRequest);
  if (prompts.includes('none')) return fail('login_required', 'Login required');

  const pending = { id: opaqueId(), request: authRequest, expiresAt: realm.now() + LOGIN_FORM_LIFETIME_MS };
  realm.state.pendingLogins.set(pending.id, pending);
  const loginHint = single('login_hint');
  return html(
    loginPage({
      action: LOGIN_ACTION,
      loginId: pending.id,
      clientId,
      ...(loginHint !== undefined ? { username: loginHint } : {}),
    }),
  );
}

/**
 * `POST /login-actions/authenticate`: the login form. Wrong credentials show the form again
 * (200, as Keycloak does); right ones start an SSO session and redirect with a code; Cancel
 * redirects with `error=access_denied`.
 */
export async function loginFormEndpoint(realm: Realm, request: Request): Promise<Response> {
  if (request.method !== 'POST' || !isFormEncoded(request)) {
    return errorHtml('Invalid request', 'The login form must be submitted with POST.', 405);
  }
  const form = new URLSearchParams(await request.text());
  const pending = realm.state.pendingLogins.get(form.get('login_id') ?? '');
  if (!pending || pending.expiresAt < realm.now()) {
    if (pending) realm.state.pendingLogins.delete(pending.id);
    return errorHtml(
      'Login timed out',
      'Your login attempt timed out or was already used. Go back to the application and sign in again.',
    );
  }
  const req = pending.request;
  if (form.has('cancel')) {
    realm.state.pendingLogins.delete(pending.id);
    return errorRedirect(realm, req, 'access_denied', 'The user cancelled the login');
  }
  const username = form.get('username') ?? '';
  const user = realm.authenticateUser(username, form.get('password') ?? '');
  if (!user) {
    return html(
      loginPage({
        action: LOGIN_ACTION,
        loginId: pending.id,
        clientId: req.clientId,
        username,
        error: 'Invalid username or password.',
      }),
    );
  }
  realm.state.pendingLogins.delete(pending.id);
  realm.count.logins++;
  const session = realm.state.createSession(user, realm.now(), true);
  return issueCode(realm, session, req, realm.ssoCookies(session));
}

/** Ends the sessions of a logout and answers with the redirect or the logged-out page. */
async function finishLogout(realm: Realm, sessions: Array<SsoSession | null>, target: string | null) {
  for (const session of new Set(sessions)) if (session) await realm.endSession(session);
  const cookies = realm.clearSsoCookies();
  if (target) return redirect(target, cookies);
  return html(
    loggedOutPage(),
    200,
    cookies.map((c) => ['set-cookie', c] as [string, string]),
  );
}

/**
 * `GET|POST /protocol/openid-connect/logout` (RP-initiated logout) and the direct logout
 * `POST … refresh_token=…` with client authentication (answered by the token endpoint module).
 */
export async function endSessionEndpoint(realm: Realm, params: URLSearchParams, request: Request) {
  // A confirmation of a logout that came without id_token_hint.
  const logoutId = params.get('logout_id');
  if (logoutId !== null) {
    const pending = realm.state.pendingLogouts.get(logoutId);
    realm.state.pendingLogouts.delete(logoutId);
    if (!pending || pending.expiresAt < realm.now()) {
      return errorHtml(
        'Logout timed out',
        'This logout request expired. Sign out from the application again.',
      );
    }
    const session = pending.sessionId ? (realm.state.sessions.get(pending.sessionId) ?? null) : null;
    return finishLogout(realm, [session], pending.redirect);
  }

  const idTokenHint = params.get('id_token_hint');
  const clientIdParam = params.get('client_id');
  const postLogoutRedirectUri = params.get('post_logout_redirect_uri');
  const state = params.get('state');

  const hint = idTokenHint ? await realm.verifyIdTokenHint(idTokenHint) : null;
  if (idTokenHint && !hint) return errorHtml('Invalid request', 'Invalid parameter: id_token_hint');
  const hintClient = typeof hint?.azp === 'string' ? hint.azp : undefined;
  if (clientIdParam && hintClient && clientIdParam !== hintClient) {
    return errorHtml(
      'Invalid request',
      'Parameter client_id is different from the client of the id_token_hint',
    );
  }
  const clientId = clientIdParam ?? hintClient;
  const client = clientId ? realm.clients.get(clientId) : undefined;
  if (clientId && !client) return errorHtml('Client not found', 'Client not found.');

  let target: string | null = null;
  if (postLogoutRedirectUri) {
    if (!client) {
      return errorHtml(
        'Invalid request',
        'Either the parameter client_id or the parameter id_token_hint is required when post_logout_redirect_uri is used.',
      );
    }
    const allowed = client.postLogoutRedirectUris ?? client.redirectUris;
    if (!allowed.includes(postLogoutRedirectUri))
      return errorHtml('Invalid redirect URI', 'Invalid redirect uri');
    const url = new URL(postLogoutRedirectUri);
    if (state !== null) url.searchParams.append('state', state);
    target = url.href;
  }

  const cookieSession = realm.ssoFromCookie(request);
  const hintSession = typeof hint?.sid === 'string' ? (realm.state.sessions.get(hint.sid) ?? null) : null;
  if (!hint && cookieSession) {
    // Without a valid id_token_hint Keycloak asks the user first (no forced logout by a link).
    const id = opaqueId();
    realm.state.pendingLogouts.set(id, {
      sessionId: cookieSession.id,
      redirect: target,
      expiresAt: realm.now() + LOGIN_FORM_LIFETIME_MS,
    });
    return html(logoutConfirmPage(`${REALM_PATH}/protocol/openid-connect/logout`, id));
  }
  return finishLogout(realm, [cookieSession, hintSession], target);
}

/** Answers a request to an unknown realm the way Keycloak does. */
export function unknownRealm(path: string): Response | null {
  if (path.startsWith('/auth/realms/') && !path.startsWith(`${REALM_PATH}/`) && path !== REALM_PATH) {
    return oauthError('not_found', 'Realm does not exist', 404);
  }
  return null;
}
