/**
 * The contract between the emulator's login server (src/emulator/keycloak, src/emulator/index.ts)
 * and its VideoManager Pro API (src/emulator/api). The emulator is the *other party*: nothing
 * here is shared with the client side of vmpro-connect.
 */

/** What the API knows about the caller of a request, from a verified access token. */
export interface ApiPrincipal {
  sub: string;
  preferred_username?: string | undefined;
  /** Epoch seconds. */
  exp: number;
}

/** A fault the API should answer with instead of doing its work. */
export interface ApiFault {
  /** HTTP method to match; any when absent. */
  method?: string | undefined;
  /** Path pattern relative to the origin, e.g. `/v1/vms` or `/v1/vms/*\/videos` (`*` = one segment, `**` = any). */
  path: string;
  /**
   * `invalid_token`: 401 with `WWW-Authenticate: Bearer error="invalid_token"`;
   * `status`: answer `status` (with `Retry-After` when `retryAfter` is set);
   * `html`: an HTML error page with `status` (default 500);
   * `delay`: wait `delayMs` then answer normally;
   * `reset`: destroy the connection without an answer.
   */
  kind: 'invalid_token' | 'status' | 'html' | 'delay' | 'reset';
  status?: number | undefined;
  retryAfter?: number | undefined;
  delayMs?: number | undefined;
  /** How many matching requests the fault applies to; unlimited when absent. */
  times?: number | undefined;
}

/** Who an ID token names, from a verified ID token (for `POST /v1/vms/corp-tube-admin/user-info`). */
export interface ApiIdentity {
  sub: string;
  email?: string | undefined;
  name?: string | undefined;
}

export interface VmproApiOptions {
  /** Verifies a bearer access token issued by the emulator's login server; `null` when invalid or expired. */
  verifyAccessToken(token: string): Promise<ApiPrincipal | null>;
  /**
   * Verifies an ID token issued by the emulator's login server (signature, issuer, `exp`); `null`
   * when invalid or expired. Without it, `POST /v1/vms/corp-tube-admin/user-info` answers `501`.
   */
  verifyIdToken?: ((token: string) => Promise<ApiIdentity | null>) | undefined;
  /** The public origin the API is reached at (`http://127.0.0.1:PORT`), for `Location` headers and WebFinger. */
  origin(): string;
  /** The login server's issuer (`{origin}/auth/realms/platform`), for WebFinger. */
  issuer(): string;
  /** The emulator's clock in epoch ms (tests can move it forward). */
  now(): number;
  /** Requests per minute per user before `429`; off when absent or `false`. */
  rateLimitPerMinute?: number | false | undefined;
}

export interface ApiCounters {
  /** Requests per `METHOD path-pattern`, e.g. `GET /v1/vms`. */
  requests: Record<string, number>;
  /** Requests answered 401 because of a missing, bad or expired token. */
  unauthorized: number;
}

export interface VmproApi {
  /**
   * Answers `/.well-known/webfinger`, `/v1/**`, the upload receiver `/asset-in/chunks/vms/**`
   * (the upload URLs point there) and the control endpoints `/_emulator/api/**`; `null` for any
   * other path (the caller routes it elsewhere). Throws `EmulatorConnectionReset` (from
   * `src/emulator/api/index.ts`) when a `reset` fault matches, and an `AbortError` when a
   * `delay` fault is cut short by `request.signal`.
   */
  handle(request: Request): Promise<Response | null>;
  addFault(fault: ApiFault): void;
  clearFaults(): void;
  counters(): ApiCounters;
  /** Back to the seeded demo data, no faults, zero counters. */
  reset(): void;
}

/** The demo users both halves of the emulator agree on (login server: credentials; API: data). */
export const DEMO_USERS = [
  {
    username: 'demo',
    password: 'demo',
    sub: '6a7e3f0c-2b1d-4c5e-9f80-1d2c3b4a5e60',
    name: 'Dana Demo',
    given_name: 'Dana',
    family_name: 'Demo',
    email: 'dana.demo@example.com',
  },
  {
    username: 'novms',
    password: 'novms',
    sub: '0b9c8d7e-6f5a-4b3c-8d2e-1f0a9b8c7d6e',
    name: 'Nico NoVMs',
    given_name: 'Nico',
    family_name: 'NoVMs',
    email: 'nico.novms@example.com',
  },
] as const;
