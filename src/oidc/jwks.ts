/**
 * The login server's signing keys, from the discovered `jwks_uri` only. Key selection and
 * signature checks are jose's (`createLocalJWKSet`); this module decides when to fetch:
 * once on first use, again when the set is older than {@link JWKS_MAX_AGE_SEC}, and on an
 * unknown `kid` at most once per cool-down. Concurrent fetches share one request; on a failed
 * refetch the last good keys stay in use.
 */

import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { VmproError } from '../errors.js';
import type { Logger } from '../logger.js';
import { type Call, transportFailure } from './transport.js';

export const JWKS_MAX_AGE_SEC = 600;

export interface JwksCacheOptions {
  jwksUri: string;
  cooldownSec: number;
  now: () => number;
  logger: Logger;
}

export interface JwksCache {
  /** A jose key resolver whose network requests belong to `call`. */
  resolver(call: Call): JWTVerifyGetKey;
  /** How many times the key set was fetched (for diagnostics and tests). */
  readonly fetchCount: number;
}

export function createJwksCache(options: JwksCacheOptions): JwksCache {
  const { jwksUri, now, logger } = options;
  let keys: JWTVerifyGetKey | null = null;
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let lastAttemptAt = Number.NEGATIVE_INFINITY;
  let inflight: Promise<JWTVerifyGetKey> | null = null;
  let fetchCount = 0;

  async function fetchKeys(call: Call): Promise<JWTVerifyGetKey> {
    lastAttemptAt = now();
    fetchCount++;
    let response: Response;
    try {
      response = await call.fetch(jwksUri, {
        method: 'GET',
        headers: { accept: 'application/jwk-set+json, application/json' },
      });
    } catch (err) {
      throw (
        transportFailure(call, err, 'Fetching the login server keys (jwks_uri)') ??
        new VmproError(
          'VMPRO_UPSTREAM_UNAVAILABLE',
          `Could not fetch the login server keys from ${jwksUri}.`,
          {
            cause: err,
            retryable: true,
          },
        )
      );
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      const transient = response.status >= 500 || response.status === 429;
      throw new VmproError(
        'VMPRO_UPSTREAM_UNAVAILABLE',
        `The login server keys could not be fetched: ${jwksUri} answered HTTP ${response.status}.`,
        { retryable: transient },
      );
    }
    let jwks: unknown;
    try {
      jwks = await response.json();
    } catch (err) {
      throw (
        transportFailure(call, err, 'Fetching the login server keys (jwks_uri)') ??
        new VmproError('VMPRO_UPSTREAM_UNAVAILABLE', `The key set at ${jwksUri} is not JSON.`, { cause: err })
      );
    }
    try {
      const set = createLocalJWKSet(jwks as JSONWebKeySet);
      fetchedAt = now();
      logger.debug('jwks: fetched', { jwksUri });
      return set;
    } catch (err) {
      throw new VmproError('VMPRO_UPSTREAM_UNAVAILABLE', `The key set at ${jwksUri} is malformed.`, {
        cause: err,
      });
    }
  }

  function load(call: Call): Promise<JWTVerifyGetKey> {
    if (!inflight) {
      inflight = fetchKeys(call)
        .then(
          (set) => {
            keys = set;
            return set;
          },
          (err: unknown) => {
            if (keys) {
              logger.warn('jwks: refetch failed, keeping the last good keys', {
                jwksUri,
                code: err instanceof VmproError ? err.code : undefined,
              });
              return keys;
            }
            throw err;
          },
        )
        .finally(() => {
          inflight = null;
        });
    }
    return inflight;
  }

  return {
    get fetchCount() {
      return fetchCount;
    },
    resolver(call) {
      return async (header, token) => {
        let set = keys;
        if (!set || now() - fetchedAt >= JWKS_MAX_AGE_SEC * 1000) set = await load(call);
        try {
          return await set(header, token);
        } catch (err) {
          if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
          // An unknown kid may mean the server rotated its keys: look again, but not too often.
          if (inflight) {
            set = await inflight;
          } else if (now() - lastAttemptAt >= options.cooldownSec * 1000) {
            logger.info('jwks: unknown key, fetching the key set again', { jwksUri, kid: header.kid });
            set = await load(call);
          } else {
            throw err;
          }
          return await set(header, token);
        }
      };
    },
  };
}
