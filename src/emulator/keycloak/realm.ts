/**
 * The emulated Keycloak realm `platform`: configuration, users and clients, keys, sessions,
 * counters and faults, and the checks every endpoint shares. The endpoints themselves live in
 * `authorize.ts` (browser-facing) and `token-endpoint.ts` (back-channel).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { parseCookies } from './http.js';
import type { KeyRing } from './keys.js';
import { type ClientSession, type IssuedToken, RealmState, type SsoSession } from './state.js';
import { mintLogoutToken, type TokenContext } from './tokens.js';
import type { EmulatorClient, EmulatorUser, LoginCounters, TokenFault } from './types.js';

/** The realm name movingimage uses. */
export const REALM = 'platform';
/** Path of the realm below the login server's origin (legacy WildFly layout with `/auth`). */
export const REALM_PATH = `/auth/realms/${REALM}`;
/** The browser's SSO cookie (HttpOnly; an opaque handle of the SSO session). */
export const IDENTITY_COOKIE = 'KEYCLOAK_IDENTITY';
/** Keycloak's script-readable session cookie: `realm/sub/session_state`. */
export const SESSION_COOKIE = 'KEYCLOAK_SESSION';
/** Authorization codes live 60 s (Keycloak's default "Client login timeout"). */
export const CODE_LIFETIME_MS = 60_000;
/** A login form may be submitted for 30 min (Keycloak's "Login timeout"). */
export const LOGIN_FORM_LIFETIME_MS = 30 * 60_000;
/** Back-channel logout receivers get this long to answer. */
const BACKCHANNEL_TIMEOUT_MS = 5_000;

/** The clients the realm has unless told otherwise. */
export const DEFAULT_CLIENTS: readonly EmulatorClient[] = deepFreeze([
  {
    clientId: 'vmpro-demo',
    clientSecret: 'vmpro-demo-secret',
    redirectUris: ['http://localhost:3000/auth/callback', 'http://127.0.0.1:3000/auth/callback'],
    postLogoutRedirectUris: ['http://localhost:3000/', 'http://127.0.0.1:3000/'],
    backchannelLogoutUri: 'http://127.0.0.1:3000/auth/backchannel-logout',
  },
  { clientId: 'anonymous', redirectUris: [], publicClient: true },
]);

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** Options of the login server (the emulator's options plus its clock and origin). */
export interface LoginServerOptions {
  /** The public origin, e.g. `http://127.0.0.1:4000`; read on every request. */
  origin(): string;
  /** The emulator's clock, epoch ms. */
  now(): number;
  accessTokenLifetime?: number | undefined;
  refreshTokenLifetime?: number | undefined;
  clients?: EmulatorClient[] | undefined;
  users?: EmulatorUser[] | undefined;
  strictRefreshTokenReuse?: boolean | undefined;
  issParameter?: boolean | undefined;
  sessionStateParameter?: boolean | undefined;
  tokenTypeCase?: 'Bearer' | 'bearer' | undefined;
  requirePkce?: boolean | undefined;
  /** Used to deliver back-channel logout tokens; default the global `fetch`. */
  fetch?: typeof fetch | undefined;
  /** Numbers in [0, 1) for probabilistic faults; default `Math.random`. */
  random?: () => number;
}

/** The options with defaults applied (a new frozen object; the caller's stays untouched). */
export interface RealmConfig {
  readonly accessTokenLifetime: number;
  readonly refreshTokenLifetime: number;
  readonly strictRefreshTokenReuse: boolean;
  readonly issParameter: boolean;
  readonly sessionStateParameter: boolean;
  readonly tokenTypeCase: 'Bearer' | 'bearer';
  readonly requirePkce: boolean;
}

function positiveSeconds(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) {
    throw new TypeError(`Emulator option ${field} must be a positive whole number of seconds, got ${value}.`);
  }
  return value;
}

/** Checks a client definition and returns a copy; throws a TypeError naming the problem. */
export function validateClient(client: EmulatorClient): EmulatorClient {
  if (typeof client?.clientId !== 'string' || client.clientId === '') {
    throw new TypeError('Emulator client: clientId must be a non-empty string.');
  }
  const where = `Emulator client "${client.clientId}"`;
  if (!Array.isArray(client.redirectUris)) throw new TypeError(`${where}: redirectUris must be an array.`);
  const urls = [
    ...client.redirectUris,
    ...(client.postLogoutRedirectUris ?? []),
    ...(client.backchannelLogoutUri !== undefined ? [client.backchannelLogoutUri] : []),
  ];
  for (const uri of urls) {
    if (typeof uri !== 'string' || !URL.canParse(uri)) {
      throw new TypeError(`${where}: "${String(uri)}" is not an absolute URL.`);
    }
  }
  if (!client.publicClient && (typeof client.clientSecret !== 'string' || client.clientSecret === '')) {
    throw new TypeError(`${where}: a confidential client needs a clientSecret (or set publicClient: true).`);
  }
  return {
    ...client,
    redirectUris: [...client.redirectUris],
    ...(client.postLogoutRedirectUris ? { postLogoutRedirectUris: [...client.postLogoutRedirectUris] } : {}),
  };
}

function validateUsers(users: readonly EmulatorUser[]): EmulatorUser[] {
  const seen = new Set<string>();
  return users.map((u) => {
    for (const field of ['username', 'password', 'sub', 'name', 'email'] as const) {
      if (typeof u?.[field] !== 'string' || u[field] === '') {
        throw new TypeError(`Emulator user: ${field} must be a non-empty string.`);
      }
    }
    const key = u.username.toLowerCase();
    if (seen.has(key)) throw new TypeError(`Emulator user "${u.username}" is defined twice.`);
    seen.add(key);
    return { ...u };
  });
}

function zeroCounters(): LoginCounters {
  return {
    tokenRequests: { authorization_code: 0, refresh_token: 0, password: 0 },
    tokenErrors: 0,
    authorizationRequests: 0,
    logins: 0,
    revocations: 0,
    backchannelLogoutsSent: 0,
    backchannelLogoutsFailed: 0,
    maxConcurrentRefreshes: 0,
    refreshesBySession: [],
  };
}

function sameSecret(given: string, expected: string): boolean {
  // Hash first so the comparison does not leak the length.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Why a refresh token was refused, as Keycloak words it. */
export type RefreshCheck =
  | { ok: true; payload: JWTPayload; record: IssuedToken }
  | { ok: false; description: string };

/** The realm: everything the endpoints share. */
export class Realm {
  readonly config: RealmConfig;
  readonly state = new RealmState();
  readonly keys: KeyRing;
  readonly users: EmulatorUser[];
  readonly clients = new Map<string, EmulatorClient>();
  #counters: LoginCounters = zeroCounters();
  #faults: Array<{ fault: TokenFault; remaining: number }> = [];
  readonly #baseClients: EmulatorClient[];
  readonly #origin: () => string;
  readonly #now: () => number;
  readonly #fetch: typeof fetch;
  readonly #random: () => number;
  #lastPrune = 0;

  constructor(options: LoginServerOptions, users: readonly EmulatorUser[], keys: KeyRing) {
    this.config = Object.freeze({
      accessTokenLifetime: positiveSeconds(options.accessTokenLifetime, 300, 'accessTokenLifetime'),
      refreshTokenLifetime: positiveSeconds(options.refreshTokenLifetime, 3600, 'refreshTokenLifetime'),
      strictRefreshTokenReuse: options.strictRefreshTokenReuse ?? false,
      issParameter: options.issParameter ?? true,
      sessionStateParameter: options.sessionStateParameter ?? true,
      tokenTypeCase: options.tokenTypeCase ?? 'bearer',
      requirePkce: options.requirePkce ?? false,
    });
    if (this.config.tokenTypeCase !== 'Bearer' && this.config.tokenTypeCase !== 'bearer') {
      throw new TypeError(`Emulator option tokenTypeCase must be 'Bearer' or 'bearer'.`);
    }
    this.keys = keys;
    this.users = validateUsers(users);
    this.#baseClients = (options.clients ?? DEFAULT_CLIENTS).map(validateClient);
    for (const c of this.#baseClients) this.clients.set(c.clientId, c);
    this.#origin = options.origin;
    this.#now = options.now;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    if (options.random !== undefined && typeof options.random !== 'function') {
      throw new TypeError('Emulator option random must be a function returning numbers in [0, 1).');
    }
    this.#random = options.random ?? Math.random;
  }

  /** The emulator clock, epoch ms. */
  now(): number {
    return this.#now();
  }

  /** `{origin}/auth/realms/platform`. */
  issuer(): string {
    return `${this.#origin().replace(/\/+$/, '')}${REALM_PATH}`;
  }

  /** URL of an OpenID Connect endpoint, e.g. `endpoint('token')`. */
  endpoint(name: string): string {
    return `${this.issuer()}/protocol/openid-connect/${name}`;
  }

  /** What token minting needs. */
  tokenContext(): TokenContext {
    return {
      issuer: this.issuer(),
      keys: this.keys,
      now: () => this.now(),
      accessTokenLifetime: this.config.accessTokenLifetime,
      refreshTokenLifetime: this.config.refreshTokenLifetime,
      tokenType: this.config.tokenTypeCase,
      remember: (jti, token) => this.state.tokens.set(jti, token),
    };
  }

  // ---- users and clients -------------------------------------------------------------------

  /** The user with this username or email (case-insensitive, as in Keycloak). */
  findUser(login: string): EmulatorUser | undefined {
    const key = login.trim().toLowerCase();
    return this.users.find((u) => u.username.toLowerCase() === key || u.email.toLowerCase() === key);
  }

  /** The user for a login, or `undefined` when the credentials are wrong. */
  authenticateUser(login: string, password: string): EmulatorUser | undefined {
    const user = this.findUser(login);
    // Compare even for unknown users, so both failures take the same time.
    const ok = sameSecret(password, user?.password ?? '\u0000no-such-user');
    return user && ok ? user : undefined;
  }

  /** True when `secret` is the client's secret. */
  checkClientSecret(client: EmulatorClient, secret: string): boolean {
    return sameSecret(secret, client.clientSecret ?? '');
  }

  /** Registers (or replaces) a client. */
  addClient(client: EmulatorClient): void {
    const valid = validateClient(client);
    this.clients.set(valid.clientId, valid);
  }

  // ---- sessions ----------------------------------------------------------------------------

  /** True when the SSO session has not ended and has not been idle longer than the refresh lifetime. */
  sessionAlive(session: SsoSession): boolean {
    if (session.ended) return false;
    if (this.now() >= session.lastActivity + this.config.refreshTokenLifetime * 1000) {
      this.state.endSession(session);
      return false;
    }
    return true;
  }

  /** The live SSO session of the browser that sent `request`, from its cookie. */
  ssoFromCookie(request: Request): SsoSession | null {
    const handle = parseCookies(request).get(IDENTITY_COOKIE);
    const session = handle ? this.state.sessionsByCookie.get(handle) : undefined;
    return session && this.sessionAlive(session) ? session : null;
  }

  #cookieAttributes(): string {
    const secure = this.issuer().startsWith('https:');
    return `Path=${REALM_PATH}/; ${secure ? 'Secure; SameSite=None' : 'SameSite=Lax'}`;
  }

  /** `Set-Cookie` values that sign the browser in to `session`. */
  ssoCookies(session: SsoSession): string[] {
    const attrs = this.#cookieAttributes();
    return [
      `${IDENTITY_COOKIE}=${session.cookieHandle ?? ''}; ${attrs}; HttpOnly`,
      `${SESSION_COOKIE}=${REALM}/${session.user.sub}/${session.id}; ${attrs}`,
    ];
  }

  /** `Set-Cookie` values that sign the browser out. */
  clearSsoCookies(): string[] {
    const attrs = `${this.#cookieAttributes()}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT`;
    return [`${IDENTITY_COOKIE}=; ${attrs}; HttpOnly`, `${SESSION_COOKIE}=; ${attrs}`];
  }

  /**
   * Ends an SSO session and sends a back-channel logout token to every client of the session
   * that registered a `backchannelLogoutUri`. Never throws; failures are counted.
   */
  async endSession(session: SsoSession): Promise<void> {
    if (session.ended) return;
    const targets = [...session.clients.values()]
      .filter((cs) => !cs.revoked)
      .map((cs) => this.clients.get(cs.clientId))
      .filter((c): c is EmulatorClient & { backchannelLogoutUri: string } => !!c?.backchannelLogoutUri);
    this.state.endSession(session);
    await Promise.all(targets.map((client) => this.#sendBackchannelLogout(session, client)));
  }

  async #sendBackchannelLogout(
    session: SsoSession,
    client: EmulatorClient & { backchannelLogoutUri: string },
  ): Promise<void> {
    try {
      const logoutToken = await mintLogoutToken(this.tokenContext(), session, client.clientId);
      const response = await this.#fetch(client.backchannelLogoutUri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: logoutToken }).toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(BACKCHANNEL_TIMEOUT_MS),
      });
      await response.body?.cancel().catch(() => undefined);
      if (response.ok) this.#counters.backchannelLogoutsSent++;
      else this.#counters.backchannelLogoutsFailed++;
    } catch {
      this.#counters.backchannelLogoutsFailed++;
    }
  }

  /** Ends every SSO session of a user (by username or `sub`); resolves to how many ended. */
  async logoutUser(usernameOrSub: string): Promise<number> {
    const key = usernameOrSub.toLowerCase();
    const sessions = [...this.state.sessions.values()].filter(
      (s) => s.user.sub === usernameOrSub || s.user.username.toLowerCase() === key,
    );
    await Promise.all(sessions.map((s) => this.endSession(s)));
    return sessions.length;
  }

  // ---- token checks ------------------------------------------------------------------------

  /**
   * Verifies an access token of this realm: signature, issuer, `exp` by the emulator clock, and
   * that it, its client session and its SSO session have not been revoked or ended.
   */
  async verifyAccessToken(token: string): Promise<JWTPayload | null> {
    let payload: JWTPayload;
    try {
      ({ payload } = await this.keys.verifyRs256(token, {
        issuer: this.issuer(),
        currentDate: new Date(this.now()),
      }));
    } catch {
      return null;
    }
    if (payload['typ'] !== 'Bearer' || typeof payload.jti !== 'string') return null;
    const record = this.state.tokens.get(payload.jti);
    if (record?.kind !== 'access' || record.revoked) return null;
    const cs = record.clientSession;
    if (cs.revoked || !this.sessionAlive(cs.session)) return null;
    return payload;
  }

  /**
   * Checks a refresh token: signature, `exp` (unless `allowExpired`), and that the server still
   * knows it. Session and client-session liveness are left to the caller, whose wording differs.
   */
  async checkRefreshToken(token: string, allowExpired = false): Promise<RefreshCheck> {
    let payload: JWTPayload;
    try {
      ({ payload } = await this.keys.verifyHs256(token, {
        issuer: this.issuer(),
        currentDate: new Date(this.now()),
        ...(allowExpired ? { clockTolerance: 10 * 365 * 24 * 3600 } : {}),
      }));
    } catch (error) {
      const expired = (error as { code?: unknown }).code === 'ERR_JWT_EXPIRED';
      return { ok: false, description: expired ? 'Token is not active' : 'Invalid refresh token' };
    }
    const record = typeof payload.jti === 'string' ? this.state.tokens.get(payload.jti) : undefined;
    if (payload['typ'] !== 'Refresh' || !record || record.kind !== 'refresh') {
      return { ok: false, description: 'Invalid refresh token' };
    }
    return { ok: true, payload, record };
  }

  /** Verifies an ID token of this realm, ignoring `exp` (for `id_token_hint`); `null` when invalid. */
  async verifyIdTokenHint(token: string): Promise<JWTPayload | null> {
    try {
      const { payload } = await this.keys.verifyRs256(token, {
        issuer: this.issuer(),
        currentDate: new Date(this.now()),
        clockTolerance: 10 * 365 * 24 * 3600,
      });
      return payload['typ'] === 'ID' ? payload : null;
    } catch {
      return null;
    }
  }

  // ---- counters, faults, housekeeping ------------------------------------------------------

  /** The live counters object (mutable, for the endpoints). */
  get count(): LoginCounters {
    return this.#counters;
  }

  /** A deep copy of the counters. */
  counters(): LoginCounters {
    const refreshesBySession: LoginCounters['refreshesBySession'] = [];
    for (const session of this.state.sessions.values()) {
      for (const cs of session.clients.values()) {
        const r = cs.refreshes;
        if (r.requests === 0) continue;
        refreshesBySession.push({
          sid: session.id,
          clientId: cs.clientId,
          requests: r.requests,
          succeeded: r.succeeded,
          maxConcurrent: r.maxInFlight,
        });
      }
    }
    return { ...this.#counters, tokenRequests: { ...this.#counters.tokenRequests }, refreshesBySession };
  }

  /**
   * Counts a refresh grant of `cs` as in flight until the returned function is called or
   * `signal` fires (the caller hung up), whichever comes first.
   */
  refreshStarted(cs: ClientSession, signal: AbortSignal): () => void {
    const r = cs.refreshes;
    r.requests++;
    r.inFlight++;
    r.maxInFlight = Math.max(r.maxInFlight, r.inFlight);
    this.#counters.maxConcurrentRefreshes = Math.max(this.#counters.maxConcurrentRefreshes, r.inFlight);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      r.inFlight--;
      signal.removeEventListener('abort', finish);
    };
    if (signal.aborted) finish();
    else signal.addEventListener('abort', finish, { once: true });
    return finish;
  }

  /** Queues a token fault. */
  addTokenFault(fault: TokenFault): void {
    const valid = validateTokenFault(fault);
    this.#faults.push({ fault: valid, remaining: valid.times ?? Number.POSITIVE_INFINITY });
  }

  /** Removes all token faults. */
  clearFaults(): void {
    this.#faults = [];
  }

  /** The first fault matching `grantType` (and winning its `probability`), used up by one. */
  takeTokenFault(grantType: string | undefined): TokenFault | null {
    const entry = this.#faults.find(
      (f) =>
        (f.fault.grantType === undefined || f.fault.grantType === grantType) &&
        (f.fault.probability === undefined || this.#random() < f.fault.probability),
    );
    if (!entry) return null;
    entry.remaining--;
    if (entry.remaining <= 0) this.#faults.splice(this.#faults.indexOf(entry), 1);
    return entry.fault;
  }

  /** Forgets codes, forms and tokens that can no longer be used (at most every 10 s of emulator time). */
  prune(): void {
    const now = this.now();
    if (now - this.#lastPrune < 10_000) return;
    this.#lastPrune = now;
    const graceMs = 60_000;
    for (const [k, v] of this.state.codes) if (v.expiresAt + graceMs < now) this.state.codes.delete(k);
    for (const [k, v] of this.state.pendingLogins) if (v.expiresAt < now) this.state.pendingLogins.delete(k);
    for (const [k, v] of this.state.pendingLogouts)
      if (v.expiresAt < now) this.state.pendingLogouts.delete(k);
    for (const [k, v] of this.state.tokens) if (v.expiresAt + graceMs < now) this.state.tokens.delete(k);
    for (const s of [...this.state.sessions.values()]) this.sessionAlive(s);
  }

  /** Back to the configured clients, no sessions, no faults, zero counters (keys are kept). */
  reset(): void {
    this.state.clear();
    this.clients.clear();
    for (const c of this.#baseClients) this.clients.set(c.clientId, c);
    this.#faults = [];
    this.#counters = zeroCounters();
    this.#lastPrune = 0;
  }
}

const FAULT_KINDS = new Set<TokenFault['kind']>([
  'status',
  'oauth_error',
  'html',
  'delay',
  'reset',
  'malformed_json',
]);

/** Checks a token fault (from code or from the control endpoint); throws a TypeError naming the problem. */
export function validateTokenFault(input: unknown): TokenFault {
  if (typeof input !== 'object' || input === null) throw new TypeError('A token fault must be an object.');
  const f = input as Record<string, unknown>;
  if (typeof f['kind'] !== 'string' || !FAULT_KINDS.has(f['kind'] as TokenFault['kind'])) {
    throw new TypeError(`Token fault kind must be one of ${[...FAULT_KINDS].join(', ')}.`);
  }
  const fault: TokenFault = { kind: f['kind'] as TokenFault['kind'] };
  const optionalString = (name: 'grantType' | 'error' | 'errorDescription') => {
    const v = f[name];
    if (v === undefined) return;
    if (typeof v !== 'string' || v === '')
      throw new TypeError(`Token fault ${name} must be a non-empty string.`);
    fault[name] = v;
  };
  const optionalNumber = (name: 'status' | 'retryAfter' | 'delayMs' | 'times', min: number, max: number) => {
    const v = f[name];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new TypeError(`Token fault ${name} must be a whole number from ${min} to ${max}.`);
    }
    fault[name] = v;
  };
  optionalString('grantType');
  optionalString('error');
  optionalString('errorDescription');
  optionalNumber('status', 200, 599);
  optionalNumber('retryAfter', 0, 86_400);
  optionalNumber('delayMs', 0, 600_000);
  optionalNumber('times', 1, Number.MAX_SAFE_INTEGER);
  const whenAbandoned = f['whenAbandoned'];
  if (whenAbandoned !== undefined) {
    if (whenAbandoned !== 'complete' && whenAbandoned !== 'drop') {
      throw new TypeError("Token fault whenAbandoned must be 'complete' or 'drop'.");
    }
    fault.whenAbandoned = whenAbandoned;
  }
  const probability = f['probability'];
  if (probability !== undefined) {
    if (
      typeof probability !== 'number' ||
      !Number.isFinite(probability) ||
      probability < 0 ||
      probability > 1
    ) {
      throw new TypeError('Token fault probability must be a number from 0 to 1.');
    }
    fault.probability = probability;
  }
  return fault;
}
