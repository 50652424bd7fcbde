/**
 * Public shapes of the emulator's Keycloak-shaped login server (realm `platform`).
 *
 * The emulator is the *other party*: nothing here is shared with the client side of vmpro-connect.
 */

/** A client registered with the emulated realm (like a Keycloak client). */
export interface EmulatorClient {
  clientId: string;
  /** Required for confidential clients; absent (or ignored) for public ones. */
  clientSecret?: string | undefined;
  /** Exact-match list of redirect URIs for the authorization code flow. */
  redirectUris: string[];
  /** Allowed `post_logout_redirect_uri` values; when absent the redirect URIs are allowed (Keycloak's `+`). */
  postLogoutRedirectUris?: string[] | undefined;
  /** Where OpenID Connect Back-Channel Logout tokens are POSTed when a session of this client ends. */
  backchannelLogoutUri?: string | undefined;
  /** A public client authenticates with its `client_id` alone (like `anonymous`). */
  publicClient?: boolean | undefined;
}

/** A user account of the emulated realm. */
export interface EmulatorUser {
  username: string;
  password: string;
  /** Stable subject identifier (a UUID in Keycloak). */
  sub: string;
  name: string;
  given_name?: string | undefined;
  family_name?: string | undefined;
  email: string;
}

/** The grant types the token endpoint implements. */
export type EmulatorGrantType = 'authorization_code' | 'refresh_token' | 'password';

/**
 * A fault the token endpoint answers with instead of doing its work (for tests of retry and
 * error handling). Faults are matched in the order they were added.
 *
 * @example
 * ```ts
 * emulator.addTokenFault({ grantType: 'refresh_token', kind: 'status', status: 503, retryAfter: 2, times: 1 });
 * ```
 */
export interface TokenFault {
  /** Only requests with this `grant_type`; any when absent. */
  grantType?: string | undefined;
  /**
   * `status`: answer `status` (default 503, with `Retry-After` when `retryAfter` is set) and a short text body;
   * `oauth_error`: a JSON `{error, error_description}` with `status` (default 400, 401 for `invalid_client`);
   * `html`: an HTML error page with `status` (default 502);
   * `delay`: wait `delayMs` (default 1000) and then answer normally;
   * `reset`: drop the connection without an answer;
   * `malformed_json`: `200` with `Content-Type: application/json` and a body that is not JSON.
   */
  kind: 'status' | 'oauth_error' | 'html' | 'delay' | 'reset' | 'malformed_json';
  status?: number | undefined;
  /** OAuth error code for `oauth_error` (default `invalid_grant`). */
  error?: string | undefined;
  /** `error_description` for `oauth_error`. */
  errorDescription?: string | undefined;
  /** Seconds, sent as `Retry-After`. */
  retryAfter?: number | undefined;
  delayMs?: number | undefined;
  /**
   * `delay` only: a request whose caller hangs up during the delay is, with `complete` (the
   * default), still carried out, like a slow Keycloak does (a refresh then rotates the refresh
   * token, and with strict reuse the login ends at its next refresh); with `drop` it is dropped
   * unprocessed, like a stalled server behind a proxy that gives up with the caller.
   */
  whenAbandoned?: 'complete' | 'drop' | undefined;
  /** How many matching requests the fault applies to; unlimited when absent. */
  times?: number | undefined;
  /**
   * The chance (0 to 1) that a matching request gets this fault; every one when absent. A request
   * the fault spares does not use up `times` and is offered to the next fault, then answered
   * normally. The dice are the emulator's `random` option (a seeded one makes runs repeatable).
   */
  probability?: number | undefined;
}

/** What the login server has seen since the start (or the last reset). */
export interface LoginCounters {
  /** Token requests received, by `grant_type` (faulted ones included). */
  tokenRequests: Record<EmulatorGrantType, number>;
  /** Token requests answered with anything but a token response (errors and injected faults). */
  tokenErrors: number;
  /** Requests to the authorization endpoint. */
  authorizationRequests: number;
  /** Successful sign-ins with credentials (login form and password grant; SSO reuse is not counted). */
  logins: number;
  /** Tokens revoked through the revocation endpoint. */
  revocations: number;
  /** Back-channel logout tokens delivered (the receiver answered 2xx). */
  backchannelLogoutsSent: number;
  /** Back-channel logout deliveries that failed (network error, timeout or non-2xx). */
  backchannelLogoutsFailed: number;
  /**
   * The most `refresh_token` grants for one client session that were in flight at the same time
   * (faulted ones included). A request stops counting when it is answered or its caller hangs up.
   */
  maxConcurrentRefreshes: number;
  /** `refresh_token` grants per client session the server still knows (one entry per session that refreshed). */
  refreshesBySession: RefreshSessionCounters[];
}

/** The `refresh_token` grants of one client session (a user's sign-in at one client). */
export interface RefreshSessionCounters {
  /** The SSO session (`sid`, `session_state`). */
  sid: string;
  clientId: string;
  /** Refresh grants received with a refresh token of this client session (faulted ones included). */
  requests: number;
  /** Of those, answered with new tokens. */
  succeeded: number;
  /** The most of them in flight at the same time. */
  maxConcurrent: number;
}
