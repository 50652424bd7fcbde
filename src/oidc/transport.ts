/**
 * The one place where the protocol layer touches the network: a `fetch` wrapper with a timeout
 * per request, the caller's abort signal, and no redirects. Failures become a
 * {@link TransportError} saying whether the request timed out, was aborted or failed on the
 * network, so every caller can map it to a stable code.
 */

import { VmproError, type VmproErrorCode } from '../errors.js';

export type TransportFailure = 'timeout' | 'aborted' | 'network';

/** A request that got no HTTP answer. Never carries request bodies or headers. */
export class TransportError extends Error {
  readonly kind: TransportFailure;
  readonly url: string;

  constructor(kind: TransportFailure, url: string, cause: unknown) {
    super(
      kind === 'timeout'
        ? `no answer from ${url} in time`
        : kind === 'aborted'
          ? `the request to ${url} was aborted`
          : `could not reach ${url}`,
      { cause },
    );
    this.name = 'TransportError';
    this.kind = kind;
    this.url = url;
  }
}

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/**
 * One protocol operation (discovery, a grant, a JWKS fetch…): all its requests share the
 * caller's abort signal, each gets its own timeout. {@link timedOut} stays true once any of them
 * ran out of time, so an error raised later (while the body is read) is still recognised as a
 * timeout.
 */
export class Call {
  #fetch: typeof fetch;
  #timeoutMs: number;
  #timeouts: AbortSignal[] = [];
  readonly signal: AbortSignal | undefined;

  constructor(fetchImpl: typeof fetch, timeoutMs: number, signal?: AbortSignal) {
    this.#fetch = fetchImpl;
    this.#timeoutMs = timeoutMs;
    this.signal = signal;
  }

  get timedOut(): boolean {
    return this.#timeouts.some((s) => s.aborted);
  }

  get aborted(): boolean {
    return this.signal?.aborted === true;
  }

  /** `fetch` with timeout, the call's signal and `redirect: 'manual'` (never follows redirects). */
  readonly fetch: FetchLike = async (url, init) => {
    if (this.signal?.aborted) throw new TransportError('aborted', url, this.signal.reason);
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    // A signal in `init` comes from openid-client, which only uses it for its own timeout.
    const timeouts = init.signal ? [timeout, init.signal] : [timeout];
    this.#timeouts.push(...timeouts);
    const signals = this.signal ? [...timeouts, this.signal] : timeouts;
    try {
      return await this.#fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.any(signals) });
    } catch (cause) {
      if (this.signal?.aborted) throw new TransportError('aborted', url, cause);
      if (timeouts.some((s) => s.aborted)) throw new TransportError('timeout', url, cause);
      throw new TransportError('network', url, cause);
    }
  };
}

/** The first {@link TransportError} in `err`'s cause chain. */
export function findTransportError(err: unknown): TransportError | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 8 && current !== null && current !== undefined; depth++) {
    if (current instanceof TransportError) return current;
    if (typeof current !== 'object') return undefined;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Maps a failure without an HTTP answer to the package's codes: timeouts and network failures
 * are retryable (`VMPRO_UPSTREAM_TIMEOUT` / `VMPRO_UPSTREAM_UNAVAILABLE`, or `code` when given),
 * an abort by the caller is `VMPRO_ABORTED`.
 */
export function transportFailure(
  call: Call,
  err: unknown,
  what: string,
  options: { code?: VmproErrorCode; retryable?: boolean; hint?: string } = {},
): VmproError | undefined {
  const transport = findTransportError(err);
  const hint = options.hint ? ` ${options.hint}` : '';
  if (call.aborted || transport?.kind === 'aborted') {
    return new VmproError('VMPRO_ABORTED', `${what} was aborted by the caller.`, { cause: err });
  }
  if (call.timedOut || transport?.kind === 'timeout') {
    return new VmproError(
      options.code ?? 'VMPRO_UPSTREAM_TIMEOUT',
      `${what} timed out: ${transport?.url ?? 'the login server'} did not answer in time.${hint}`,
      { cause: err, retryable: options.retryable ?? true },
    );
  }
  if (transport) {
    return new VmproError(
      options.code ?? 'VMPRO_UPSTREAM_UNAVAILABLE',
      `${what} failed: ${transport.url} could not be reached (${describeCause(transport.cause)}).${hint}`,
      { cause: err, retryable: options.retryable ?? true },
    );
  }
  return undefined;
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = (cause as { cause?: unknown }).cause;
    const code =
      inner && typeof inner === 'object' && 'code' in inner ? String((inner as { code: unknown }).code) : '';
    return code ? `${cause.message}: ${code}` : cause.message;
  }
  return 'network error';
}
