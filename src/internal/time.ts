/**
 * Waits `ms` milliseconds; rejects with the signal's reason as soon as `signal` aborts (at once
 * when it already has), and leaves no timer behind.
 *
 * @example
 * ```ts
 * await sleep(backoffMs, request.signal);
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * `promise`'s outcome, or a rejection with `onTimeout()` when it has not settled after `ms`.
 * The timer is cleared either way; `promise` itself is not cancelled (pass it a signal for that).
 *
 * @example
 * ```ts
 * await withTimeout(redis.call('GET', key), 500, () => new Error('Redis did not answer within 500 ms'));
 * ```
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
