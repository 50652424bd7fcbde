/**
 * ID-token and logout-token validation with jose. The signature is always verified, against the
 * discovered `jwks_uri` only, with asymmetric algorithms only (never `none`, never HS*).
 */

import { errors, type JWTPayload, type JWTVerifyResult, jwtVerify } from 'jose';
import { VmproError, type VmproErrorCode } from '../errors.js';
import type { JwksCache } from './jwks.js';
import type { Call } from './transport.js';
import type { IdTokenClaims } from './types.js';

/** Signature algorithms this package accepts at all; the server's list is intersected with it. */
export const ACCEPTED_ALGORITHMS: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
];

/**
 * The algorithms to accept for ID tokens: the server's `id_token_signing_alg_values_supported`
 * (default `RS256`, as OpenID Connect Discovery says) limited to {@link ACCEPTED_ALGORITHMS}.
 */
export function allowedAlgorithms(metadata: { id_token_signing_alg_values_supported?: unknown }): string[] {
  const advertised = metadata.id_token_signing_alg_values_supported;
  const list = Array.isArray(advertised)
    ? advertised.filter((a): a is string => typeof a === 'string')
    : ['RS256'];
  return ACCEPTED_ALGORITHMS.filter((alg) => list.includes(alg));
}

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export interface JwtContext {
  issuer: string;
  clientId: string;
  algorithms: readonly string[];
  jwks: JwksCache;
  /** Allowed difference between the login server's clock and ours for `exp`, `iat`, `nbf`. */
  clockToleranceSec: number;
  now: () => number;
}

interface Failure {
  check: string;
  reason: string;
}

function describeJoseError(err: unknown): Failure | null {
  if (err instanceof errors.JWTExpired) {
    return { check: err.claim === 'unspecified' ? 'exp' : err.claim, reason: 'the token has expired' };
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    const reason =
      err.reason === 'missing'
        ? `the "${err.claim}" claim is missing`
        : `the "${err.claim}" claim is not as expected`;
    return { check: err.claim, reason };
  }
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return { check: 'alg', reason: 'it is signed with an algorithm that is not allowed' };
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return { check: 'signature', reason: 'the signature does not verify with the login server keys' };
  }
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return { check: 'kid', reason: 'no single key of the login server matches its key id' };
  }
  if (err instanceof errors.JOSENotSupported) {
    return { check: 'alg', reason: 'its algorithm or key type is not supported' };
  }
  if (err instanceof errors.JWTInvalid || err instanceof errors.JWSInvalid) {
    return { check: 'format', reason: 'it is not a well-formed signed JWT' };
  }
  return null;
}

function invalid(code: VmproErrorCode, what: string, failure: Failure, cause?: unknown): VmproError {
  return new VmproError(code, `The ${what} failed the "${failure.check}" check: ${failure.reason}.`, {
    ...(cause !== undefined && { cause }),
  });
}

async function verify(
  token: string,
  ctx: JwtContext,
  call: Call,
  code: VmproErrorCode,
  what: string,
  requiredClaims: string[],
): Promise<JWTVerifyResult> {
  if (typeof token !== 'string' || token.split('.').length !== 3) {
    throw invalid(code, what, { check: 'format', reason: 'it is not a compact signed JWT' });
  }
  if (ctx.algorithms.length === 0) {
    throw invalid(code, what, {
      check: 'alg',
      reason: 'the login server advertises no acceptable algorithm',
    });
  }
  try {
    return await jwtVerify(token, ctx.jwks.resolver(call), {
      algorithms: [...ctx.algorithms],
      issuer: ctx.issuer,
      audience: ctx.clientId,
      clockTolerance: ctx.clockToleranceSec,
      currentDate: new Date(ctx.now()),
      requiredClaims,
    });
  } catch (err) {
    if (err instanceof VmproError) throw err; // key set could not be fetched
    const failure = describeJoseError(err);
    if (failure) throw invalid(code, what, failure, err);
    throw new VmproError(code, `The ${what} could not be validated.`, { cause: err });
  }
}

function checkIat(payload: JWTPayload, ctx: JwtContext, code: VmproErrorCode, what: string): number {
  const { iat } = payload;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) {
    throw invalid(code, what, { check: 'iat', reason: 'the "iat" claim is missing or not a number' });
  }
  const aheadSec = iat - ctx.now() / 1000;
  if (aheadSec > ctx.clockToleranceSec) {
    throw invalid(code, what, {
      check: 'iat',
      reason: `it was issued ${Math.round(aheadSec)} s in the future, beyond the ${ctx.clockToleranceSec} s clock tolerance: this machine's clock or the login server's is off (synchronise both with NTP; \`vmpro doctor\` measures the difference)`,
    });
  }
  return iat;
}

/**
 * Validates an ID token (OpenID Connect Core §3.1.3.7): signature (allowed algorithms, keys from
 * `jwks_uri`), `iss` equals the issuer, `aud` contains the client id, `azp` equals the client id
 * when `aud` has several values or `azp` is present, `exp` and `iat` (required; not in the
 * future) with tolerance, `sub` present, and `nonce` when `expectedNonce` is a string.
 * Failures are `VMPRO_ID_TOKEN_INVALID` naming the failed check, never the token.
 */
export async function verifyIdToken(
  idToken: string,
  ctx: JwtContext,
  call: Call,
  expectedNonce: string | null,
): Promise<IdTokenClaims> {
  const code = 'VMPRO_ID_TOKEN_INVALID';
  const what = 'ID token';
  const { payload, protectedHeader } = await verify(idToken, ctx, call, code, what, [
    'iss',
    'sub',
    'aud',
    'exp',
    'iat',
  ]);
  if (typeof protectedHeader.typ === 'string' && /logout\+jwt$/i.test(protectedHeader.typ)) {
    throw invalid(code, what, { check: 'typ', reason: 'it is a logout token, not an ID token' });
  }
  checkIat(payload, ctx, code, what);
  if (typeof payload.sub !== 'string' || payload.sub === '') {
    throw invalid(code, what, { check: 'sub', reason: 'the "sub" claim is missing or empty' });
  }
  const aud = payload.aud;
  if ((Array.isArray(aud) && aud.length > 1) || payload.azp !== undefined) {
    if (payload.azp !== ctx.clientId) {
      throw invalid(code, what, {
        check: 'azp',
        reason: 'the authorized party ("azp") is not this client',
      });
    }
  }
  if (expectedNonce !== null && payload.nonce !== expectedNonce) {
    throw invalid(code, what, {
      check: 'nonce',
      reason:
        payload.nonce === undefined
          ? 'the "nonce" claim is missing'
          : 'the "nonce" claim does not match the login transaction',
    });
  }
  return payload as IdTokenClaims;
}

/** The validated content of a back-channel logout token. */
export interface LogoutTokenClaims {
  iss: string;
  sub?: string;
  sid?: string;
  jti: string;
  iat: number;
}

/**
 * Validates an OpenID Connect Back-Channel Logout 1.0 logout token (§2.6): signature (allowed
 * algorithms), `iss`, `aud` contains the client id, `iat` (not in the future, not older than
 * `maxAgeSec`), `exp` when present, `jti` present, `events` contains the back-channel logout
 * event, `sid` and/or `sub` present, no `nonce`. `typ: logout+jwt` is accepted, not required.
 * Failures are `VMPRO_LOGOUT_TOKEN_INVALID`.
 */
export async function verifyLogoutToken(
  logoutToken: string,
  ctx: JwtContext,
  call: Call,
  maxAgeSec: number,
): Promise<LogoutTokenClaims> {
  const code = 'VMPRO_LOGOUT_TOKEN_INVALID';
  const what = 'logout token';
  const { payload } = await verify(logoutToken, ctx, call, code, what, [
    'iss',
    'aud',
    'iat',
    'jti',
    'events',
  ]);
  const iat = checkIat(payload, ctx, code, what);
  if (iat < ctx.now() / 1000 - maxAgeSec - ctx.clockToleranceSec) {
    throw invalid(code, what, { check: 'iat', reason: `it was issued more than ${maxAgeSec} seconds ago` });
  }
  if (typeof payload.jti !== 'string' || payload.jti === '') {
    throw invalid(code, what, { check: 'jti', reason: 'the "jti" claim is missing or empty' });
  }
  const events = payload.events;
  if (
    typeof events !== 'object' ||
    events === null ||
    Array.isArray(events) ||
    typeof (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT] !== 'object' ||
    (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT] === null
  ) {
    throw invalid(code, what, {
      check: 'events',
      reason: `the "events" claim does not contain ${BACKCHANNEL_LOGOUT_EVENT}`,
    });
  }
  const sub = typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : undefined;
  const sid = typeof payload.sid === 'string' && payload.sid !== '' ? payload.sid : undefined;
  if (payload.sub !== undefined && sub === undefined) {
    throw invalid(code, what, { check: 'sub', reason: 'the "sub" claim is not a non-empty string' });
  }
  if (payload.sid !== undefined && sid === undefined) {
    throw invalid(code, what, { check: 'sid', reason: 'the "sid" claim is not a non-empty string' });
  }
  if (sub === undefined && sid === undefined) {
    throw invalid(code, what, {
      check: 'sid/sub',
      reason: 'it names neither a session ("sid") nor a user ("sub")',
    });
  }
  if (payload.nonce !== undefined) {
    throw invalid(code, what, { check: 'nonce', reason: 'a logout token must not contain a "nonce"' });
  }
  return {
    iss: payload.iss as string,
    ...(sub !== undefined && { sub }),
    ...(sid !== undefined && { sid }),
    jti: payload.jti,
    iat,
  };
}
