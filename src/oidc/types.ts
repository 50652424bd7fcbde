/**
 * Plain, JSON-safe shapes of the protocol layer. Everything here survives
 * `JSON.parse(JSON.stringify(x))` unchanged, so it can live in a cookie or in Redis.
 */

/** Validated claims of an ID token (the ones this package reads, plus whatever else came). */
export interface IdTokenClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  azp?: string;
  nonce?: string;
  sid?: string;
  session_state?: string;
  name?: string;
  email?: string;
  preferred_username?: string;
  [claim: string]: unknown;
}

/** The tokens of one login, with absolute expiry times (epoch milliseconds). */
export interface TokenSet {
  accessToken: string;
  /** Always `'Bearer'`; the server's `token_type` is compared case-insensitively. */
  tokenType: 'Bearer';
  /** From `expires_in`; `null` when the server did not say (then a 401 from the API triggers a refresh). */
  accessTokenExpiresAt: number | null;
  refreshToken: string | null;
  /** From Keycloak's `refresh_expires_in`; `null` when unknown or for an offline token (`0`). */
  refreshTokenExpiresAt: number | null;
  idToken: string | null;
  /** Claims of the validated ID token (kept across refreshes when no new one came). */
  claims: IdTokenClaims | null;
  scope: string | null;
  /** Keycloak's `session_state`: the id of the user's SSO session. */
  sessionState: string | null;
  /** When the token response was received (epoch ms). */
  receivedAt: number;
}

/**
 * What the app keeps between sending the user to the login page and the callback
 * (in an encrypted cookie or a store). Used once.
 */
export interface AuthTransaction {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** The redirect URI sent in the authorization request (also sent to the token endpoint). */
  redirectUri: string;
  /** The issuer the request went to (checked against `iss` in the response and the ID token). */
  issuer: string;
  /** Same-origin path to return to after login. */
  returnTo: string;
  /** Epoch ms. */
  createdAt: number;
}
