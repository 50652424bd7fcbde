import { isVmproError, VmproError, type VmproErrorOptions } from '../errors.js';

/** What the API sent, as far as the client could tell. */
export interface VmproApiErrorDetails {
  status: number;
  method: string;
  /** Path and query of the request, with secret-looking query values redacted. */
  path: string;
  /** The API's `message`, when the body was JSON with one. */
  apiMessage?: string | undefined;
  /** The API's `code` (numeric like 1001 or an enum like `INVALID_INPUT`), when present. */
  apiCode?: string | number | undefined;
  /** The likely cause and fix, for the statuses that have a usual one. */
  hint?: string | undefined;
}

/**
 * The VideoManager Pro API answered with an error status (code `VMPRO_API_ERROR`).
 *
 * `retryable` is true for 429, 502, 503 and 504; `retryAfter` holds the API's `Retry-After`
 * in seconds when it sent one.
 *
 * @example
 * ```ts
 * try { await api.videos.get(vmId, videoId) }
 * catch (e) { if (isVmproApiError(e) && e.status === 404) return null; throw e }
 * ```
 */
export class VmproApiError extends VmproError {
  readonly status: number;
  readonly method: string;
  readonly path: string;
  readonly apiMessage: string | undefined;
  readonly apiCode: string | number | undefined;
  readonly hint: string | undefined;

  constructor(message: string, details: VmproApiErrorDetails, options: VmproErrorOptions = {}) {
    super('VMPRO_API_ERROR', message, options);
    this.name = 'VmproApiError';
    this.status = details.status;
    this.method = details.method;
    this.path = details.path;
    this.apiMessage = details.apiMessage;
    this.apiCode = details.apiCode;
    this.hint = details.hint;
  }
}

/**
 * True when `value` is a {@link VmproApiError} — also across two installed copies of
 * vmpro-connect, where `instanceof` fails.
 *
 * @example
 * ```ts
 * try { await api.videos.get(vmId, videoId) }
 * catch (e) { if (isVmproApiError(e) && e.status === 404) return null; throw e }
 * ```
 */
export function isVmproApiError(value: unknown): value is VmproApiError {
  return (
    isVmproError(value, 'VMPRO_API_ERROR') && typeof (value as Partial<VmproApiError>).status === 'number'
  );
}

/** Statuses that mean "try again later". */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** The usual cause and fix of an error status. */
export function hintFor(status: number, retryAfter?: number): string | undefined {
  switch (status) {
    case 400:
      return 'the API did not understand the request: check the parameters and the body';
    case 401:
      return 'the access token was refused twice: the login has ended or the token source is misconfigured';
    case 403:
      return 'the user has no access to this VideoManager or lacks the right for this action';
    case 404:
      return 'the resource does not exist, was deleted, or is not visible to this user: check the VideoManager and resource IDs';
    case 415:
      return 'wrong Content-Type, or a file type the API does not accept (for videos, the fileName suffix sets the type)';
    case 429:
      return retryAfter === undefined
        ? 'rate limit of 100 requests per minute: slow down and retry later'
        : `rate limit of 100 requests per minute: retry after ${retryAfter} s`;
    case 502:
    case 503:
    case 504:
      return retryAfter === undefined
        ? 'the API is unavailable for the moment: retry later'
        : `the API is unavailable for the moment: retry after ${retryAfter} s`;
    default:
      return status >= 500
        ? 'the API failed to handle the request: retry later or contact movingimage'
        : undefined;
  }
}

const SECRET_PARAM =
  /^(?:__token__|token|access_token|refresh_token|id_token|client_secret|password|code|sig|signature)$/i;

/**
 * The path and query of a URL for errors and logs, with the values of secret-looking query
 * parameters (`__token__` of upload URLs, `access_token`…) replaced by `REDACTED`.
 */
export function redactedPath(url: URL): string {
  if (url.search === '') return url.pathname;
  let redacted = false;
  const params = new URLSearchParams(url.search);
  const out = new URLSearchParams();
  for (const [key, value] of params) {
    if (SECRET_PARAM.test(key)) {
      out.append(key, 'REDACTED');
      redacted = true;
    } else {
      out.append(key, value);
    }
  }
  return redacted ? `${url.pathname}?${out.toString()}` : url.pathname + url.search;
}
