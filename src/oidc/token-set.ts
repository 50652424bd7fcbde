import { VmproError } from '../errors.js';
import type { IdTokenClaims, TokenSet } from './types.js';

/** A token endpoint answer as openid-client returns it (Keycloak's extra fields included). */
export interface TokenResponse {
  access_token?: unknown;
  token_type?: unknown;
  expires_in?: unknown;
  refresh_token?: unknown;
  refresh_expires_in?: unknown;
  id_token?: unknown;
  scope?: unknown;
  session_state?: unknown;
  [field: string]: unknown;
}

function responseInvalid(problem: string): VmproError {
  return new VmproError(
    'VMPRO_TOKEN_RESPONSE_INVALID',
    `The login server's token response is not usable: ${problem}.`,
  );
}

function seconds(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) {
    throw responseInvalid(`"${field}" is not a non-negative number`);
  }
  return n;
}

/** Keycloak puts whole seconds in `exp` (and counts `expires_in` in them): up to this much is cut off. */
const WHOLE_SECOND_MS = 1000;

export interface ToTokenSetOptions {
  receivedAt: number;
  /**
   * When the token request was sent. Given, expiries count from here and a second early: the
   * server counted `expires_in` from a moment after it, in whole seconds (Keycloak truncates its
   * `exp`), so a token may die up to a second before `sentAt + expires_in`. The expiry is then
   * never later than the server's, and a token is never used (or served while a refresh fails)
   * after it has died. Absent: `receivedAt + expires_in`, exactly.
   */
  sentAt?: number;
  /** Claims of the validated ID token of this response, `null` when it had none. */
  claims: IdTokenClaims | null;
  /** The tokens being refreshed: their refresh token, ID token, scope and session are kept when the answer has none. */
  previous?: TokenSet | null;
  /** Called once for an offline token (`refresh_expires_in: 0`). */
  onOfflineToken?: () => void;
}

/**
 * Builds a JSON-safe {@link TokenSet} from a token response: absolute expiries from `expires_in`
 * and Keycloak's `refresh_expires_in` (`0` = offline token: no expiry), `token_type` compared
 * case-insensitively with `Bearer`, non-empty `access_token` required. On refresh, what the answer
 * lacks (refresh token and its expiry, ID token and claims, scope, session) is kept from `previous`.
 */
export function toTokenSet(response: TokenResponse, options: ToTokenSetOptions): TokenSet {
  const { receivedAt, previous, sentAt } = options;
  const expiry = (seconds: number): number =>
    sentAt === undefined
      ? receivedAt + seconds * 1000
      : sentAt + Math.max(0, seconds * 1000 - WHOLE_SECOND_MS);
  if (typeof response.access_token !== 'string' || response.access_token === '') {
    throw responseInvalid('"access_token" is missing or empty');
  }
  if (typeof response.token_type !== 'string' || response.token_type.toLowerCase() !== 'bearer') {
    throw responseInvalid(
      `"token_type" is ${typeof response.token_type === 'string' ? `"${response.token_type.slice(0, 20)}"` : 'missing'}, not "Bearer"`,
    );
  }
  const expiresIn = seconds(response.expires_in, 'expires_in');
  const refreshExpiresIn = seconds(response.refresh_expires_in, 'refresh_expires_in');

  let refreshToken: string | null;
  let refreshTokenExpiresAt: number | null;
  if (response.refresh_token !== undefined && response.refresh_token !== null) {
    if (typeof response.refresh_token !== 'string' || response.refresh_token === '') {
      throw responseInvalid('"refresh_token" is not a non-empty string');
    }
    refreshToken = response.refresh_token;
    if (refreshExpiresIn === 0) {
      options.onOfflineToken?.();
      refreshTokenExpiresAt = null;
    } else {
      refreshTokenExpiresAt = refreshExpiresIn === undefined ? null : expiry(refreshExpiresIn);
    }
  } else {
    // RFC 6749 §6: no new refresh token means the old one stays valid.
    refreshToken = previous?.refreshToken ?? null;
    refreshTokenExpiresAt = previous?.refreshTokenExpiresAt ?? null;
  }

  let idToken: string | null;
  let claims: IdTokenClaims | null;
  if (typeof response.id_token === 'string' && response.id_token !== '') {
    idToken = response.id_token;
    claims = options.claims;
  } else {
    idToken = previous?.idToken ?? null;
    claims = previous?.claims ?? null;
  }

  return {
    accessToken: response.access_token,
    tokenType: 'Bearer',
    accessTokenExpiresAt: expiresIn === undefined ? null : expiry(expiresIn),
    refreshToken,
    refreshTokenExpiresAt,
    idToken,
    claims: claims === null ? null : (JSON.parse(JSON.stringify(claims)) as IdTokenClaims),
    scope: typeof response.scope === 'string' ? response.scope : (previous?.scope ?? null),
    sessionState:
      typeof response.session_state === 'string' ? response.session_state : (previous?.sessionState ?? null),
    receivedAt,
  };
}
