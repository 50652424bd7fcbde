import { VmproError } from '../errors.js';
import type { TokenSource } from '../token-source.js';

const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * A token source that always returns the same access token: for scripts, tests and tokens
 * obtained elsewhere. It cannot refresh; when the API refuses the token, the call fails with a
 * `401` `VmproApiError` after one retry.
 *
 * @example
 * ```ts
 * const api = createVmproApiClient({ tokenSource: fixedToken(process.env.VMPRO_TOKEN ?? '') })
 * ```
 */
export function fixedToken(token: string): TokenSource {
  if (typeof token !== 'string' || token === '') {
    throw new VmproError('VMPRO_CONFIG_INVALID', 'fixedToken needs a non-empty access token.');
  }
  if (/^bearer\s/i.test(token)) {
    throw new VmproError(
      'VMPRO_CONFIG_INVALID',
      'fixedToken needs the bare access token, without "Bearer ".',
    );
  }
  if (!BEARER_TOKEN.test(token)) {
    // Never echo the value: it may be a real token with a stray newline.
    throw new VmproError(
      'VMPRO_CONFIG_INVALID',
      'fixedToken was given a value that is not a bearer token (it contains spaces, line breaks or other characters a token cannot have).',
    );
  }
  return Object.freeze({
    getAccessToken: async (options?: { signal?: AbortSignal }) => {
      options?.signal?.throwIfAborted();
      return token;
    },
  });
}
