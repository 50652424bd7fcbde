import { configError, isVmproError, VmproError } from '../errors.js';
import { asLogger, type Logger } from '../logger.js';
import type { TokenSource } from '../token-source.js';
import type { OidcClient } from './client.js';
import type { TokenSet } from './types.js';

export interface ServiceAccountOptions {
  /** Usually a client with `clientId: 'anonymous'` (a public client: just its `client_id` is sent). */
  client: OidcClient;
  username: string;
  password: string;
  /** Refresh this many seconds before the access token expires. Default 30. */
  refreshMarginSec?: number | undefined;
  logger?: Logger | undefined;
  /** The clock, epoch ms. Default `Date.now`. */
  now?: () => number;
}

export type ServiceAccount = TokenSource & {
  /** The tokens held now, `null` before the first login and after `logout()`. */
  tokens(): TokenSet | null;
  /** Forgets the tokens and revokes the refresh token (when the server offers revocation). */
  logout(): Promise<void>;
};

function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    return Promise.reject(
      new VmproError('VMPRO_ABORTED', 'Getting an access token was aborted by the caller.'),
    );
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () =>
      reject(new VmproError('VMPRO_ABORTED', 'Getting an access token was aborted by the caller.'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/**
 * movingimage's "anonymous" scenario: a backend logs in with a VideoManager Pro user name and
 * password (password grant) and keeps a token fresh for the API client.
 *
 * `getAccessToken()` returns the cached access token while it is valid (with a margin); else it
 * refreshes, or logs in with the password again when the refresh token has expired or is refused
 * (`invalid_grant`). Concurrent callers share one request (single flight); `forceRefresh` forces a
 * refresh (still single flight). Other failures (`VMPRO_UPSTREAM_*`) are thrown and the next call
 * tries again. A caller's `signal` only stops that caller's wait.
 *
 * @example
 * ```ts
 * const client = await createOidcClient({ clientId: 'anonymous' });
 * const account = createServiceAccount({ client, username: 'api@example.com', password: process.env.VMPRO_PASSWORD! });
 * const token = await account.getAccessToken();
 * ```
 */
export function createServiceAccount(opts: ServiceAccountOptions): ServiceAccount {
  const { client, username, password } = opts;
  if (typeof client !== 'object' || client === null || typeof client.passwordGrant !== 'function') {
    throw configError(
      'client',
      'of createServiceAccount must be an OidcClient',
      'pass the result of createOidcClient',
    );
  }
  if (typeof username !== 'string' || username === '') {
    throw configError('username', 'of createServiceAccount must be a non-empty string');
  }
  if (typeof password !== 'string' || password === '') {
    throw configError('password', 'of createServiceAccount must be a non-empty string');
  }
  const marginSec = opts.refreshMarginSec ?? 30;
  if (typeof marginSec !== 'number' || !Number.isFinite(marginSec) || marginSec < 0) {
    throw configError('refreshMarginSec', 'of createServiceAccount must be a non-negative number of seconds');
  }
  const logger = asLogger(opts.logger);
  const now = opts.now ?? Date.now;
  const margin = marginSec * 1000;

  let current: TokenSet | null = null;
  let inflight: Promise<TokenSet> | null = null;
  let generation = 0;

  function accessTokenValid(tokens: TokenSet): boolean {
    // Unknown lifetime: use it until the API says invalid_token (then forceRefresh).
    return tokens.accessTokenExpiresAt === null || tokens.accessTokenExpiresAt - margin > now();
  }

  function refreshTokenUsable(tokens: TokenSet): boolean {
    if (tokens.refreshToken === null) return false;
    return tokens.refreshTokenExpiresAt === null || tokens.refreshTokenExpiresAt - margin > now();
  }

  async function login(): Promise<TokenSet> {
    logger.debug('service account: logging in with the password grant', { issuer: client.issuer });
    return client.passwordGrant(username, password);
  }

  async function renew(): Promise<TokenSet> {
    const held = current;
    if (held && refreshTokenUsable(held)) {
      try {
        return await client.refresh(held);
      } catch (err) {
        if (!isVmproError(err, 'VMPRO_REFRESH_EXPIRED')) throw err;
        logger.info('service account: the refresh token was refused, logging in again', {
          issuer: client.issuer,
        });
      }
    }
    return login();
  }

  function startRenewal(): Promise<TokenSet> {
    if (!inflight) {
      const started = generation;
      inflight = renew()
        .then((tokens) => {
          if (started === generation) current = tokens;
          return tokens;
        })
        .finally(() => {
          inflight = null;
        });
    }
    return inflight;
  }

  return {
    async getAccessToken(options = {}) {
      const held = current;
      if (!options.forceRefresh && held && accessTokenValid(held) && !inflight) {
        return held.accessToken;
      }
      const tokens = await raceSignal(startRenewal(), options.signal);
      return tokens.accessToken;
    },

    tokens() {
      return current;
    },

    async logout() {
      if (inflight) await inflight.catch(() => undefined);
      const held = current;
      current = null;
      generation++;
      if (held?.refreshToken) {
        try {
          await client.revoke(held.refreshToken, 'refresh_token');
        } catch (err) {
          logger.warn('service account: revoking the refresh token failed', {
            code: isVmproError(err) ? err.code : undefined,
          });
        }
      }
    },
  };
}
