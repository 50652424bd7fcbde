import * as oidc from 'openid-client';
import { configError, VmproError } from '../errors.js';
import { isLoopbackHost, isSecureOrLoopback } from '../internal/url.js';
import {
  authorizationError,
  brandCallback,
  callbackParameters,
  checkTransaction,
  constantTimeEqual,
  refuseDuplicates,
  spendCallback,
  type ValidatedCallback,
} from './callback.js';
import { type OidcClientOptions, type ParsedOptions, parseOidcClientOptions } from './config.js';
import { discover, type OidcMetadata } from './discovery.js';
import { mapGrantError } from './grant-errors.js';
import { createJwksCache } from './jwks.js';
import {
  allowedAlgorithms,
  type JwtContext,
  type LogoutTokenClaims,
  verifyIdToken,
  verifyLogoutToken,
} from './jwt.js';
import { type TokenResponse, toTokenSet } from './token-set.js';
import { Call } from './transport.js';
import type { AuthTransaction, IdTokenClaims, TokenSet } from './types.js';

/** The discovered endpoints and capabilities of the login server. Frozen. */
export type OidcClientMetadata = Readonly<Record<string, unknown>> & {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  end_session_endpoint?: string | undefined;
  revocation_endpoint?: string | undefined;
  userinfo_endpoint?: string | undefined;
};

export interface AuthorizationRequestOptions {
  /** Same-origin path to return to after login (default `/`). Sanitising is the http layer's job. */
  returnTo?: string | undefined;
  /** Scopes for this request, besides `openid` and the configured ones. */
  scopes?: string[] | undefined;
  /** OpenID Connect `prompt`, e.g. `login`. */
  prompt?: string | undefined;
  /** OpenID Connect `login_hint` (pre-fills the user name on the login page). */
  loginHint?: string | undefined;
}

export interface EndSessionOptions {
  /** The ID token of the session (`id_token_hint`); lets the server skip the confirmation page. */
  idTokenHint?: string | null | undefined;
  /** Where the server sends the user after logout; must be registered with the client. */
  postLogoutRedirectUri?: string | undefined;
  state?: string | undefined;
}

/**
 * The protocol core: one login server, one client. Create it with {@link createOidcClient}.
 *
 * @example
 * ```ts
 * const { url, transaction } = await client.createAuthorizationRequest({ returnTo: '/videos' });
 * // … store `transaction`, redirect to `url`; at the callback:
 * const validated = await client.validateCallback(callbackUrl, transaction);
 * const tokens = await client.exchangeCode(validated);
 * ```
 */
export interface OidcClient {
  readonly issuer: string;
  readonly clientId: string;
  readonly metadata: OidcClientMetadata;
  /**
   * A fresh authorization URL (`response_type=code`, `response_mode=query`, `scope=openid …`,
   * `state`, `nonce`, PKCE `S256`) and the transaction to keep until the callback (used once).
   * Throws `VMPRO_CONFIG_INVALID` without a `redirectUri` or with a `returnTo` that does not start
   * with a single `/`.
   */
  createAuthorizationRequest(
    opts?: AuthorizationRequestOptions,
  ): Promise<{ url: URL; transaction: AuthTransaction }>;
  /**
   * Checks the callback against its transaction, in this order: no duplicated parameters
   * (`VMPRO_CALLBACK_INVALID`), transaction age (`VMPRO_TRANSACTION_EXPIRED`), `state` compared in
   * constant time before anything else is trusted (`VMPRO_STATE_MISMATCH`), RFC 9207 `iss`
   * (`VMPRO_ISSUER_MISMATCH`), `error=…` (`OAuthError` `VMPRO_AUTHORIZATION_ERROR`), no implicit or
   * hybrid tokens and a code present (`VMPRO_CALLBACK_INVALID`). Accepts a URL (query, or the
   * fragment when the query is empty), `URLSearchParams` (e.g. the relay page's POST body) or a
   * string.
   */
  validateCallback(
    callback: URL | URLSearchParams | string,
    transaction: AuthTransaction,
  ): Promise<ValidatedCallback>;
  /**
   * Redeems the code (PKCE verifier, the transaction's exact `redirect_uri`, client
   * authentication) and validates the ID token including its `nonce`. Never retried; a second
   * call with the same callback throws `VMPRO_CALLBACK_INVALID` without sending anything.
   */
  exchangeCode(validated: ValidatedCallback, opts?: { signal?: AbortSignal | undefined }): Promise<TokenSet>;
  /**
   * Refreshes (`grant_type=refresh_token`, `scope=openid …`). A new ID token must keep `iss` and
   * `sub`; without one the old ID token and claims are kept, as is the old refresh token when none
   * comes back. `invalid_grant` → `VMPRO_REFRESH_EXPIRED`. Never retries: the caller decides.
   * `timeoutMs` overrides the client's per-request timeout for this call: the session refresher
   * waits longer than a request would, because an answer the login server sends after the
   * client gave up has already spent the refresh token (with Keycloak's "Revoke Refresh Token",
   * that login would end).
   */
  refresh(
    tokens: TokenSet,
    opts?: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined },
  ): Promise<TokenSet>;
  /**
   * Resource owner password grant (movingimage's "anonymous" scenario with client `anonymous`).
   * Refused credentials → `OAuthError` `VMPRO_TOKEN_ERROR` ("user name or password was refused").
   */
  passwordGrant(
    username: string,
    password: string,
    opts?: { signal?: AbortSignal | undefined },
  ): Promise<TokenSet>;
  /** The end-session (logout) URL with `id_token_hint`, `client_id`, `post_logout_redirect_uri`, `state`; `null` when the server has no end-session endpoint. */
  buildEndSessionUrl(opts: EndSessionOptions): URL | null;
  /** Revokes a token (RFC 7009) with `token_type_hint`; `false` when the server offers no revocation endpoint. */
  revoke(
    token: string,
    hint?: 'refresh_token' | 'access_token',
    opts?: { signal?: AbortSignal | undefined },
  ): Promise<boolean>;
  /** Validates an OpenID Connect Back-Channel Logout token; failures are `VMPRO_LOGOUT_TOKEN_INVALID`. */
  verifyLogoutToken(
    logoutToken: string,
  ): Promise<{ iss: string; sub?: string; sid?: string; jti: string; iat: number }>;
}

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

function scopeString(base: readonly string[], extra: readonly string[] | undefined): string {
  const scopes = ['openid'];
  for (const scope of [...base, ...(extra ?? [])]) {
    if (typeof scope !== 'string' || !SCOPE_TOKEN.test(scope)) {
      throw configError(
        'scopes',
        `contains ${JSON.stringify(String(scope))}, which is not a valid scope token`,
      );
    }
    if (!scopes.includes(scope)) scopes.push(scope);
  }
  return scopes.join(' ');
}

function clientAuthentication(parsed: ParsedOptions): oidc.ClientAuth {
  switch (parsed.clientAuthMethod) {
    case 'client_secret_post':
      return oidc.ClientSecretPost(parsed.clientSecret as string);
    case 'client_secret_basic':
      return oidc.ClientSecretBasic(parsed.clientSecret as string);
    default:
      return oidc.None();
  }
}

function endpointUrls(metadata: OidcMetadata): URL[] {
  const urls: URL[] = [new URL(metadata.issuer)];
  for (const [key, value] of Object.entries(metadata)) {
    if ((key.endsWith('_endpoint') || key === 'jwks_uri') && typeof value === 'string') {
      try {
        urls.push(new URL(value));
      } catch {
        // not a URL: not one the client will call
      }
    }
  }
  return urls;
}

/**
 * Discovers the login server (WebFinger from `apiBase`, or the configured `issuer`), checks what
 * this package requires of it, and returns the client.
 *
 * Refuses to start (`VMPRO_UNSUPPORTED`) when the server does not advertise PKCE `S256` or no
 * acceptable ID-token signing algorithm (RS*, PS*, ES*). Plain `http://` is allowed for loopback
 * hosts only. ID-token signatures are always verified with jose against the discovered
 * `jwks_uri` (cached; refetched on an unknown `kid` at most once per `jwksCooldownSec`).
 * Discovery answers are kept for their `Cache-Control: max-age` in a cache of the client's own,
 * or in the `discoveryCache` given (see {@link createDiscoveryCache}) to share them between clients.
 *
 * @example
 * ```ts
 * const client = await createOidcClient({
 *   clientId: 'my-portal',
 *   clientSecret: process.env.VMPRO_CLIENT_SECRET,
 *   redirectUri: 'https://portal.example.com/auth/callback',
 * });
 * ```
 */
export async function createOidcClient(options: OidcClientOptions): Promise<OidcClient> {
  const parsed = parseOidcClientOptions(options);
  const { now, logger } = parsed;
  const discovered = await discover({
    apiBase: parsed.apiBase,
    ...(parsed.issuer !== null && { issuer: parsed.issuerConfigurationUrl ?? parsed.issuer }),
    fetch: parsed.fetch,
    timeoutMs: parsed.timeoutMs,
    now,
    logger,
    cache: parsed.discoveryCache,
  });
  const metadata = discovered.metadata;
  const issuer = discovered.issuer;

  const pkceMethods = metadata.code_challenge_methods_supported;
  if (!Array.isArray(pkceMethods) || !pkceMethods.includes('S256')) {
    throw new VmproError(
      'VMPRO_UNSUPPORTED',
      `The login server ${issuer} does not advertise PKCE with S256 (code_challenge_methods_supported: ${JSON.stringify(pkceMethods ?? null)}). ` +
        'This package always protects the code flow with PKCE S256 and will not run without it. Enable PKCE on the login server (Keycloak advertises it by default).',
    );
  }
  const algorithms = allowedAlgorithms(metadata);
  if (algorithms.length === 0) {
    throw new VmproError(
      'VMPRO_UNSUPPORTED',
      `The login server ${issuer} signs ID tokens only with algorithms this package refuses (${JSON.stringify(metadata.id_token_signing_alg_values_supported)}). ` +
        'Use an asymmetric algorithm such as RS256 (Keycloak: the realm default).',
    );
  }

  // openid-client refuses http:// unless told otherwise. That opt-out is used only for a login
  // server whose URLs are ALL loopback http:// (a local emulator); a mix is refused.
  const urls = endpointUrls(metadata);
  const insecure = urls.some((u) => u.protocol === 'http:');
  if (insecure && !urls.every((u) => u.protocol === 'http:' && isLoopbackHost(u.hostname))) {
    throw new VmproError(
      'VMPRO_DISCOVERY_FAILED',
      `The login server ${issuer} mixes https:// and plain http:// URLs in its metadata; plain http:// is only accepted when the whole login server is on a loopback host.`,
    );
  }

  const serverMetadata = structuredClone(metadata) as oidc.ServerMetadata;
  const auth = clientAuthentication(parsed);
  const jwks = createJwksCache({
    jwksUri: metadata.jwks_uri,
    cooldownSec: parsed.jwksCooldownSec,
    now,
    logger,
  });
  const jwtContext: JwtContext = {
    issuer,
    clientId: parsed.clientId,
    algorithms,
    jwks,
    clockToleranceSec: parsed.clockToleranceSec,
    now,
  };
  const scope = scopeString(parsed.scopes, undefined);

  /**
   * A Configuration per operation, so that its requests carry that operation's abort signal.
   * The clock skew makes openid-client's own claim checks use the injected clock.
   */
  function configuration(call: Call, timeoutMs = parsed.timeoutMs): oidc.Configuration {
    const config = new oidc.Configuration(
      serverMetadata,
      parsed.clientId,
      {
        [oidc.clockTolerance]: parsed.clockToleranceSec,
        [oidc.clockSkew]: Math.round((now() - Date.now()) / 1000),
      },
      auth,
    );
    config[oidc.customFetch] = (url, init) => call.fetch(url, init as RequestInit);
    config.timeout = timeoutMs / 1000;
    if (insecure) oidc.allowInsecureRequests(config);
    return config;
  }

  function newCall(signal?: AbortSignal | undefined, timeoutMs = parsed.timeoutMs): Call {
    return new Call(parsed.fetch, timeoutMs, signal);
  }

  let offlineWarned = false;
  function onOfflineToken(): void {
    if (offlineWarned) return;
    offlineWarned = true;
    logger.warn('offline token: no refresh expiry', { issuer, clientId: parsed.clientId });
  }

  async function verifyOptionalIdToken(response: TokenResponse, call: Call): Promise<IdTokenClaims | null> {
    if (response.id_token === undefined || response.id_token === null) return null;
    if (typeof response.id_token !== 'string') {
      throw new VmproError(
        'VMPRO_ID_TOKEN_INVALID',
        'The ID token failed the "format" check: it is not a string.',
      );
    }
    return verifyIdToken(response.id_token, jwtContext, call, null);
  }

  const self: OidcClient = {
    issuer,
    clientId: parsed.clientId,
    metadata: metadata as OidcClientMetadata,

    async createAuthorizationRequest(opts = {}) {
      if (parsed.redirectUri === null) {
        throw configError(
          'redirectUri',
          'is required for the authorization code flow',
          'set the callback URL registered with movingimage',
        );
      }
      const returnTo = opts.returnTo ?? '/';
      if (typeof returnTo !== 'string' || !returnTo.startsWith('/') || returnTo.startsWith('//')) {
        throw configError('returnTo', 'must be a path starting with a single "/"');
      }
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const codeVerifier = oidc.randomPKCECodeVerifier();
      const parameters: Record<string, string> = {
        redirect_uri: parsed.redirectUri,
        response_mode: 'query',
        response_type: 'code',
        scope: scopeString(parsed.scopes, opts.scopes),
        state,
        nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
      };
      if (opts.prompt !== undefined) parameters.prompt = opts.prompt;
      if (opts.loginHint !== undefined) parameters.login_hint = opts.loginHint;
      const url = oidc.buildAuthorizationUrl(configuration(newCall()), parameters);
      const transaction: AuthTransaction = {
        state,
        nonce,
        codeVerifier,
        redirectUri: parsed.redirectUri,
        issuer,
        returnTo,
        createdAt: now(),
      };
      logger.debug('oidc: authorization request created', { issuer });
      return { url, transaction };
    },

    async validateCallback(callback, transaction) {
      const tx = checkTransaction(transaction);
      const params = callbackParameters(callback);
      refuseDuplicates(params);
      const age = now() - tx.createdAt;
      if (age > parsed.transactionMaxAgeSec * 1000) {
        throw new VmproError(
          'VMPRO_TRANSACTION_EXPIRED',
          `The sign-in took too long (the login transaction is ${Math.round(age / 1000)} s old; at most ${parsed.transactionMaxAgeSec} s are allowed). Start the sign-in again.`,
        );
      }
      const state = params.get('state');
      if (state === null || !constantTimeEqual(state, tx.state)) {
        throw new VmproError(
          'VMPRO_STATE_MISMATCH',
          state === null
            ? 'The callback has no "state": it does not answer a sign-in started here. Start the sign-in again.'
            : 'The callback\'s "state" does not match the sign-in started in this browser (possible cross-site request forgery, or a second tab). Start the sign-in again.',
        );
      }
      if (tx.issuer !== issuer) {
        throw new VmproError(
          'VMPRO_ISSUER_MISMATCH',
          `The login transaction was started with the issuer "${tx.issuer}", but this client uses "${issuer}". Start the sign-in again.`,
        );
      }
      if (parsed.redirectUri !== null && tx.redirectUri !== parsed.redirectUri) {
        throw new VmproError(
          'VMPRO_TRANSACTION_MISSING',
          "The login transaction belongs to another redirect URI than this client's. Start the sign-in again.",
        );
      }
      const iss = params.get('iss');
      if (iss !== null && iss !== issuer) {
        throw new VmproError(
          'VMPRO_ISSUER_MISMATCH',
          `The callback comes from the issuer "${iss}", but the sign-in was sent to "${issuer}" (RFC 9207; possible mix-up attack). The response is refused.`,
        );
      }
      if (iss === null && metadata.authorization_response_iss_parameter_supported === true) {
        throw new VmproError(
          'VMPRO_ISSUER_MISMATCH',
          `The callback has no "iss" parameter although the login server ${issuer} announces authorization_response_iss_parameter_supported (RFC 9207). The response is refused.`,
        );
      }
      if (params.has('error')) throw authorizationError(params);
      for (const implicit of ['id_token', 'access_token', 'token']) {
        if (params.has(implicit)) {
          throw new VmproError(
            'VMPRO_CALLBACK_INVALID',
            `The callback carries "${implicit}": implicit and hybrid responses are refused; only response_type=code is used.`,
          );
        }
      }
      const code = params.get('code');
      if (code === null || code === '') {
        throw new VmproError(
          'VMPRO_CALLBACK_INVALID',
          'The callback has no authorization code. Start the sign-in again.',
        );
      }
      return brandCallback(
        { state, iss, sessionState: params.get('session_state') },
        { code, transaction: tx, owner: self },
      );
    },

    async exchangeCode(validated, opts = {}) {
      const { code, transaction } = spendCallback(validated, self);
      const call = newCall(opts.signal);
      const sentAt = now();
      let response: TokenResponse;
      try {
        // genericGrantRequest (not authorizationCodeGrant) so that redirect_uri is byte for byte
        // the one the authorization request carried; the callback was validated above.
        response = await oidc.genericGrantRequest(configuration(call), 'authorization_code', {
          code,
          redirect_uri: transaction.redirectUri,
          code_verifier: transaction.codeVerifier,
        });
      } catch (err) {
        throw mapGrantError(err, 'authorization_code', call, now());
      }
      const receivedAt = now();
      if (typeof response.id_token !== 'string' || response.id_token === '') {
        throw new VmproError(
          'VMPRO_ID_TOKEN_INVALID',
          'The ID token failed the "present" check: the token response has none although scope "openid" was requested.',
        );
      }
      const claims = await verifyIdToken(response.id_token, jwtContext, call, transaction.nonce);
      const tokens = toTokenSet(response, { receivedAt, sentAt, claims, onOfflineToken });
      logger.debug('oidc: code exchanged', { issuer });
      return tokens;
    },

    async refresh(tokens, opts = {}) {
      if (typeof tokens?.refreshToken !== 'string' || tokens.refreshToken === '') {
        throw new VmproError(
          'VMPRO_REFRESH_EXPIRED',
          'There is no refresh token: the login cannot be extended; sign in again.',
        );
      }
      const timeoutMs =
        typeof opts.timeoutMs === 'number' && opts.timeoutMs > 0 ? opts.timeoutMs : parsed.timeoutMs;
      const call = newCall(opts.signal, timeoutMs);
      const sentAt = now();
      let response: TokenResponse;
      try {
        response = await oidc.refreshTokenGrant(configuration(call, timeoutMs), tokens.refreshToken, {
          scope,
        });
      } catch (err) {
        const mapped = mapGrantError(err, 'refresh_token', call, now());
        if (mapped.code === 'VMPRO_REFRESH_EXPIRED')
          logger.info('oidc: refresh refused, the login has ended', { issuer });
        throw mapped;
      }
      const receivedAt = now();
      const claims = await verifyOptionalIdToken(response, call);
      if (claims && tokens.claims) {
        for (const claim of ['iss', 'sub'] as const) {
          if (claims[claim] !== tokens.claims[claim]) {
            throw new VmproError(
              'VMPRO_ID_TOKEN_INVALID',
              `The ID token failed the "${claim}" check: the refreshed ID token names another ${claim === 'iss' ? 'issuer' : 'user'} than the login. The refresh is refused.`,
            );
          }
        }
      }
      logger.debug('oidc: refreshed', { issuer });
      return toTokenSet(response, { receivedAt, sentAt, claims, previous: tokens, onOfflineToken });
    },

    async passwordGrant(username, password, opts = {}) {
      if (typeof username !== 'string' || username === '')
        throw configError('username', 'must be a non-empty string');
      if (typeof password !== 'string' || password === '')
        throw configError('password', 'must be a non-empty string');
      const call = newCall(opts.signal);
      const sentAt = now();
      let response: TokenResponse;
      try {
        response = await oidc.genericGrantRequest(configuration(call), 'password', {
          username,
          password,
          scope,
        });
      } catch (err) {
        throw mapGrantError(err, 'password', call, now());
      }
      const receivedAt = now();
      const claims = await verifyOptionalIdToken(response, call);
      logger.debug('oidc: password login succeeded', { issuer });
      return toTokenSet(response, { receivedAt, sentAt, claims, onOfflineToken });
    },

    buildEndSessionUrl(opts) {
      if (typeof metadata.end_session_endpoint !== 'string') return null;
      const parameters: Record<string, string> = {};
      if (opts?.idTokenHint) parameters.id_token_hint = opts.idTokenHint;
      if (opts?.postLogoutRedirectUri !== undefined) {
        let target: URL;
        try {
          target = new URL(opts.postLogoutRedirectUri);
        } catch {
          throw configError('postLogoutRedirectUri', 'must be an absolute URL');
        }
        if (!isSecureOrLoopback(target)) {
          throw configError('postLogoutRedirectUri', 'must use https:// (http:// only for loopback hosts)');
        }
        parameters.post_logout_redirect_uri = opts.postLogoutRedirectUri;
      }
      if (opts?.state !== undefined) parameters.state = opts.state;
      return oidc.buildEndSessionUrl(configuration(newCall()), parameters);
    },

    async revoke(token, hint, opts = {}) {
      if (typeof metadata.revocation_endpoint !== 'string') return false;
      if (typeof token !== 'string' || token === '') throw configError('token', 'must be a non-empty string');
      const call = newCall(opts.signal);
      try {
        await oidc.tokenRevocation(configuration(call), token, hint ? { token_type_hint: hint } : undefined);
      } catch (err) {
        throw mapGrantError(err, 'revocation', call, now());
      }
      logger.debug('oidc: token revoked', { issuer, hint });
      return true;
    },

    async verifyLogoutToken(logoutToken): Promise<LogoutTokenClaims> {
      return verifyLogoutToken(logoutToken, jwtContext, newCall(), parsed.logoutTokenMaxAgeSec);
    },
  };
  return Object.freeze(self);
}
