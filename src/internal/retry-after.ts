/**
 * Parses a `Retry-After` header (delay-seconds or an HTTP date, RFC 9110 §10.2.3) into
 * milliseconds from `now` (epoch ms). `undefined` when the header is absent or malformed; a date
 * in the past gives 0. A date must name a weekday or month: bare numbers with signs or decimals
 * are malformed, not dates.
 *
 * @example
 * ```ts
 * parseRetryAfter(response.headers.get('retry-after'), Date.now()); // 120 → 120_000
 * ```
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
