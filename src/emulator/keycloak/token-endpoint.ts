/**
 * The back-channel endpoints of the realm: token (authorization_code, refresh_token, password),
 * revocation (RFC 7009), introspection, userinfo and the direct logout with a refresh token.
 * Answers and error wording follow Keycloak.
 */
import { createHash } from 'node:crypto';
import {
  basicCredentials,
  bearerToken,
  isFormEncoded,
  json,
  jsonNoStore,
  oauthError,
  sleep,
} from './http.js';
import type { Realm } from './realm.js';
import type { IssuedToken } from './state.js';
import { grantedScope, mintTokenResponse } from './tokens.js';
import type { EmulatorClient, EmulatorGrantType, TokenFault } from './types.js';

const GRANTS: ReadonlySet<string> = new Set<EmulatorGrantType>([
  'authorization_code',
  'refresh_token',
  'password',
]);

type FormResult = { form: URLSearchParams } | { error: Response };

/** Reads the form body, refusing other content types and repeated parameters (RFC 6749 §3.2). */
async function readTokenForm(request: Request): Promise<FormResult> {
  if (request.method !== 'POST') {
    return {
      error: oauthError('invalid_request', 'HTTP method not allowed, use POST', 405, { allow: 'POST' }),
    };
  }
  if (!isFormEncoded(request)) {
    return {
      error: oauthError('invalid_request', 'The body must be application/x-www-form-urlencoded'),
    };
  }
  const form = new URLSearchParams(await request.text());
  for (const name of new Set(form.keys())) {
    if (form.getAll(name).length > 1) {
      return { error: oauthError('invalid_request', `Duplicated parameter: ${name}`) };
    }
  }
  return { form };
}

type ClientResult = { client: EmulatorClient } | { error: Response };

/**
 * Client authentication: `client_secret_basic` (credentials form-decoded, RFC 6749 §2.3.1),
 * `client_secret_post`, or a public client's bare `client_id`. One method per request.
 */
function authenticateClient(realm: Realm, request: Request, form: URLSearchParams): ClientResult {
  const basic = basicCredentials(request);
  const challenge = basic ? { 'www-authenticate': 'Basic realm="platform"' } : undefined;
  const invalidClient = (description: string) => ({
    error: oauthError('invalid_client', description, 401, challenge),
  });
  if (basic === 'malformed') return invalidClient('Invalid client credentials in the Authorization header');
  const bodyId = form.get('client_id');
  const bodySecret = form.get('client_secret');
  if (basic && bodySecret !== null) {
    return {
      error: oauthError(
        'invalid_request',
        'Use one client authentication method, not Basic and client_secret',
      ),
    };
  }
  if (basic && bodyId !== null && bodyId !== basic.id) {
    return { error: oauthError('invalid_request', 'client_id does not match the Authorization header') };
  }
  const clientId = basic ? basic.id : bodyId;
  if (!clientId) return invalidClient('Missing parameter: client_id');
  const client = realm.clients.get(clientId);
  if (!client) return invalidClient('Invalid client or Invalid client credentials');
  if (client.publicClient) return { client };
  const secret = basic ? basic.secret : bodySecret;
  if (secret === null) return invalidClient('Client secret not provided in request');
  if (!realm.checkClientSecret(client, secret))
    return invalidClient('Invalid client or Invalid client credentials');
  return { client };
}

function pkceMatches(verifier: string, challenge: string, method: 'S256' | 'plain'): boolean {
  const computed =
    method === 'S256' ? createHash('sha256').update(verifier, 'ascii').digest('base64url') : verifier;
  return computed === challenge;
}

async function authorizationCodeGrant(realm: Realm, client: EmulatorClient, form: URLSearchParams) {
  const codeValue = form.get('code');
  if (!codeValue) return oauthError('invalid_request', 'Missing parameter: code');
  const code = realm.state.codes.get(codeValue);
  if (!code) return oauthError('invalid_grant', 'Code not valid');
  if (code.used) {
    // A second use means the code leaked: Keycloak drops what the first use issued.
    code.clientSession.revoked = true;
    return oauthError('invalid_grant', 'Code not valid');
  }
  if (code.expiresAt <= realm.now()) {
    realm.state.codes.delete(codeValue);
    return oauthError('invalid_grant', 'Code is expired');
  }
  const req = code.request;
  if (req.clientId !== client.clientId)
    return oauthError('invalid_grant', 'Auth error: code was issued to another client');
  code.used = true;
  if (form.get('redirect_uri') !== req.redirectUri)
    return oauthError('invalid_grant', 'Incorrect redirect_uri');
  const verifier = form.get('code_verifier');
  if (req.codeChallenge !== undefined) {
    if (verifier === null) return oauthError('invalid_grant', 'PKCE code verifier not specified');
    if (
      !/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier) ||
      !pkceMatches(verifier, req.codeChallenge, req.codeChallengeMethod ?? 'plain')
    ) {
      return oauthError('invalid_grant', 'PKCE verification failed: Code mismatch');
    }
  } else if (verifier !== null) {
    return oauthError(
      'invalid_grant',
      'PKCE code verifier specified but challenge not present in authorization',
    );
  }
  const cs = code.clientSession;
  if (cs.revoked || !realm.sessionAlive(cs.session)) return oauthError('invalid_grant', 'Session not active');
  cs.session.lastActivity = realm.now();
  return jsonNoStore(await mintTokenResponse(realm.tokenContext(), cs, grantedScope(req.scope), req.nonce));
}

async function refreshTokenGrant(realm: Realm, client: EmulatorClient, form: URLSearchParams) {
  const token = form.get('refresh_token');
  if (!token) return oauthError('invalid_request', 'Missing parameter: refresh_token');
  const check = await realm.checkRefreshToken(token);
  if (!check.ok) return oauthError('invalid_grant', check.description);
  const { payload, record } = check;
  if (payload.azp !== client.clientId) {
    return oauthError(
      'invalid_grant',
      "Invalid refresh token. Token client and authorized client don't match",
    );
  }
  const cs = record.clientSession;
  if (!realm.sessionAlive(cs.session)) return oauthError('invalid_grant', 'Session not active');
  if (record.revoked) return oauthError('invalid_grant', 'Token is not active');
  if (cs.revoked) return oauthError('invalid_grant', "Session doesn't have required client");
  if (realm.config.strictRefreshTokenReuse && record.uses >= 1) {
    return oauthError('invalid_grant', 'Maximum allowed refresh token reuse exceeded');
  }
  record.uses++;
  cs.session.lastActivity = realm.now();
  cs.refreshes.succeeded++;
  const scope = typeof payload['scope'] === 'string' ? payload['scope'] : grantedScope('openid');
  const nonce = typeof payload['nonce'] === 'string' ? payload['nonce'] : undefined;
  return jsonNoStore(await mintTokenResponse(realm.tokenContext(), cs, scope, nonce));
}

async function passwordGrant(realm: Realm, client: EmulatorClient, form: URLSearchParams) {
  // `response_type=token`, which movingimage's docs send, is ignored as Keycloak does.
  const username = form.get('username');
  const password = form.get('password');
  if (!username) return oauthError('invalid_request', 'Missing parameter: username');
  const user = realm.authenticateUser(username, password ?? '');
  if (!user) return oauthError('invalid_grant', 'Invalid user credentials', 401);
  realm.count.logins++;
  const session = realm.state.createSession(user, realm.now(), false);
  const cs = realm.state.clientSession(session, client.clientId);
  return jsonNoStore(await mintTokenResponse(realm.tokenContext(), cs, grantedScope(form.get('scope'))));
}

/** The answer of an injected fault; `null` for `delay` (answer normally afterwards). */
function faultResponse(fault: TokenFault): Response | null {
  const retryAfter: Record<string, string> =
    fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {};
  switch (fault.kind) {
    case 'delay':
      return null;
    case 'reset':
      return Response.error();
    case 'status': {
      const status = fault.status ?? 503;
      return new Response(`Injected fault: HTTP ${status}\n`, {
        status,
        headers: { 'content-type': 'text/plain; charset=utf-8', ...retryAfter },
      });
    }
    case 'oauth_error': {
      const error = fault.error ?? 'invalid_grant';
      const status = fault.status ?? (error === 'invalid_client' ? 401 : 400);
      return oauthError(error, fault.errorDescription ?? 'Injected by the emulator', status, retryAfter);
    }
    case 'html': {
      const status = fault.status ?? 502;
      return new Response(
        `<!doctype html><html><head><title>${status} Error</title></head><body><h1>${status} Error</h1><p>The server could not handle the request.</p></body></html>`,
        { status, headers: { 'content-type': 'text/html; charset=utf-8', ...retryAfter } },
      );
    }
    case 'malformed_json':
      return new Response('{"access_token":"eyJhbGciOiJSUzI1NiIs', {
        status: fault.status ?? 200,
        headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
      });
  }
}

/** `POST /protocol/openid-connect/token`. */
export async function tokenEndpoint(realm: Realm, request: Request): Promise<Response> {
  const response = await tokenEndpointInner(realm, request);
  if (response.type === 'error' || !response.ok) realm.count.tokenErrors++;
  return response;
}

async function tokenEndpointInner(realm: Realm, request: Request): Promise<Response> {
  const read = await readTokenForm(request);
  const grantType = 'form' in read ? (read.form.get('grant_type') ?? undefined) : undefined;
  if (grantType !== undefined && GRANTS.has(grantType))
    realm.count.tokenRequests[grantType as EmulatorGrantType]++;
  // Refresh grants count per client session as in flight from here, faulted ones included.
  const refreshToken =
    grantType === 'refresh_token' && 'form' in read ? read.form.get('refresh_token') : null;
  const known = refreshToken ? await realm.checkRefreshToken(refreshToken, true) : null;
  const finished = known?.ok ? realm.refreshStarted(known.record.clientSession, request.signal) : undefined;
  try {
    return await answerTokenRequest(realm, request, read, grantType);
  } finally {
    finished?.();
  }
}

async function answerTokenRequest(
  realm: Realm,
  request: Request,
  read: FormResult,
  grantType: string | undefined,
): Promise<Response> {
  const fault = realm.takeTokenFault(grantType);
  if (fault) {
    const injected = faultResponse(fault);
    if (injected) return injected;
    await sleep(fault.delayMs ?? 1000);
    if (fault.whenAbandoned === 'drop' && request.signal.aborted) return Response.error();
  }
  if ('error' in read) return read.error;
  const { form } = read;
  const auth = authenticateClient(realm, request, form);
  if ('error' in auth) return auth.error;
  switch (grantType) {
    case undefined:
    case '':
      return oauthError('invalid_request', 'Missing form parameter: grant_type');
    case 'authorization_code':
      return authorizationCodeGrant(realm, auth.client, form);
    case 'refresh_token':
      return refreshTokenGrant(realm, auth.client, form);
    case 'password':
      return passwordGrant(realm, auth.client, form);
    default:
      return oauthError('unsupported_grant_type', 'Unsupported grant_type');
  }
}

/** Finds what the server knows about a token of `client` (access or refresh), expired ones included. */
async function lookupClientToken(
  realm: Realm,
  client: EmulatorClient,
  token: string,
): Promise<IssuedToken | null> {
  const refresh = await realm.checkRefreshToken(token, true);
  if (refresh.ok) return refresh.payload.azp === client.clientId ? refresh.record : null;
  const access = await realm.verifyAccessToken(token);
  if (access && access.azp === client.clientId && typeof access.jti === 'string') {
    return realm.state.tokens.get(access.jti) ?? null;
  }
  return null;
}

/**
 * `POST /protocol/openid-connect/revoke` (RFC 7009): `200` for any well-formed request from an
 * authenticated client. Revoking a refresh token ends the client's share of the session, so its
 * access tokens stop working too.
 */
export async function revocationEndpoint(realm: Realm, request: Request): Promise<Response> {
  const read = await readTokenForm(request);
  if ('error' in read) return read.error;
  const auth = authenticateClient(realm, request, read.form);
  if ('error' in auth) return auth.error;
  const token = read.form.get('token');
  if (!token) return oauthError('invalid_request', 'Missing parameter: token');
  const record = await lookupClientToken(realm, auth.client, token);
  if (record && !record.revoked) {
    record.revoked = true;
    if (record.kind === 'refresh') record.clientSession.revoked = true;
    realm.count.revocations++;
  }
  return new Response(null, { status: 200, headers: { 'cache-control': 'no-store' } });
}

/** `POST /protocol/openid-connect/token/introspect` (RFC 7662). */
export async function introspectionEndpoint(realm: Realm, request: Request): Promise<Response> {
  const read = await readTokenForm(request);
  if ('error' in read) return read.error;
  const auth = authenticateClient(realm, request, read.form);
  if ('error' in auth) return auth.error;
  const token = read.form.get('token');
  if (!token) return oauthError('invalid_request', 'Missing parameter: token');
  const access = await realm.verifyAccessToken(token);
  if (access) {
    return jsonNoStore({
      ...access,
      client_id: access.azp,
      username: access['preferred_username'],
      token_type: 'Bearer',
      active: true,
    });
  }
  const refresh = await realm.checkRefreshToken(token);
  if (refresh.ok) {
    const cs = refresh.record.clientSession;
    if (!refresh.record.revoked && !cs.revoked && realm.sessionAlive(cs.session)) {
      return jsonNoStore({
        ...refresh.payload,
        client_id: refresh.payload.azp,
        token_type: 'Refresh',
        active: true,
      });
    }
  }
  return jsonNoStore({ active: false });
}

/** `GET|POST /protocol/openid-connect/userinfo` with a bearer access token. */
export async function userinfoEndpoint(realm: Realm, request: Request): Promise<Response> {
  let token = bearerToken(request);
  if (!token && request.method === 'POST' && isFormEncoded(request)) {
    token = new URLSearchParams(await request.text()).get('access_token');
  }
  const claims = token ? await realm.verifyAccessToken(token) : null;
  if (!claims) {
    return oauthError('invalid_token', 'Token verification failed', 401, {
      'www-authenticate':
        'Bearer realm="platform", error="invalid_token", error_description="Token verification failed"',
    });
  }
  const pick = ['sub', 'email_verified', 'name', 'preferred_username', 'given_name', 'family_name', 'email'];
  return json(
    Object.fromEntries(pick.filter((k) => claims[k] !== undefined).map((k) => [k, claims[k]])),
    200,
    {
      'cache-control': 'no-store',
    },
  );
}

/**
 * Direct logout: `POST /protocol/openid-connect/logout` with `refresh_token` and client
 * authentication ends the whole SSO session (back-channel logout included); `204`.
 */
export async function directLogout(realm: Realm, request: Request, form: URLSearchParams): Promise<Response> {
  const auth = authenticateClient(realm, request, form);
  if ('error' in auth) return auth.error;
  const token = form.get('refresh_token') ?? '';
  const check = await realm.checkRefreshToken(token);
  if (!check.ok) return oauthError('invalid_grant', check.description);
  if (check.payload.azp !== auth.client.clientId) {
    return oauthError(
      'invalid_grant',
      "Invalid refresh token. Token client and authorized client don't match",
    );
  }
  const session = check.record.clientSession.session;
  if (!realm.sessionAlive(session)) return oauthError('invalid_grant', 'Session not active');
  await realm.endSession(session);
  return new Response(null, { status: 204, headers: { 'cache-control': 'no-store' } });
}
