export { parseRetryAfter } from '../internal/retry-after.js';
export { sleep as defaultSleep } from '../internal/time.js';

/**
 * Exponential back-off with "equal jitter": between half and all of
 * `min(limitMs, baseMs · 2^retry)`, so concurrent clients spread out but still wait.
 */
export function backoffDelay(retry: number, limitMs: number, random: () => number, baseMs = 300): number {
  const ceiling = Math.min(limitMs, baseMs * 2 ** retry);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
