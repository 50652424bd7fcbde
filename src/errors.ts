/**
 * One error tree for every client-side layer of vmpro-connect.
 *
 * Every error carries a stable `code`; callers (and the http layer, which maps codes to
 * statuses) branch on the code, never on the message. Messages say what went wrong, the likely
 * cause and the fix, and never contain a token, code, secret or cookie value.
 */

/** Every code an error of this package can carry. */
export type VmproErrorCode =
  /** A configuration value is missing or invalid; the message names the field. */
  | 'VMPRO_CONFIG_INVALID'
  /** WebFinger or the OpenID configuration could not be fetched or is malformed. */
  | 'VMPRO_DISCOVERY_FAILED'
  /** The issuer in a document, token or response differs from the expected one. */
  | 'VMPRO_ISSUER_MISMATCH'
  /** The server does not offer something this package requires (PKCE S256, an endpoint…). */
  | 'VMPRO_UNSUPPORTED'
  /** The callback's `state` does not match the login transaction. */
  | 'VMPRO_STATE_MISMATCH'
  /** There is no login transaction for this callback (cookie missing, used or tampered with). */
  | 'VMPRO_TRANSACTION_MISSING'
  /** The login transaction is older than allowed. */
  | 'VMPRO_TRANSACTION_EXPIRED'
  /** The callback's parameters are malformed (duplicates, missing code, implicit-flow tokens…). */
  | 'VMPRO_CALLBACK_INVALID'
  /** The login server answered the authorization request with `error=…` (e.g. access_denied). */
  | 'VMPRO_AUTHORIZATION_ERROR'
  /** The token endpoint refused a request with an OAuth error other than an ended login. */
  | 'VMPRO_TOKEN_ERROR'
  /** The token endpoint's answer is malformed (not JSON, no access_token, wrong token_type…). */
  | 'VMPRO_TOKEN_RESPONSE_INVALID'
  /** The ID token failed validation (signature, iss, aud, azp, exp, iat, nonce, sub…). */
  | 'VMPRO_ID_TOKEN_INVALID'
  /** The refresh token was refused (`invalid_grant`) or has expired: the login has ended. */
  | 'VMPRO_REFRESH_EXPIRED'
  /** The login server or API is unreachable or answered 5xx/429: retry later. */
  | 'VMPRO_UPSTREAM_UNAVAILABLE'
  /** The login server or API did not answer in time. */
  | 'VMPRO_UPSTREAM_TIMEOUT'
  /** The session store could not be reached or answered garbage: retry later (not a logout). */
  | 'VMPRO_STORE_UNAVAILABLE'
  /** No valid session: the user must log in. */
  | 'VMPRO_NOT_AUTHENTICATED'
  /** A back-channel logout token failed validation. */
  | 'VMPRO_LOGOUT_TOKEN_INVALID'
  /** A state-changing request came from another site. */
  | 'VMPRO_CROSS_SITE_REQUEST'
  /** The VideoManager Pro API answered with an error status. */
  | 'VMPRO_API_ERROR'
  /** The caller aborted the operation. */
  | 'VMPRO_ABORTED'
  /** A route was called with a method it does not answer (the http layer's `405`). */
  | 'VMPRO_METHOD_NOT_ALLOWED'
  /** Signed in, but without the role or claims a route requires (the http layer's `403`). */
  | 'VMPRO_FORBIDDEN'
  /** The app's `afterLogin` hook refused the sign-in (`403`; no session was created). */
  | 'VMPRO_LOGIN_REFUSED'
  /** A path under the auth routes' folder that is none of them (the Next.js catch-all's `404`). */
  | 'VMPRO_NOT_FOUND'
  /**
   * Something unexpected failed in the app (a bug, not bad input): the http layer's `500` for an
   * error that is not a `VmproError`. The details are in the server log, never in the answer.
   */
  | 'VMPRO_INTERNAL';

const BRAND = Symbol.for('vmpro-connect.VmproError');

export interface VmproErrorOptions {
  cause?: unknown | undefined;
  /** True when the same operation may succeed if tried again later. */
  retryable?: boolean | undefined;
  /** Seconds the caller should wait before retrying, when known. */
  retryAfter?: number | undefined;
  /** The configuration field or argument at fault (`clientId`, `session.secrets`, `VMPRO_API_BASE`…). */
  field?: string | undefined;
}

/**
 * Base class of every error thrown by vmpro-connect.
 *
 * @example
 * ```ts
 * try { await client.refresh(tokens) }
 * catch (e) { if (isVmproError(e, 'VMPRO_REFRESH_EXPIRED')) redirectToLogin() }
 * ```
 */
export class VmproError extends Error {
  readonly code: VmproErrorCode;
  readonly retryable: boolean;
  readonly retryAfter: number | undefined;
  /**
   * The configuration field or argument at fault, for `VMPRO_CONFIG_INVALID` (see
   * {@link configError}); branch on it instead of reading the message.
   */
  readonly field: string | undefined;

  constructor(code: VmproErrorCode, message: string, options: VmproErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VmproError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.retryAfter = options.retryAfter;
    this.field = options.field;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

const TRAILING_PERIOD = /\.$/;

/**
 * The one way every layer reports a bad configuration value or argument: a `VmproError` with code
 * `VMPRO_CONFIG_INVALID`, `field` set, and a message in one style,
 * "vmpro-connect: `field` problem: fix." — `problem` continues the field's name ("is required",
 * "must use https://…"), `fix` says what to do. Neither may contain a secret.
 *
 * @example
 * ```ts
 * throw configError('clientId', 'is required', 'pass the client id movingimage registered for your app');
 * // vmpro-connect: `clientId` is required: pass the client id movingimage registered for your app.
 * ```
 */
export function configError(
  field: string,
  problem: string,
  fix?: string,
  options: { cause?: unknown } = {},
): VmproError {
  const text = problem.replace(TRAILING_PERIOD, '');
  const advice = fix ? `: ${fix.replace(TRAILING_PERIOD, '')}` : '';
  return new VmproError('VMPRO_CONFIG_INVALID', `vmpro-connect: \`${field}\` ${text}${advice}.`, {
    field,
    ...(options.cause !== undefined && { cause: options.cause }),
  });
}

/**
 * An OAuth error answer from the login server (authorization response or token endpoint):
 * carries the server's `error`, `error_description` and HTTP `status`.
 */
export class OAuthError extends VmproError {
  readonly error: string;
  readonly errorDescription: string | undefined;
  readonly status: number | undefined;

  constructor(
    code: VmproErrorCode,
    message: string,
    details: { error: string; errorDescription?: string | undefined; status?: number | undefined },
    options: VmproErrorOptions = {},
  ) {
    super(code, message, options);
    this.name = 'OAuthError';
    this.error = details.error;
    this.errorDescription = details.errorDescription;
    this.status = details.status;
  }
}

/**
 * True when `value` is an error of this package (also across two installed copies), optionally
 * with the given code.
 */
export function isVmproError<C extends VmproErrorCode>(
  value: unknown,
  code?: C,
): value is VmproError & { code: C } {
  if (typeof value !== 'object' || value === null) return false;
  if ((value as Record<symbol, unknown>)[BRAND] !== true) return false;
  return code === undefined || (value as VmproError).code === code;
}
