/**
 * The emulator's Keycloak-shaped login server (realm `platform`) as a fetch handler.
 *
 * Paths (below `{origin}/auth/realms/platform`): `/.well-known/openid-configuration`,
 * `/protocol/openid-connect/{auth,token,token/introspect,userinfo,certs,logout,revoke}` and the
 * login form's `/login-actions/authenticate`.
 */
import type { ApiIdentity, ApiPrincipal } from '../api/contract.js';
import { DEMO_USERS } from '../api/contract.js';
import { authorizationEndpoint, endSessionEndpoint, loginFormEndpoint, unknownRealm } from './authorize.js';
import { isFormEncoded, json, oauthError } from './http.js';
import { KeyRing } from './keys.js';
import { type LoginServerOptions, REALM_PATH, Realm } from './realm.js';
import {
  directLogout,
  introspectionEndpoint,
  revocationEndpoint,
  tokenEndpoint,
  userinfoEndpoint,
} from './token-endpoint.js';
import type { EmulatorClient, EmulatorUser, LoginCounters, TokenFault } from './types.js';

export { DEFAULT_CLIENTS, type LoginServerOptions, REALM, REALM_PATH } from './realm.js';

/** The login server half of the emulator. */
export interface LoginServer {
  /** `{origin}/auth/realms/platform`. */
  issuer(): string;
  /** Answers `/auth/**`; `null` for any other path. */
  handle(request: Request): Promise<Response | null>;
  /**
   * Verifies an access token issued here: RS256 signature, issuer, `exp` by the emulator clock,
   * and that neither the token nor its session was revoked or logged out.
   */
  verifyAccessToken(token: string): Promise<ApiPrincipal | null>;
  /**
   * Verifies an ID token issued here (`typ: ID`): RS256 signature, issuer and `exp` by the
   * emulator clock; `null` when not valid. For the API's user-info endpoint.
   */
  verifyIdToken(token: string): Promise<ApiIdentity | null>;
  counters(): LoginCounters;
  addTokenFault(fault: TokenFault): void;
  clearFaults(): void;
  /** Adds a new signing key; older keys stay published. */
  rotateKeys(): Promise<void>;
  /** Ends the user's SSO sessions (with back-channel logout); resolves to how many ended. */
  logoutUser(usernameOrSub: string): Promise<number>;
  addClient(client: EmulatorClient): void;
  /** No sessions, codes, tokens or faults; counters zero; only the configured clients. */
  reset(): void;
  /** The realm's users (copies). */
  users(): EmulatorUser[];
  /** The realm's clients (copies). */
  clients(): EmulatorClient[];
}

function discoveryDocument(realm: Realm): Record<string, unknown> {
  const authMethods = ['client_secret_basic', 'client_secret_post'];
  return {
    issuer: realm.issuer(),
    authorization_endpoint: realm.endpoint('auth'),
    token_endpoint: realm.endpoint('token'),
    introspection_endpoint: realm.endpoint('token/introspect'),
    userinfo_endpoint: realm.endpoint('userinfo'),
    end_session_endpoint: realm.endpoint('logout'),
    revocation_endpoint: realm.endpoint('revoke'),
    jwks_uri: realm.endpoint('certs'),
    frontchannel_logout_supported: false,
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    grant_types_supported: ['authorization_code', 'refresh_token', 'password'],
    response_types_supported: ['code'],
    response_modes_supported: ['query', 'fragment'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    token_endpoint_auth_methods_supported: authMethods,
    introspection_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_methods_supported: authMethods,
    code_challenge_methods_supported: ['plain', 'S256'],
    authorization_response_iss_parameter_supported: realm.config.issParameter,
    scopes_supported: ['openid', 'profile', 'email'],
    claims_supported: [
      'iss',
      'sub',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'nonce',
      'azp',
      'acr',
      'sid',
      'session_state',
      'at_hash',
      'name',
      'given_name',
      'family_name',
      'preferred_username',
      'email',
      'email_verified',
    ],
    claim_types_supported: ['normal'],
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    prompt_values_supported: ['none', 'login'],
  };
}

/** Keycloak's cache headers for the well-known and certs documents. */
const REVALIDATE = { 'cache-control': 'no-cache, must-revalidate, no-transform, no-store' };

function methodNotAllowed(allow: string): Response {
  return oauthError('invalid_request', `HTTP method not allowed, use ${allow}`, 405, { allow });
}

/**
 * Creates the login server.
 *
 * @example
 * ```ts
 * const login = await createLoginServer({ origin: () => 'http://127.0.0.1:4000', now: Date.now });
 * const res = await login.handle(new Request('http://127.0.0.1:4000/auth/realms/platform/.well-known/openid-configuration'));
 * ```
 */
export async function createLoginServer(options: LoginServerOptions): Promise<LoginServer> {
  const realm = new Realm(options, options.users ?? DEMO_USERS, await KeyRing.create());
  const oidc = `${REALM_PATH}/protocol/openid-connect`;

  async function route(request: Request, path: string): Promise<Response> {
    const method = request.method;
    switch (path) {
      case `${REALM_PATH}/.well-known/openid-configuration`:
        if (method !== 'GET') return methodNotAllowed('GET');
        return json(discoveryDocument(realm), 200, REVALIDATE);
      case `${oidc}/certs`:
        if (method !== 'GET') return methodNotAllowed('GET');
        return json(realm.keys.jwks(), 200, REVALIDATE);
      case `${oidc}/auth`:
        return authorizationEndpoint(realm, request);
      case `${REALM_PATH}/login-actions/authenticate`:
        return loginFormEndpoint(realm, request);
      case `${oidc}/token`:
        return tokenEndpoint(realm, request);
      case `${oidc}/token/introspect`:
        return introspectionEndpoint(realm, request);
      case `${oidc}/revoke`:
        return revocationEndpoint(realm, request);
      case `${oidc}/userinfo`:
        if (method !== 'GET' && method !== 'POST') return methodNotAllowed('GET, POST');
        return userinfoEndpoint(realm, request);
      case `${oidc}/logout`: {
        if (method === 'GET') return endSessionEndpoint(realm, new URL(request.url).searchParams, request);
        if (method !== 'POST') return methodNotAllowed('GET, POST');
        if (!isFormEncoded(request)) {
          return oauthError('invalid_request', 'The body must be application/x-www-form-urlencoded');
        }
        const form = new URLSearchParams(await request.text());
        if (form.has('refresh_token')) return directLogout(realm, request, form);
        return endSessionEndpoint(realm, form, request);
      }
      default:
        return unknownRealm(path) ?? oauthError('not_found', `No login server endpoint at ${path}`, 404);
    }
  }

  return {
    issuer: () => realm.issuer(),
    async handle(request) {
      const path = new URL(request.url).pathname;
      if (path !== '/auth' && !path.startsWith('/auth/')) return null;
      realm.prune();
      return route(request, path);
    },
    async verifyAccessToken(token) {
      const claims = await realm.verifyAccessToken(token);
      if (!claims || typeof claims.sub !== 'string' || typeof claims.exp !== 'number') return null;
      const username = claims['preferred_username'];
      return {
        sub: claims.sub,
        exp: claims.exp,
        ...(typeof username === 'string' ? { preferred_username: username } : {}),
      };
    },
    async verifyIdToken(token) {
      try {
        const { payload } = await realm.keys.verifyRs256(token, {
          issuer: realm.issuer(),
          currentDate: new Date(realm.now()),
        });
        if (payload['typ'] !== 'ID' || typeof payload.sub !== 'string') return null;
        const { email, name } = payload;
        return {
          sub: payload.sub,
          ...(typeof email === 'string' ? { email } : {}),
          ...(typeof name === 'string' ? { name } : {}),
        };
      } catch {
        return null;
      }
    },
    counters: () => realm.counters(),
    addTokenFault: (fault) => realm.addTokenFault(fault),
    clearFaults: () => realm.clearFaults(),
    rotateKeys: () => realm.keys.rotate(),
    logoutUser: (usernameOrSub) => realm.logoutUser(usernameOrSub),
    addClient: (client) => realm.addClient(client),
    reset: () => realm.reset(),
    users: () => realm.users.map((u) => ({ ...u })),
    clients: () => [...realm.clients.values()].map((c) => ({ ...c, redirectUris: [...c.redirectUris] })),
  };
}
