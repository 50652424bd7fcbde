/**
 * The optional per-user rate limit (movingimage documents 100 requests per minute, DOC-UPLOAD):
 * a sliding one-minute window on the emulator's clock. Refused requests do not count.
 */

const WINDOW_MS = 60_000;

export class RateLimiter {
  readonly #limit: number;
  readonly #log = new Map<string, number[]>();

  constructor(limitPerMinute: number) {
    this.#limit = limitPerMinute;
  }

  /** Records a request of `user` at `now`; `null` when allowed, else the seconds to wait. */
  take(user: string, now: number): number | null {
    const recent = (this.#log.get(user) ?? []).filter((at) => at > now - WINDOW_MS);
    if (recent.length >= this.#limit) {
      this.#log.set(user, recent);
      return Math.max(1, Math.ceil((Math.min(...recent) + WINDOW_MS - now) / 1000));
    }
    recent.push(now);
    this.#log.set(user, recent);
    return null;
  }

  clear(): void {
    this.#log.clear();
  }
}
