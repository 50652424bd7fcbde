/**
 * Turns what openid-client / oauth4webapi throw at the token and revocation endpoints into this
 * package's codes, keeping the original as `cause` (with token values redacted from it).
 */

import { ClientError, ResponseBodyError, WWWAuthenticateChallengeError } from 'openid-client';
import { OAuthError, VmproError } from '../errors.js';
import { parseRetryAfter } from '../internal/retry-after.js';
import { type Call, transportFailure } from './transport.js';

export type GrantKind = 'authorization_code' | 'refresh_token' | 'password' | 'revocation';

const WHAT: Record<GrantKind, string> = {
  authorization_code: 'The code exchange',
  refresh_token: 'The token refresh',
  password: 'The password login',
  revocation: 'Revoking the token',
};

const SENSITIVE_FIELDS = ['access_token', 'refresh_token', 'id_token', 'code', 'client_secret', 'password'];
const JWT_LIKE = /^[\w-]+\.[\w-]*\.[\w-]*(\.[\w-]*\.[\w-]*)?$/;

/**
 * Removes token values from the cause chain of an error thrown by openid-client (its causes may
 * hold the raw token response body or the raw ID token), so that logging the error whole is safe.
 */
export function redactCauses(err: unknown): void {
  let current: unknown = err;
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    const holder = current as { cause?: unknown; body?: unknown };
    if (typeof holder.body === 'object' && holder.body !== null) {
      const body = { ...(holder.body as Record<string, unknown>) };
      for (const field of SENSITIVE_FIELDS) if (field in body) body[field] = '[redacted]';
      try {
        holder.body = body;
      } catch {
        // a frozen object: nothing to do
      }
    }
    if (typeof holder.cause === 'string' && JWT_LIKE.test(holder.cause)) {
      try {
        holder.cause = '[redacted JWT]';
      } catch {
        // ignore
      }
      return;
    }
    current = holder.cause;
  }
}

function isResponseLike(value: unknown): value is Response {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Response).status === 'number' &&
    typeof (value as Response).headers?.get === 'function'
  );
}

function errorCodeOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
    ? (err as { code: string }).code
    : undefined;
}

/** The ID-token check an oauth4webapi processing error is about, or `null` when it is not about the ID token. */
function idTokenCheckOf(err: ClientError): string | null {
  const inner = err.cause;
  const code = err.code;
  const message = inner instanceof Error ? inner.message : err.message;
  const details = inner instanceof Error ? (inner as { cause?: unknown }).cause : undefined;
  const claim =
    typeof details === 'object' &&
    details !== null &&
    typeof (details as { claim?: unknown }).claim === 'string'
      ? (details as { claim: string }).claim
      : undefined;
  if (code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' || code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED') {
    return claim ?? 'claims';
  }
  if (!/JWT/.test(message)) return null;
  const named = /JWT "(\w+)"/.exec(message);
  return named?.[1] ?? 'format';
}

function short(text: string | undefined): string {
  if (!text) return '';
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}

function describeOAuth(error: string, description: string | undefined): string {
  const d = short(description);
  return d ? `${error}: ${d}` : error;
}

function statusFailure(
  kind: GrantKind,
  status: number,
  headers: Headers | undefined,
  now: number,
  cause: unknown,
  details?: { error: string; errorDescription?: string | undefined },
): VmproError {
  const what = WHAT[kind];
  const codeGrant = kind === 'authorization_code';
  if (status >= 500 || status === 429 || status === 408) {
    const retryAfterMs = parseRetryAfter(headers?.get('retry-after') ?? null, now);
    // VmproError.retryAfter is in seconds.
    const retryAfter = retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000);
    const message =
      `${what} failed: the login server answered HTTP ${status}${details ? ` (${describeOAuth(details.error, details.errorDescription)})` : ''}. ` +
      (codeGrant ? 'Start the sign-in again later.' : 'Try again later.');
    const options = { cause, retryable: !codeGrant, ...(retryAfter !== undefined && { retryAfter }) };
    return details
      ? new OAuthError('VMPRO_UPSTREAM_UNAVAILABLE', message, { ...details, status }, options)
      : new VmproError('VMPRO_UPSTREAM_UNAVAILABLE', message, options);
  }
  if (status >= 300 && status < 400) {
    return new VmproError(
      'VMPRO_TOKEN_RESPONSE_INVALID',
      `${what} failed: the login server answered with a redirect (HTTP ${status}), which is never followed from the token endpoint. Check the discovered token endpoint.`,
      { cause },
    );
  }
  if (status === 200 || status < 300) {
    return new VmproError(
      'VMPRO_TOKEN_RESPONSE_INVALID',
      `${what} failed: the login server's answer is not a valid token response (HTTP ${status}).`,
      { cause },
    );
  }
  return new OAuthError(
    'VMPRO_TOKEN_ERROR',
    `${what} failed: the login server answered HTTP ${status} without an OAuth error.`,
    { error: 'unknown', status },
    { cause },
  );
}

function oauthFailure(kind: GrantKind, err: ResponseBodyError, now: number): VmproError {
  const { error, error_description: errorDescription, status } = err;
  const details = { error, errorDescription, status };
  const text = describeOAuth(error, errorDescription);
  if (status >= 500 || status === 429) {
    return statusFailure(kind, status, err.response?.headers, now, err, { error, errorDescription });
  }
  if (error === 'invalid_client' || error === 'unauthorized_client') {
    return new OAuthError(
      'VMPRO_TOKEN_ERROR',
      `${WHAT[kind]} failed: the login server refused this client (${text}). This is a configuration fault: check the client id and client secret, and the client authentication method (clientAuthMethod).`,
      details,
      { cause: err },
    );
  }
  if (error === 'invalid_grant') {
    switch (kind) {
      case 'refresh_token':
        return new OAuthError(
          'VMPRO_REFRESH_EXPIRED',
          `The token refresh failed: the login has ended (${text}); sign in again.`,
          details,
          { cause: err, retryable: false },
        );
      case 'password':
        return new OAuthError(
          'VMPRO_TOKEN_ERROR',
          `The password login failed: the user name or password was refused (${text}).`,
          details,
          { cause: err },
        );
      case 'authorization_code':
        return new OAuthError(
          'VMPRO_TOKEN_ERROR',
          `The code exchange failed: the login server refused the authorization code (${text}). It may have expired or been used already, or the redirect URI or PKCE verifier did not match. Start the sign-in again.`,
          details,
          { cause: err },
        );
      default:
        break;
    }
  }
  return new OAuthError(
    'VMPRO_TOKEN_ERROR',
    `${WHAT[kind]} failed: the login server refused it (${text}).`,
    details,
    {
      cause: err,
    },
  );
}

/**
 * Maps any failure of a token-endpoint or revocation request to a `VmproError`:
 * `invalid_grant` on refresh → `VMPRO_REFRESH_EXPIRED`; other OAuth errors → `VMPRO_TOKEN_ERROR`;
 * 5xx, 429 (with `retryAfter`), network failures → `VMPRO_UPSTREAM_UNAVAILABLE`; timeouts →
 * `VMPRO_UPSTREAM_TIMEOUT`; a malformed success → `VMPRO_TOKEN_RESPONSE_INVALID`; an ID token that
 * fails validation → `VMPRO_ID_TOKEN_INVALID`. Failures of the code exchange are never retryable:
 * a code is never sent twice.
 */
export function mapGrantError(err: unknown, kind: GrantKind, call: Call, now: number): VmproError {
  if (err instanceof VmproError) return err;
  redactCauses(err);
  const codeGrant = kind === 'authorization_code';
  const transport = transportFailure(call, err, WHAT[kind], {
    retryable: !codeGrant,
    ...(codeGrant && { hint: 'Start the sign-in again.' }),
  });
  if (transport) return transport;

  if (err instanceof ResponseBodyError) return oauthFailure(kind, err, now);

  if (err instanceof WWWAuthenticateChallengeError) {
    const challenge = err.cause?.[0];
    const error = challenge?.parameters.error;
    if (err.status === 401) {
      return new OAuthError(
        'VMPRO_TOKEN_ERROR',
        `${WHAT[kind]} failed: the login server refused this client (HTTP 401${error ? `, ${error}` : ''}). This is a configuration fault: check the client id and client secret, and the client authentication method (clientAuthMethod).`,
        {
          error: error ?? 'invalid_client',
          errorDescription: challenge?.parameters.error_description,
          status: 401,
        },
        { cause: err },
      );
    }
    return statusFailure(kind, err.status, err.response?.headers, now, err);
  }

  if (err instanceof ClientError) {
    const code = errorCodeOf(err);
    if (code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || code === 'OAUTH_RESPONSE_IS_NOT_JSON') {
      // openid-client wraps oauth4webapi's error, whose cause is the Response.
      // Duck-typed: servers such as @hono/node-server replace the global Response class, so a
      // Response from fetch need not be an instance of the global one.
      const inner = (err as { cause?: unknown }).cause;
      const response = isResponseLike(inner) ? inner : undefined;
      if (response) return statusFailure(kind, response.status, response.headers, now, err);
    }
    const check = idTokenCheckOf(err);
    if (check !== null) {
      return new VmproError('VMPRO_ID_TOKEN_INVALID', `The ID token failed the "${check}" check.`, {
        cause: err,
      });
    }
    return new VmproError(
      'VMPRO_TOKEN_RESPONSE_INVALID',
      `${WHAT[kind]} failed: the login server's answer is not a valid token response (${err.message}).`,
      { cause: err },
    );
  }

  return new VmproError('VMPRO_TOKEN_RESPONSE_INVALID', `${WHAT[kind]} failed unexpectedly.`, { cause: err });
}
