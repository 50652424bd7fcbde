/**
 * Timeouts for Node's own `fetch` without an AbortSignal per request.
 *
 * Handing `fetch` a signal costs Node's fetch (undici) a WeakRef, a FinalizationRegistry entry
 * and an abort listener per request, about 3 % of a `GET /v1/vms` against a local server
 * (bench/api-overhead.ts). undici has timeouts of its own, per request: `headersTimeout` (from
 * sending the request to its answer's headers) and `bodyTimeout` (the longest pause between two
 * parts of the body). On Node, with the global `fetch` and no hooks, the client sets both to its
 * `timeoutMs` through a small dispatcher that hands every request on to the global dispatcher —
 * whatever the application installed there (a proxy, its own CA, a mock) keeps working.
 *
 * undici checks these timers about once a second, so a timeout fires up to a second late; timeouts
 * under {@link MIN_UNDICI_TIMEOUT_MS}, custom `fetch` functions, hooks (they get the signal in
 * their context) and other runtimes keep the AbortSignal.
 */

/** The slot undici (bundled in Node or from npm) keeps the global dispatcher in. */
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

/** Below this, undici's once-a-second timer check is too coarse: a signal is used instead. */
export const MIN_UNDICI_TIMEOUT_MS = 2_000;

const MAX_DISPATCHERS = 16;

/** The part of an undici dispatcher `fetch` uses. */
interface DispatcherLike {
  dispatch(options: Record<string, unknown>, handler: unknown): boolean;
  readonly isMockActive?: boolean;
}

function globalDispatcher(): DispatcherLike | undefined {
  const found = (globalThis as Record<symbol, unknown>)[GLOBAL_DISPATCHER] as DispatcherLike | undefined;
  return typeof found?.dispatch === 'function' ? found : undefined;
}

/** A dispatcher that sends each request through the global one with the given timeouts. */
function withTimeouts(timeoutMs: number): DispatcherLike {
  return Object.freeze({
    dispatch(options: Record<string, unknown>, handler: unknown): boolean {
      const target = globalDispatcher();
      if (target === undefined) throw new TypeError('the global undici dispatcher is gone');
      // fetch makes a new options object for every request: set the timeouts on it. A copy
      // ({ ...options, … }) costs undici about 1.5 % of a call (its hot code then sees objects
      // of another shape).
      options.headersTimeout = timeoutMs;
      options.bodyTimeout = timeoutMs;
      return target.dispatch(options, handler);
    },
    get isMockActive() {
      return globalDispatcher()?.isMockActive;
    },
  });
}

/**
 * Hands out the timeout dispatchers; `undefined` where a signal must be used. A dispatcher
 * depends on its timeout only, so one instance serves every client (the web adapters make a
 * client per request).
 */
export class UndiciTimeouts {
  private static readonly shared = new UndiciTimeouts();
  private readonly byTimeout = new Map<number, DispatcherLike>();

  /**
   * For a client whose `fetch` is the global one on Node (undici); `undefined` for a custom
   * `fetch` or another runtime, whose timeouts stay with AbortSignals.
   */
  static forFetch(custom: typeof fetch | undefined): UndiciTimeouts | undefined {
    if (custom !== undefined && custom !== globalThis.fetch) return undefined;
    const versions = (globalThis as { process?: { versions?: Record<string, string | undefined> } }).process
      ?.versions;
    if (typeof versions?.undici !== 'string' || typeof versions.node !== 'string') return undefined;
    return UndiciTimeouts.shared;
  }

  /**
   * The dispatcher for `timeoutMs`, or `undefined` when a signal must do: a short timeout, or no
   * global dispatcher yet (Node creates it on the process's first `fetch`).
   */
  dispatcher(timeoutMs: number): DispatcherLike | undefined {
    if (timeoutMs < MIN_UNDICI_TIMEOUT_MS || globalDispatcher() === undefined) return undefined;
    let dispatcher = this.byTimeout.get(timeoutMs);
    if (dispatcher === undefined) {
      if (this.byTimeout.size >= MAX_DISPATCHERS) return undefined;
      dispatcher = withTimeouts(timeoutMs);
      this.byTimeout.set(timeoutMs, dispatcher);
    }
    return dispatcher;
  }
}

const UNDICI_TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Whether `fetch` (or reading its body) failed on undici's headersTimeout or bodyTimeout. */
export function isUndiciTimeout(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 3 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && UNDICI_TIMEOUT_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
