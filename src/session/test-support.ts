/**
 * Test helpers of the session layer (used by its `*.test.ts` only): an in-memory cookie jar
 * that behaves like a browser across requests, and realistic Keycloak-sized tokens.
 */
import { randomBytes } from 'node:crypto';
import type { IdTokenClaims, TokenSet } from '../oidc/types.js';
import type { CookieAttributes, CookieJar, SessionRecord, SessionStore } from './types.js';

export const SECRET = 'a-test-secret-that-is-long-enough-0001';
export const OLD_SECRET = 'an-older-secret-that-is-long-enough-02';

/** A browser's cookie store; `request()` gives one request's jar, whose writes land in the browser. */
export class Browser {
  readonly cookies = new Map<string, string>();

  request(): TestJar {
    return new TestJar(this);
  }
}

/** One request's view of the browser's cookies, recording what the response sets. */
export class TestJar implements CookieJar {
  readonly sent: Map<string, string>;
  readonly setCalls: { name: string; value: string; attributes: CookieAttributes }[] = [];
  readonly deleteCalls: { name: string; attributes: CookieAttributes }[] = [];

  constructor(private readonly browser: Browser = new Browser()) {
    this.sent = new Map(browser.cookies);
  }

  get(name: string): string | undefined {
    return this.sent.get(name);
  }
  names(): string[] {
    return [...this.sent.keys()];
  }
  set(name: string, value: string, attributes: CookieAttributes): void {
    this.setCalls.push({ name, value, attributes });
    this.browser.cookies.set(name, value);
  }
  delete(name: string, attributes: CookieAttributes): void {
    this.deleteCalls.push({ name, attributes });
    this.browser.cookies.delete(name);
  }
  /** True when the response changed no cookie. */
  get untouched(): boolean {
    return this.setCalls.length === 0 && this.deleteCalls.length === 0;
  }
}

/** A JWT-shaped opaque string of about `bytes` characters. */
export function jwtLike(bytes: number): string {
  const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'k1' })).toString('base64url');
  const signature = randomBytes(256).toString('base64url');
  const payloadLength = Math.max(16, bytes - header.length - signature.length - 2);
  const payload = randomBytes(Math.ceil((payloadLength * 3) / 4))
    .toString('base64url')
    .slice(0, payloadLength);
  return `${header}.${payload}.${signature}`;
}

let counter = 0;

/**
 * A Keycloak-sized token set: access token ~2 KB, refresh token ~0.9 KB, ID token ~1.8 KB,
 * received at `receivedAt`, access token for `accessTtlSec` (default 300), refresh token
 * for `refreshTtlSec` (default 1800).
 */
export function makeTokens(
  receivedAt: number,
  options: { accessTtlSec?: number; refreshTtlSec?: number | null; sid?: string; sub?: string } = {},
): TokenSet {
  counter++;
  const sub = options.sub ?? 'user-1';
  const claims: IdTokenClaims = {
    iss: 'https://login.video-cdn.net/realms/platform',
    sub,
    aud: 'demo-client',
    exp: Math.floor(receivedAt / 1000) + 300,
    iat: Math.floor(receivedAt / 1000),
    azp: 'demo-client',
    sid: options.sid ?? 'sid-1',
    name: 'Dana Demo',
    email: 'dana@example.com',
    preferred_username: 'dana',
  };
  const refreshTtl = options.refreshTtlSec === undefined ? 1800 : options.refreshTtlSec;
  return {
    accessToken: `at${counter}.${jwtLike(2000)}`,
    tokenType: 'Bearer',
    accessTokenExpiresAt: receivedAt + (options.accessTtlSec ?? 300) * 1000,
    refreshToken: `rt${counter}.${jwtLike(900)}`,
    refreshTokenExpiresAt: refreshTtl === null ? null : receivedAt + refreshTtl * 1000,
    idToken: jwtLike(1800),
    claims,
    scope: 'openid profile email',
    sessionState: options.sid ?? 'sid-1',
    receivedAt,
  };
}

/** A settable clock. */
export function clock(start = Date.UTC(2026, 0, 5, 9, 0, 0)) {
  let t = start;
  const now = () => t;
  return {
    now,
    advance(ms: number) {
      t += ms;
    },
    set(ms: number) {
      t = ms;
    },
  };
}

/** A plain session record for store tests. */
export function makeRecord(now: number, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    v: 1,
    id: '',
    version: 1,
    tokens: makeTokens(now),
    user: { sub: 'user-1', name: 'Dana Demo' },
    sid: 'sid-1',
    createdAt: now,
    lastSeenAt: now,
    absoluteExpiresAt: now + 12 * 3600_000,
    ...overrides,
  };
}

/** Wraps a store; while `down` is true every call throws like an unreachable store. */
export function flakyStore(inner: SessionStore): SessionStore & { down: boolean; failOn: Set<string> } {
  const wrapper = {
    kind: `flaky-${inner.kind}`,
    down: false,
    failOn: new Set<string>(),
  };
  const guard =
    <A extends unknown[], R>(name: string, run: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (wrapper.down || wrapper.failOn.has(name)) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
      return run(...args);
    };
  return Object.assign(wrapper, {
    get: guard('get', inner.get.bind(inner)),
    create: guard('create', inner.create.bind(inner)),
    update: guard('update', inner.update.bind(inner)),
    delete: guard('delete', inner.delete.bind(inner)),
    keysBySid: guard('keysBySid', inner.keysBySid.bind(inner)),
    keysBySub: guard('keysBySub', inner.keysBySub.bind(inner)),
    lock: guard('lock', inner.lock.bind(inner)),
    ...(inner.claim ? { claim: guard('claim', inner.claim.bind(inner)) } : {}),
    close: async () => inner.close?.(),
  });
}

/** Polls `check` until it returns true or `withinMs` passes; returns the last result. */
export async function eventually(check: () => Promise<boolean> | boolean, withinMs = 5000): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
