/**
 * Parses `Retry-After` (delay-seconds or an HTTP date) into milliseconds from `now`.
 * Returns `undefined` when the header is absent or malformed; a date in the past gives 0.
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date always names a weekday or month; bare numbers with signs or decimals are malformed.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * Exponential back-off with "equal jitter": between half and all of
 * `min(limitMs, baseMs · 2^retry)`, so concurrent clients spread out but still wait.
 */
export function backoffDelay(retry: number, limitMs: number, random: () => number, baseMs = 300): number {
  const ceiling = Math.min(limitMs, baseMs * 2 ** retry);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** A `setTimeout` promise that rejects with the signal's reason when it aborts. */
export function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
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
