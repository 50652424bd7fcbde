/**
 * A small in-memory fake of a Keycloak-shaped login server for unit tests of the protocol layer,
 * served through an injected `fetch`. Built with jose: an RS256 key, WebFinger, discovery, JWKS,
 * and a token endpoint for the code, refresh and password grants. Tests flip one thing at a time
 * (ID-token claims and header, metadata, token answers) to check each refusal.
 */

import { createHash, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

export const ISSUER = 'https://login.example.com/auth/realms/platform';
export const API_BASE = 'https://api.example.com';
export const CLIENT_ID = 'portal';
export const CLIENT_SECRET = 'portal-secret-value';
export const REDIRECT_URI = 'https://app.example.com/auth/callback';
export const DEMO_USER = { username: 'demo', password: 'demo', sub: 'user-1234' };

export interface RecordedRequest {
  method: string;
  url: URL;
  headers: Headers;
  /** The form body of a POST, `null` otherwise. */
  form: URLSearchParams | null;
}

/** Answers a request; `undefined` lets the fake answer as usual. */
type Handler = (
  request: Request,
  form: URLSearchParams | null,
) => Response | undefined | Promise<Response | undefined>;

interface CodeGrant {
  clientId: string;
  redirectUri: string;
  codeChallenge: string | null;
  nonce: string | null;
  sub: string;
  used: boolean;
}

export interface FakeClock {
  now: () => number;
  advance(ms: number): void;
  set(ms: number): void;
}

export function fakeClock(start = Date.now()): FakeClock {
  let t = start;
  return {
    now: () => t,
    advance(ms) {
      t += ms;
    },
    set(ms) {
      t = ms;
    },
  };
}

export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function createSigningKey(alg = 'RS256', kid: string = randomUUID()): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/** RSA key generation is slow: every fake server starts with the same key. */
let defaultKey: Promise<SigningKey> | undefined;

export interface FakeLoginServerOptions {
  issuer?: string;
  apiBase?: string;
  clock?: FakeClock;
  /** The href of WebFinger's issuer link; default: the full configuration URL (movingimage's form). */
  webfingerHref?: string;
}

export type FakeLoginServer = Awaited<ReturnType<typeof createFakeLoginServer>>;

export async function createFakeLoginServer(options: FakeLoginServerOptions = {}) {
  const issuer = options.issuer ?? ISSUER;
  const apiBase = options.apiBase ?? API_BASE;
  const clock = options.clock ?? fakeClock();
  const base = `${issuer}/protocol/openid-connect`;
  defaultKey ??= createSigningKey('RS256', 'default-key');
  const keys: SigningKey[] = [await defaultKey];
  let signingKey = keys[0] as SigningKey;
  const codes = new Map<string, CodeGrant>();
  const refreshTokens = new Map<string, { sub: string; clientId: string; nonce: string | null }>();
  const requests: RecordedRequest[] = [];
  const overrides = new Map<string, Handler>();

  const server = {
    issuer,
    apiBase,
    clock,
    requests,
    /** The OpenID configuration served; tests change fields before creating a client. */
    metadata: {
      issuer,
      authorization_endpoint: `${base}/auth`,
      token_endpoint: `${base}/token`,
      jwks_uri: `${base}/certs`,
      userinfo_endpoint: `${base}/userinfo`,
      end_session_endpoint: `${base}/logout`,
      revocation_endpoint: `${base}/revoke`,
      introspection_endpoint: `${base}/token/introspect`,
      grant_types_supported: ['authorization_code', 'refresh_token', 'password'],
      response_types_supported: ['code'],
      response_modes_supported: ['query', 'fragment', 'form_post'],
      code_challenge_methods_supported: ['plain', 'S256'],
      id_token_signing_alg_values_supported: ['RS256', 'ES256', 'HS256'],
      authorization_response_iss_parameter_supported: true,
      subject_types_supported: ['public'],
    } as Record<string, unknown>,
    webfingerHref: options.webfingerHref ?? `${issuer}/.well-known/openid-configuration`,
    /** Headers added to discovery and WebFinger answers (e.g. Cache-Control). */
    discoveryHeaders: {} as Record<string, string>,
    /** Changes the claims of every ID token issued from now on (return the claims to sign). */
    mutateIdToken: null as ((claims: JWTPayload) => JWTPayload) | null,
    /** Protected header fields of every ID token from now on. */
    idTokenHeader: {} as Record<string, unknown>,
    /** Changes every successful token response body from now on. */
    mutateTokenResponse: null as
      | ((body: Record<string, unknown>) => Record<string, unknown> | Promise<Record<string, unknown>>)
      | null,
    tokenLifetimes: { expiresIn: 300, refreshExpiresIn: 3600 as number | undefined },
    /** How many requests reached each path. */
    count(path: string): number {
      return requests.filter((r) => r.url.pathname.endsWith(path)).length;
    },
    lastTokenRequest(): RecordedRequest | undefined {
      return requests.filter((r) => r.url.pathname.endsWith('/token')).at(-1);
    },
    /** Answers every request to `url` (exact, without query) with `handler` instead. */
    override(url: string, handler: Handler): void {
      overrides.set(url, handler);
    },
    clearOverride(url: string): void {
      overrides.delete(url);
    },
    /** Adds a new signing key and signs with it from now on (the old key stays published unless `replace`). */
    async rotateKey(replace = false): Promise<SigningKey> {
      const key = await createSigningKey();
      if (replace) keys.length = 0;
      keys.push(key);
      signingKey = key;
      return key;
    },
    /** Signs with a key that is NOT published. */
    async signWithUnpublishedKey(): Promise<SigningKey> {
      signingKey = await createSigningKey();
      return signingKey;
    },
    async sign(
      claims: JWTPayload,
      header: Record<string, unknown> = {},
      key: SigningKey = signingKey,
    ): Promise<string> {
      return new SignJWT(claims)
        .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
        .sign(key.privateKey);
    },
    idTokenClaims(sub: string, nonce: string | null, clientId = CLIENT_ID): JWTPayload {
      const now = Math.floor(clock.now() / 1000);
      return {
        iss: issuer,
        sub,
        aud: clientId,
        azp: clientId,
        exp: now + 300,
        iat: now,
        auth_time: now,
        ...(nonce !== null && { nonce }),
        sid: 'sid-1',
        session_state: 'session-1',
        name: 'Dana Demo',
        email: 'dana.demo@example.com',
        preferred_username: 'demo',
      };
    },
    /**
     * What the login page does: reads the authorization URL and returns the callback URL the
     * browser would be sent to (code in the query, like Keycloak with response_mode=query).
     */
    authorize(authorizationUrl: URL, sub = DEMO_USER.sub): URL {
      const p = authorizationUrl.searchParams;
      const code = `code-${randomUUID()}`;
      codes.set(code, {
        clientId: p.get('client_id') ?? '',
        redirectUri: p.get('redirect_uri') ?? '',
        codeChallenge: p.get('code_challenge'),
        nonce: p.get('nonce'),
        sub,
        used: false,
      });
      const callback = new URL(p.get('redirect_uri') ?? REDIRECT_URI);
      callback.searchParams.set('state', p.get('state') ?? '');
      callback.searchParams.set('session_state', 'session-1');
      callback.searchParams.set('iss', issuer);
      callback.searchParams.set('code', code);
      return callback;
    },
    async tokens(sub: string, clientId: string, nonce: string | null): Promise<Record<string, unknown>> {
      let claims = server.idTokenClaims(sub, nonce, clientId);
      if (server.mutateIdToken) claims = server.mutateIdToken(claims);
      const refreshToken = `rt-${randomUUID()}`;
      refreshTokens.set(refreshToken, { sub, clientId, nonce });
      let body: Record<string, unknown> = {
        access_token: `at-${randomUUID()}`,
        expires_in: server.tokenLifetimes.expiresIn,
        refresh_expires_in: server.tokenLifetimes.refreshExpiresIn,
        refresh_token: refreshToken,
        token_type: 'bearer',
        id_token: await server.sign(claims, server.idTokenHeader),
        'not-before-policy': 0,
        session_state: 'session-1',
        scope: 'openid profile email',
      };
      if (server.mutateTokenResponse) body = await server.mutateTokenResponse(body);
      return body;
    },
    /** A refresh token the server knows, without going through a login. */
    issueRefreshToken(sub = DEMO_USER.sub, clientId = CLIENT_ID): string {
      const rt = `rt-${randomUUID()}`;
      refreshTokens.set(rt, { sub, clientId, nonce: null });
      return rt;
    },
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      const request = new Request(input, init);
      const url = new URL(request.url);
      const isForm = request.method === 'POST';
      const form = isForm ? new URLSearchParams(await request.clone().text()) : null;
      requests.push({ method: request.method, url, headers: request.headers, form });
      const key = `${url.origin}${url.pathname}`;
      const override = overrides.get(key);
      const answer = override ? await override(request, form) : undefined;
      return answer ?? route(request, url, form);
    }) as typeof fetch,
  };

  function clientAuthenticated(request: Request, form: URLSearchParams): string | null {
    const header = request.headers.get('authorization');
    let clientId = form.get('client_id');
    let secret = form.get('client_secret');
    if (header?.startsWith('Basic ')) {
      const [id, pw] = atob(header.slice(6)).split(':');
      clientId = decodeURIComponent(id ?? '');
      secret = decodeURIComponent(pw ?? '');
    }
    if (clientId === 'anonymous') return clientId;
    if (clientId === CLIENT_ID && secret === CLIENT_SECRET) return clientId;
    return null;
  }

  async function token(request: Request, form: URLSearchParams): Promise<Response> {
    const clientId = clientAuthenticated(request, form);
    if (!clientId)
      return json({ error: 'invalid_client', error_description: 'Invalid client credentials' }, 401);
    switch (form.get('grant_type')) {
      case 'authorization_code': {
        const grant = codes.get(form.get('code') ?? '');
        if (!grant || grant.used || grant.clientId !== clientId) {
          return json({ error: 'invalid_grant', error_description: 'Code not valid' }, 400);
        }
        grant.used = true;
        if (grant.redirectUri !== form.get('redirect_uri')) {
          return json({ error: 'invalid_grant', error_description: 'Incorrect redirect_uri' }, 400);
        }
        const verifier = form.get('code_verifier') ?? '';
        const challenge = createHash('sha256').update(verifier).digest('base64url');
        if (grant.codeChallenge !== challenge) {
          return json({ error: 'invalid_grant', error_description: 'PKCE verification failed' }, 400);
        }
        return json(await server.tokens(grant.sub, clientId, grant.nonce));
      }
      case 'refresh_token': {
        const known = refreshTokens.get(form.get('refresh_token') ?? '');
        if (!known || known.clientId !== clientId) {
          return json({ error: 'invalid_grant', error_description: 'Token is not active' }, 400);
        }
        return json(await server.tokens(known.sub, clientId, known.nonce));
      }
      case 'password': {
        if (form.get('username') !== DEMO_USER.username || form.get('password') !== DEMO_USER.password) {
          return json({ error: 'invalid_grant', error_description: 'Invalid user credentials' }, 401);
        }
        return json(await server.tokens(DEMO_USER.sub, clientId, null));
      }
      default:
        return json({ error: 'unsupported_grant_type' }, 400);
    }
  }

  async function route(request: Request, url: URL, form: URLSearchParams | null): Promise<Response> {
    const path = `${url.origin}${url.pathname}`;
    if (path === `${apiBase}/.well-known/webfinger`) {
      if (url.searchParams.get('resource') !== `${apiBase}/v1/`)
        return new Response('not found', { status: 404 });
      return new Response(
        JSON.stringify({
          subject: `${apiBase}/v1/`,
          links: [{ rel: 'http://openid.net/specs/connect/1.0/issuer', href: server.webfingerHref }],
        }),
        { headers: { 'content-type': 'application/jrd+json', ...server.discoveryHeaders } },
      );
    }
    if (path === `${issuer}/.well-known/openid-configuration`) {
      return json(server.metadata, 200, server.discoveryHeaders);
    }
    if (path === `${base}/certs`) return json({ keys: keys.map((k) => k.publicJwk) });
    if (path === `${base}/token` && form) return token(request, form);
    if (path === `${base}/revoke` && form) {
      if (!clientAuthenticated(request, form)) return json({ error: 'invalid_client' }, 401);
      refreshTokens.delete(form.get('token') ?? '');
      return new Response(null, { status: 200 });
    }
    return new Response('not found', { status: 404 });
  }

  return server;
}
