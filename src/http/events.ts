/**
 * Events for metrics and audit, without a dependency on Prometheus or OpenTelemetry: one
 * listener (`onEvent`) receives a discriminated union. Events never carry a token, code, secret
 * or cookie value — only the user's `sub`, the login server's session id (`sid`), timings and
 * outcomes.
 */
import type { SessionEndReason, SessionEvent } from '../session/index.js';

/** A user signed in: the callback created a session. `durationMs` runs from `/auth/login` to the session. */
export interface LoginEvent {
  type: 'login';
  at: number;
  sub: string;
  sid: string | null;
  durationMs: number;
}

/**
 * A logout: the user's (`POST /auth/logout`, reason `user`) or the login server's (back-channel
 * logout, reason `backchannel`; `sessions` is how many server-side sessions it deleted — 0 with
 * the cookie store, which refuses the cookies when they next arrive).
 */
export interface LogoutEvent {
  type: 'logout';
  at: number;
  /** `null` only for a back-channel logout token that names a `sid` and no `sub`. */
  sub: string | null;
  sid: string | null;
  reason: 'user' | 'backchannel';
  sessions?: number | undefined;
}

/**
 * Everything `onEvent` receives: `login`, `logout`, `refresh`, `refresh_failed`, `session_ended`.
 *
 * @example
 * ```ts
 * createVmproAuth({
 *   ...config,
 *   onEvent(event) {
 *     switch (event.type) {
 *       case 'login': logins.inc(); loginSeconds.observe(event.durationMs / 1000); break;
 *       case 'refresh_failed': refreshFailures.inc({ code: event.code, retryable: String(event.retryable) }); break;
 *       case 'session_ended': audit.write({ sub: event.sub, reason: event.reason }); break;
 *     }
 *   },
 * });
 * ```
 */
export type VmproEvent = LoginEvent | LogoutEvent | SessionEvent;

/** The `type` of each event. */
export type VmproEventType = VmproEvent['type'];

export type { SessionEndReason, SessionEvent };
