/**
 * The login server's memory: SSO sessions, the client sessions inside them, authorization codes,
 * pending logins and every token issued. It lives in the process and is lost on restart.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { EmulatorUser } from './types.js';

/** A new opaque, URL-safe random handle. */
export function opaqueId(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** One client's share of an SSO session (Keycloak's "client session"). */
export interface ClientSession {
  readonly clientId: string;
  readonly session: SsoSession;
  /** Set when a code was reused, the refresh token revoked, or the SSO session ended. */
  revoked: boolean;
  /** `nonce` of the authorization request, repeated in refreshed ID tokens. */
  nonce?: string | undefined;
  /** What the token endpoint saw of this client session's refresh grants (for the counters). */
  readonly refreshes: { requests: number; succeeded: number; inFlight: number; maxInFlight: number };
}

/** A user's single sign-on session; its id is both `session_state` and `sid`. */
export interface SsoSession {
  readonly id: string;
  readonly user: EmulatorUser;
  /** Epoch seconds of the sign-in. */
  readonly authTime: number;
  /** Epoch ms of the last sign-in or refresh (the idle timeout counts from here). */
  lastActivity: number;
  ended: boolean;
  /** Opaque value of the browser's SSO cookie, when the session came from the login form. */
  readonly cookieHandle?: string | undefined;
  readonly clients: Map<string, ClientSession>;
}

/** A validated authorization request, kept while the user signs in. */
export interface AuthRequest {
  clientId: string;
  redirectUri: string;
  responseMode: 'query' | 'fragment';
  scope: string;
  state?: string | undefined;
  nonce?: string | undefined;
  codeChallenge?: string | undefined;
  codeChallengeMethod?: 'S256' | 'plain' | undefined;
  maxAge?: number | undefined;
}

/** A login form that is waiting for credentials; referenced by an opaque id in the form. */
export interface PendingLogin {
  readonly id: string;
  readonly request: AuthRequest;
  /** Epoch ms. */
  readonly expiresAt: number;
}

/** An issued authorization code (single use). */
export interface AuthCode {
  readonly request: AuthRequest;
  readonly clientSession: ClientSession;
  /** Epoch ms. */
  readonly expiresAt: number;
  used: boolean;
}

/** What the server remembers about a token it issued, by `jti`. */
export interface IssuedToken {
  readonly kind: 'access' | 'refresh';
  readonly clientSession: ClientSession;
  revoked: boolean;
  /** Refresh tokens: how often the token was used (strict mode allows one use). */
  uses: number;
  /** Epoch ms of the token's `exp` (the record is forgotten some time after). */
  readonly expiresAt: number;
}

/** A logout waiting for the user's confirmation. */
export interface PendingLogout {
  readonly sessionId: string | null;
  readonly redirect: string | null;
  readonly expiresAt: number;
}

/** All mutable state of the login server. */
export class RealmState {
  readonly sessions = new Map<string, SsoSession>();
  readonly sessionsByCookie = new Map<string, SsoSession>();
  readonly codes = new Map<string, AuthCode>();
  readonly pendingLogins = new Map<string, PendingLogin>();
  readonly pendingLogouts = new Map<string, PendingLogout>();
  readonly tokens = new Map<string, IssuedToken>();

  /** Starts an SSO session for `user`; `withCookie` gives it a browser cookie handle. */
  createSession(user: EmulatorUser, nowMs: number, withCookie: boolean): SsoSession {
    const session: SsoSession = {
      id: randomUUID(),
      user,
      authTime: Math.floor(nowMs / 1000),
      lastActivity: nowMs,
      ended: false,
      clients: new Map(),
      ...(withCookie ? { cookieHandle: opaqueId() } : {}),
    };
    this.sessions.set(session.id, session);
    if (session.cookieHandle) this.sessionsByCookie.set(session.cookieHandle, session);
    return session;
  }

  /**
   * The live client session of `clientId` in `session`, or a new one. A revoked client session
   * is replaced, so tokens issued for the old one stay invalid.
   */
  clientSession(session: SsoSession, clientId: string, nonce?: string): ClientSession {
    const existing = session.clients.get(clientId);
    if (existing && !existing.revoked) {
      if (nonce !== undefined) existing.nonce = nonce;
      return existing;
    }
    const created: ClientSession = {
      clientId,
      session,
      revoked: false,
      refreshes: { requests: 0, succeeded: 0, inFlight: 0, maxInFlight: 0 },
      ...(nonce ? { nonce } : {}),
    };
    session.clients.set(clientId, created);
    return created;
  }

  /** Ends an SSO session and all its client sessions. */
  endSession(session: SsoSession): void {
    session.ended = true;
    for (const cs of session.clients.values()) cs.revoked = true;
    this.sessions.delete(session.id);
    if (session.cookieHandle) this.sessionsByCookie.delete(session.cookieHandle);
  }

  /** Forgets everything. */
  clear(): void {
    this.sessions.clear();
    this.sessionsByCookie.clear();
    this.codes.clear();
    this.pendingLogins.clear();
    this.pendingLogouts.clear();
    this.tokens.clear();
  }
}
