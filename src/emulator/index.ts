/**
 * A local emulator of movingimage VideoManager Pro: a Keycloak-shaped login server (realm
 * `platform`) and the VideoManager Pro REST API with demo data, on one origin, with fault
 * injection, counters and a movable clock.
 *
 * It is for development and tests only. It has **no security**: its control endpoints
 * (`/_emulator/**`) need no credentials and the demo users' passwords are public.
 *
 * The emulator is the *other party*: it shares no code with the client side of vmpro-connect.
 *
 * @example
 * ```ts
 * import { startEmulator } from 'vmpro-connect/emulator';
 *
 * const emulator = await startEmulator();          // http://127.0.0.1:<free port>
 * console.log(emulator.issuer);                     // …/auth/realms/platform
 * emulator.addTokenFault({ grantType: 'refresh_token', kind: 'status', status: 503, retryAfter: 1, times: 1 });
 * await emulator.close();
 * ```
 */
import type { ApiCounters, ApiPrincipal, VmproApi } from './api/contract.js';
import { EmulatorConnectionReset } from './api/errors.js';
import { createVmproApi } from './api/index.js';
import { html, json, readJson } from './keycloak/http.js';
import { homePage } from './keycloak/pages.js';
import { validateTokenFault } from './keycloak/realm.js';
import { createLoginServer, REALM_PATH } from './keycloak/server.js';
import type { EmulatorClient, EmulatorUser, LoginCounters, TokenFault } from './keycloak/types.js';
import { serveFetchHandler } from './server.js';

export type { ApiCounters, ApiFault, ApiPrincipal, VmproApi } from './api/contract.js';
export { DEMO_USERS } from './api/contract.js';
export { EmulatorConnectionReset } from './api/errors.js';
export { DEFAULT_CLIENTS, REALM, REALM_PATH } from './keycloak/server.js';
export type {
  EmulatorClient,
  EmulatorGrantType,
  EmulatorUser,
  LoginCounters,
  RefreshSessionCounters,
  TokenFault,
} from './keycloak/types.js';
export { type FetchHandler, type ServedHandler, type ServeOptions, serveFetchHandler } from './server.js';

/** How the emulator behaves. Every field is optional; the defaults match movingimage's documented setup. */
export interface EmulatorOptions {
  /** Access token lifetime in seconds (`expires_in`); default 300. */
  accessTokenLifetime?: number | undefined;
  /** Refresh token lifetime and SSO idle timeout in seconds (Keycloak's `refresh_expires_in`); default 3600. */
  refreshTokenLifetime?: number | undefined;
  /**
   * The realm's clients. Default: the confidential `vmpro-demo` (secret `vmpro-demo-secret`,
   * redirect URIs `http://localhost:3000/auth/callback` and `http://127.0.0.1:3000/auth/callback`)
   * and the public `anonymous` (password grant).
   */
  clients?: EmulatorClient[] | undefined;
  /** The realm's users; default `DEMO_USERS` (`demo`/`demo`, `novms`/`novms`). */
  users?: EmulatorUser[] | undefined;
  /**
   * `true` acts like Keycloak's "Revoke Refresh Token" with max reuse 0: a refresh token works
   * once. Default `false` (Keycloak's default: old refresh tokens stay usable).
   */
  strictRefreshTokenReuse?: boolean | undefined;
  /** Add RFC 9207 `iss` to authorization responses and advertise it; default `true` (Keycloak 23+). */
  issParameter?: boolean | undefined;
  /** Add `session_state` to authorization responses; default `true`. */
  sessionStateParameter?: boolean | undefined;
  /** `token_type` of token responses; default `'bearer'` (as movingimage's docs show). */
  tokenTypeCase?: 'Bearer' | 'bearer' | undefined;
  /** Require PKCE on the authorization endpoint; default `false` (verified whenever sent). */
  requirePkce?: boolean | undefined;
  /** Requests per minute per user before the API answers `429`; passed to the API. */
  rateLimitPerMinute?: number | false | undefined;
  /** The base clock (epoch ms), default `Date.now`; `advanceClock` adds an offset. */
  now?: () => number;
  /** Used to send back-channel logout tokens; default the global `fetch`. */
  fetch?: typeof fetch | undefined;
  /**
   * Numbers in [0, 1) for token faults with a `probability`; default `Math.random`. Pass a
   * seeded generator to make a run with random faults repeatable.
   */
  random?: () => number;
}

/** Both halves' counters. */
export interface EmulatorCounters {
  login: LoginCounters;
  api: ApiCounters;
}

/** The emulator as a fetch handler, plus programmatic control. */
export interface Emulator {
  /**
   * Answers any request to the emulator origin, with a `Date` header from the emulator clock.
   * Throws {@link EmulatorConnectionReset} when a `reset` fault matched (like `fetch` rejecting
   * on a dropped connection).
   */
  handle(request: Request): Promise<Response>;
  counters(): EmulatorCounters;
  /**
   * Verifies an access token the way the API does: RS256 signature, issuer, `exp` by the emulator
   * clock, and that neither the token nor its session was revoked or logged out; `null` when not valid.
   */
  verifyAccessToken(token: string): Promise<ApiPrincipal | null>;
  /** Queues a fault on the token endpoint. */
  addTokenFault(fault: TokenFault): void;
  /** Removes token faults and API faults. */
  clearFaults(): void;
  /**
   * Moves the emulator clock forward: tokens and sessions expire by this clock, tokens are issued
   * by it, and `Date` headers show it (a login server whose clock runs ahead).
   */
  advanceClock(seconds: number): void;
  /** Adds a new signing key; the old one stays published in the JWKS. */
  rotateKeys(): Promise<void>;
  /** Ends the user's SSO sessions and sends back-channel logout; resolves to how many sessions ended. */
  logoutUser(usernameOrSub: string): Promise<number>;
  /** Registers (or replaces) a client. */
  addClient(client: EmulatorClient): void;
  /** Back to the start: no sessions, faults or extra clients, zero counters, clock offset 0, seeded API data. */
  reset(): void;
  /** The VideoManager Pro API half. */
  api: VmproApi;
}

/** An emulator listening on a socket. */
export interface RunningEmulator extends Emulator {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** `{url}/auth/realms/platform`. */
  issuer: string;
  /** The API origin (WebFinger discovery starts here); the same as `url`. */
  apiBase: string;
  /** Stops the server and closes every connection. */
  close(): Promise<void>;
}

const CONTROL_PREFIX = '/_emulator';

class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function controlError(status: number, message: string): Response {
  return json({ error: status === 405 ? 'method_not_allowed' : 'invalid_request', message }, status);
}

/** `response` with a `Date` header from the emulator clock (unless it has one already). */
function withDate(response: Response, nowMs: number): Response {
  if (response.type === 'error' || response.headers.has('date')) return response;
  const date = new Date(nowMs).toUTCString();
  try {
    response.headers.set('date', date);
    return response;
  } catch {
    // `Response.redirect()` and fetched responses have immutable headers.
    const headers = new Headers(response.headers);
    headers.set('date', date);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }
}

/**
 * Creates the emulator as a fetch handler (no socket). Requests may use any origin; the issuer
 * and URLs in answers come from `origin()` (default `http://localhost`).
 *
 * @example
 * ```ts
 * const emulator = await createEmulator({ origin: () => 'http://emulator.test' });
 * const res = await emulator.handle(new Request('http://emulator.test/auth/realms/platform/.well-known/openid-configuration'));
 * ```
 */
export async function createEmulator(
  options: EmulatorOptions & { origin?: () => string } = {},
): Promise<Emulator> {
  const origin = options.origin ?? (() => 'http://localhost');
  const baseNow = options.now ?? Date.now;
  let offsetMs = 0;
  const now = () => baseNow() + offsetMs;

  const login = await createLoginServer({
    origin,
    now,
    ...(options.accessTokenLifetime !== undefined
      ? { accessTokenLifetime: options.accessTokenLifetime }
      : {}),
    ...(options.refreshTokenLifetime !== undefined
      ? { refreshTokenLifetime: options.refreshTokenLifetime }
      : {}),
    ...(options.clients !== undefined ? { clients: options.clients } : {}),
    ...(options.users !== undefined ? { users: options.users } : {}),
    ...(options.strictRefreshTokenReuse !== undefined
      ? { strictRefreshTokenReuse: options.strictRefreshTokenReuse }
      : {}),
    ...(options.issParameter !== undefined ? { issParameter: options.issParameter } : {}),
    ...(options.sessionStateParameter !== undefined
      ? { sessionStateParameter: options.sessionStateParameter }
      : {}),
    ...(options.tokenTypeCase !== undefined ? { tokenTypeCase: options.tokenTypeCase } : {}),
    ...(options.requirePkce !== undefined ? { requirePkce: options.requirePkce } : {}),
    ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
    ...(options.random !== undefined ? { random: options.random } : {}),
  });
  const api = createVmproApi({
    verifyAccessToken: (token) => login.verifyAccessToken(token),
    verifyIdToken: (token) => login.verifyIdToken(token),
    origin,
    issuer: () => login.issuer(),
    now,
    ...(options.rateLimitPerMinute !== undefined ? { rateLimitPerMinute: options.rateLimitPerMinute } : {}),
  });

  const emulator: Emulator = {
    api,
    counters: () => ({ login: login.counters(), api: api.counters() }),
    verifyAccessToken: (token) => login.verifyAccessToken(token),
    addTokenFault: (fault) => login.addTokenFault(fault),
    clearFaults: () => {
      login.clearFaults();
      api.clearFaults();
    },
    advanceClock: (seconds) => {
      if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
        throw new TypeError('advanceClock(seconds): seconds must be a finite number ≥ 0.');
      }
      offsetMs += seconds * 1000;
    },
    rotateKeys: () => login.rotateKeys(),
    logoutUser: (usernameOrSub) => login.logoutUser(usernameOrSub),
    addClient: (client) => login.addClient(client),
    reset: () => {
      login.reset();
      api.reset();
      offsetMs = 0;
    },
    handle: async (request) => {
      const path = new URL(request.url).pathname;
      try {
        if (path === '/' && (request.method === 'GET' || request.method === 'HEAD')) {
          return html(
            homePage({
              issuer: login.issuer(),
              apiBase: origin(),
              users: login.users(),
              clients: login.clients(),
            }),
          );
        }
        const isApiControl = path === `${CONTROL_PREFIX}/api` || path.startsWith(`${CONTROL_PREFIX}/api/`);
        if ((path === CONTROL_PREFIX || path.startsWith(`${CONTROL_PREFIX}/`)) && !isApiControl) {
          return await control(request, path.slice(CONTROL_PREFIX.length));
        }
        const fromLogin = await login.handle(request);
        if (fromLogin) {
          if (fromLogin.type === 'error') throw new EmulatorConnectionReset();
          return fromLogin;
        }
        const fromApi = await api.handle(request);
        if (fromApi) return fromApi;
        return json({ error: 'not_found', message: `The emulator has nothing at ${path}.` }, 404);
      } catch (error) {
        if (error instanceof EmulatorConnectionReset || request.signal.aborted) throw error;
        const message = error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
        return json({ error: 'server_error', message: `The emulator failed: ${message}` }, 500);
      }
    },
  };

  // Keycloak-realistic: a server whose clock is off sends that clock in `Date` (what `vmpro
  // doctor` reads to measure the skew).
  const answer = emulator.handle;
  emulator.handle = async (request) => withDate(await answer(request), now());

  /** The control endpoints `/_emulator/**` (except `/_emulator/api/**`, which the API answers). */
  async function control(request: Request, sub: string): Promise<Response> {
    // No credentials, by design; but a web page in a browser must not drive the emulator.
    const fetchSite = request.headers.get('sec-fetch-site');
    const requestOrigin = request.headers.get('origin');
    if (
      (fetchSite && fetchSite !== 'same-origin' && fetchSite !== 'none') ||
      (requestOrigin && requestOrigin !== origin())
    ) {
      return controlError(403, 'Control endpoints refuse cross-site requests from browsers.');
    }
    const method = request.method;
    const expect = (allowed: string) => {
      if (method !== allowed) throw new ControlError(405, `Use ${allowed} for ${CONTROL_PREFIX}${sub}.`);
    };
    try {
      if (sub === '/counters') {
        expect('GET');
        return json(emulator.counters());
      }
      if (sub === '/faults/token') {
        expect('POST');
        const fault = validateTokenFault(await readJson(request));
        emulator.addTokenFault(fault);
        return json({ added: fault }, 201);
      }
      if (sub === '/faults') {
        expect('DELETE');
        emulator.clearFaults();
        return new Response(null, { status: 204 });
      }
      if (sub === '/clock') {
        expect('POST');
        const body = await readJson(request);
        const seconds = (body as { advanceSeconds?: unknown } | undefined)?.advanceSeconds;
        if (typeof seconds !== 'number')
          throw new ControlError(400, 'Send {"advanceSeconds": <number ≥ 0>}.');
        emulator.advanceClock(seconds);
        return json({ now: new Date(now()).toISOString(), offsetSeconds: offsetMs / 1000 });
      }
      if (sub === '/keys/rotate') {
        expect('POST');
        await emulator.rotateKeys();
        return new Response(null, { status: 204 });
      }
      const userLogout = /^\/users\/([^/]+)\/logout$/.exec(sub);
      if (userLogout) {
        expect('POST');
        const user = decodeURIComponent(userLogout[1]!);
        return json({ sessionsEnded: await emulator.logoutUser(user) });
      }
      if (sub === '/clients') {
        expect('POST');
        const client = (await readJson(request)) as EmulatorClient;
        emulator.addClient(client);
        return json({ added: client.clientId }, 201);
      }
      if (sub === '/reset') {
        expect('POST');
        emulator.reset();
        return new Response(null, { status: 204 });
      }
      return json({ error: 'not_found', message: `No control endpoint at ${CONTROL_PREFIX}${sub}.` }, 404);
    } catch (error) {
      if (error instanceof ControlError) return controlError(error.status, error.message);
      if (error instanceof TypeError || error instanceof URIError) return controlError(400, error.message);
      throw error;
    }
  }

  return emulator;
}

/**
 * Starts the emulator on a local socket (default `127.0.0.1`, any free port).
 *
 * @example
 * ```ts
 * const emulator = await startEmulator({ port: 4000, strictRefreshTokenReuse: true });
 * // discovery: GET {emulator.apiBase}/.well-known/webfinger?resource={emulator.apiBase}/v1/
 * await emulator.close();
 * ```
 */
export async function startEmulator(
  options: EmulatorOptions & { port?: number; host?: string } = {},
): Promise<RunningEmulator> {
  let origin = 'http://127.0.0.1';
  const { port, host, ...rest } = options;
  const emulator = await createEmulator({ ...rest, origin: () => origin });
  const served = await serveFetchHandler(emulator.handle, {
    ...(host !== undefined ? { host } : {}),
    ...(port !== undefined ? { port } : {}),
  });
  origin = served.url;
  return {
    ...emulator,
    url: origin,
    issuer: `${origin}${REALM_PATH}`,
    apiBase: origin,
    close: () => served.close(),
  };
}
