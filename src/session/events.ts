/**
 * Delivery of events (login, refresh, ended sessions…) to the app's listener, off the request's
 * path: the listener runs after the current work (a timer, not a microtask, so the response is
 * on its way first), is never awaited, and whatever it throws or rejects with is logged.
 */
import type { Logger } from '../logger.js';

/** Sends one event; never throws, never waits. */
export type Emit<E> = (event: E) => void;

/** An emitter that does nothing (no listener configured). */
export const noEmit: Emit<unknown> = () => {};

/**
 * Wraps `listener` so that a throwing, rejecting or slow one cannot break or delay a request.
 *
 * @example
 * ```ts
 * const emit = eventEmitter(options.onEvent, logger);
 * emit({ type: 'refresh', at: Date.now(), sub, durationMs: 12, outcome: 'refreshed' });
 * ```
 */
export function eventEmitter<E extends { type: string }>(
  listener: ((event: E) => void | Promise<void>) | undefined,
  logger: Logger,
): Emit<E> {
  if (listener === undefined) return noEmit;
  const failed = (event: E, error: unknown) => {
    logger.error('vmpro-connect: the onEvent listener failed; the request was not affected', {
      event: event.type,
      ...(error instanceof Error ? { error: error.name, message: error.message } : { error: typeof error }),
    });
  };
  return (event) => {
    const frozen = Object.freeze(event);
    setTimeout(() => {
      try {
        const result = listener(frozen);
        if (result && typeof (result as Promise<void>).then === 'function') {
          (result as Promise<void>).then(undefined, (error: unknown) => failed(frozen, error));
        }
      } catch (error) {
        failed(frozen, error);
      }
    }, 0);
  };
}
