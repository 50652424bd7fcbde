/**
 * The emulator's login server over real sockets, driven like a browser and a back-end would:
 * plain fetch, manual redirects and form posts; no client library.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type EmulatorOptions, type RunningEmulator, startEmulator } from '../index.js';

const CLIENT = 'vmpro-demo';
const SECRET = 'vmpro-demo-secret';
const REDIRECT = 'http://127.0.0.1:3000/auth/callback';

// ---- a tiny browser and back-end ---------------------------------------------------------

/** A cookie jar and manual redirects, like a browser that lets the test look at each hop. */
class Browser {
  readonly cookies = new Map<string, string>();

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) {
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (/max-age=0/i.test(cookie) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  get(url: string): Promise<Response> {
    return this.request(url);
  }

  post(url: string, form: Record<string, string>): Promise<Response> {
    return this.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
  }
}

function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The login form's action (resolved against the page's origin) and hidden `login_id`. */
function loginForm(page: string, base = emulator.url): { action: string; loginId: string } {
  const action = /<form id="kc-form-login" method="post" action="([^"]+)"/.exec(page)?.[1];
  const loginId = /name="login_id" value="([^"]+)"/.exec(page)?.[1];
  if (!action || !loginId) throw new Error(`no login form in:\n${page}`);
  return { action: new URL(action.replace(/&amp;/g, '&'), base).href, loginId };
}

interface AuthParams {
  client_id?: string;
  redirect_uri?: string;
  response_type?: string;
  scope?: string;
  state?: string;
  nonce?: string;
  code_challenge?: string;
  code_challenge_method?: string;
  response_mode?: string;
  prompt?: string;
  login_hint?: string;
}

function authUrl(emulator: RunningEmulator, params: AuthParams = {}): string {
  const url = new URL(`${emulator.issuer}/protocol/openid-connect/auth`);
  const all: AuthParams = {
    client_id: CLIENT,
    redirect_uri: REDIRECT,
    response_type: 'code',
    scope: 'openid',
    state: 'st-1',
    ...params,
  };
  for (const [k, v] of Object.entries(all)) if (v !== undefined) url.searchParams.set(k, v);
  return url.href;
}

/** Opens the login page, submits credentials, and returns the final redirect (302) response. */
async function signIn(
  browser: Browser,
  emulator: RunningEmulator,
  params: AuthParams = {},
  credentials = { username: 'demo', password: 'demo' },
): Promise<Response> {
  const page = await browser.get(authUrl(emulator, params));
  expect(page.status).toBe(200);
  const { action, loginId } = loginForm(await page.text(), emulator.url);
  return browser.post(action, { login_id: loginId, ...credentials, login: 'Sign In' });
}

/** The authorization response parameters of a redirect (query or fragment). */
function callbackParams(res: Response): URLSearchParams {
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get('location')!);
  return location.hash ? new URLSearchParams(location.hash.slice(1)) : location.searchParams;
}

async function tokenRequest(
  emulator: RunningEmulator,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${emulator.issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

type TokenBody = Record<string, unknown> & {
  access_token: string;
  refresh_token: string;
  id_token: string;
};

async function exchangeCode(
  emulator: RunningEmulator,
  code: string,
  extra: Record<string, string> = {},
): Promise<Response> {
  return tokenRequest(emulator, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
    client_id: CLIENT,
    client_secret: SECRET,
    ...extra,
  });
}

/** A whole code flow with PKCE S256; returns the tokens. */
async function codeFlowTokens(emulator: RunningEmulator, browser = new Browser()): Promise<TokenBody> {
  const { verifier, challenge } = pkcePair();
  const cb = callbackParams(
    await signIn(browser, emulator, {
      code_challenge: challenge,
      code_challenge_method: 'S256',
      nonce: 'n-1',
    }),
  );
  const res = await exchangeCode(emulator, cb.get('code')!, { code_verifier: verifier });
  expect(res.status).toBe(200);
  return (await res.json()) as TokenBody;
}

function refresh(emulator: RunningEmulator, refreshToken: string, client = CLIENT, secret = SECRET) {
  return tokenRequest(emulator, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: client,
    client_secret: secret,
  });
}

function passwordGrant(emulator: RunningEmulator, username = 'demo', password = 'demo') {
  return tokenRequest(emulator, {
    client_id: 'anonymous',
    grant_type: 'password',
    response_type: 'token',
    scope: 'openid',
    username,
    password,
  });
}

function userinfo(emulator: RunningEmulator, accessToken: string): Promise<Response> {
  return fetch(`${emulator.issuer}/protocol/openid-connect/userinfo`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
}

// ---- one emulator per option set -----------------------------------------------------------

const running: RunningEmulator[] = [];
async function emulatorWith(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const emulator = await startEmulator({ port: 0, ...options });
  running.push(emulator);
  return emulator;
}
afterAll(async () => {
  await Promise.all(running.map((e) => e.close()));
});

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await emulatorWith();
});
beforeEach(() => {
  emulator.reset();
});

// ---- discovery and keys --------------------------------------------------------------------

describe('discovery', () => {
  it('publishes a Keycloak-shaped OpenID configuration for realm platform', async () => {
    const res = await fetch(`${emulator.issuer}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('no-cache');
    const doc = (await res.json()) as Record<string, unknown>;
    const oidc = `${emulator.url}/auth/realms/platform/protocol/openid-connect`;
    expect(emulator.issuer).toBe(`${emulator.url}/auth/realms/platform`);
    expect(doc).toMatchObject({
      issuer: emulator.issuer,
      authorization_endpoint: `${oidc}/auth`,
      token_endpoint: `${oidc}/token`,
      userinfo_endpoint: `${oidc}/userinfo`,
      jwks_uri: `${oidc}/certs`,
      end_session_endpoint: `${oidc}/logout`,
      revocation_endpoint: `${oidc}/revoke`,
      introspection_endpoint: `${oidc}/token/introspect`,
      code_challenge_methods_supported: ['plain', 'S256'],
      authorization_response_iss_parameter_supported: true,
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
      response_types_supported: ['code'],
      response_modes_supported: ['query', 'fragment'],
    });
    expect(doc['grant_types_supported']).toEqual(['authorization_code', 'refresh_token', 'password']);
    expect(doc['scopes_supported']).toContain('openid');
    expect(doc['claims_supported']).toContain('preferred_username');
  });

  it('publishes RS256 signing keys with a kid', async () => {
    const jwks = (await (await fetch(`${emulator.issuer}/protocol/openid-connect/certs`)).json()) as {
      keys: Array<Record<string, unknown>>;
    };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(typeof jwks.keys[0]!['kid']).toBe('string');
    expect(jwks.keys[0]!['d']).toBeUndefined();
  });

  it('answers 404 for another realm', async () => {
    const res = await fetch(`${emulator.url}/auth/realms/master/.well-known/openid-configuration`);
    expect(res.status).toBe(404);
  });
});

// ---- authorization endpoint ----------------------------------------------------------------

describe('authorization endpoint', () => {
  it('shows an error page and never redirects for an unknown client', async () => {
    const res = await new Browser().get(authUrl(emulator, { client_id: 'nope' }));
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('Client not found.');
  });

  it('shows an error page and never redirects for an unregistered redirect_uri', async () => {
    const res = await new Browser().get(authUrl(emulator, { redirect_uri: 'http://127.0.0.1:3000/evil' }));
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('Invalid parameter: redirect_uri');
  });

  it('redirects unsupported_response_type for anything but response_type=code', async () => {
    const cb = callbackParams(await new Browser().get(authUrl(emulator, { response_type: 'token' })));
    expect(cb.get('error')).toBe('unsupported_response_type');
    expect(cb.get('state')).toBe('st-1');
  });

  it('redirects invalid_scope when scope lacks openid', async () => {
    const cb = callbackParams(await new Browser().get(authUrl(emulator, { scope: 'profile' })));
    expect(cb.get('error')).toBe('invalid_scope');
  });

  it('shows the Keycloak-like login form', async () => {
    const res = await new Browser().get(authUrl(emulator));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('no-store');
    const page = await res.text();
    expect(page).toContain('<title>Sign in to VideoManager Pro (emulator)</title>');
    expect(page).toContain('id="username"');
    expect(page).toContain('id="password"');
    expect(page).toContain('id="kc-login"');
    // The request travels as an opaque server-side id, not as raw parameters.
    expect(page).not.toContain('st-1');
    expect(page).not.toContain(REDIRECT);
  });

  it('escapes what it echoes into the page', async () => {
    const res = await new Browser().get(authUrl(emulator, { login_hint: '"><script>alert(1)</script>' }));
    const page = await res.text();
    expect(page).not.toContain('<script>alert(1)</script>');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('shows the form again with an error after a wrong password', async () => {
    const browser = new Browser();
    const { action, loginId } = loginForm(await (await browser.get(authUrl(emulator))).text());
    const res = await browser.post(action, { login_id: loginId, username: 'demo', password: 'wrong' });
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('Invalid username or password.');
    expect(page).toContain('id="kc-login"');
    expect(browser.cookies.has('KEYCLOAK_IDENTITY')).toBe(false);
    // The same form still works with the right password.
    const ok = await browser.post(action, {
      login_id: loginForm(page).loginId,
      username: 'demo',
      password: 'demo',
    });
    expect(callbackParams(ok).get('code')).toBeTruthy();
  });

  it('redirects with code, state, session_state and iss after a successful login', async () => {
    const browser = new Browser();
    const res = await signIn(browser, emulator);
    const location = new URL(res.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    const cb = callbackParams(res);
    expect(cb.get('code')).toMatch(/^[\w-]{20,}$/);
    expect(cb.get('state')).toBe('st-1');
    expect(cb.get('session_state')).toMatch(/^[0-9a-f-]{36}$/);
    expect(cb.get('iss')).toBe(emulator.issuer);
    expect(browser.cookies.has('KEYCLOAK_IDENTITY')).toBe(true);
    expect(browser.cookies.get('KEYCLOAK_SESSION')).toContain(cb.get('session_state')!);
  });

  it('puts the response in the fragment for response_mode=fragment', async () => {
    const res = await signIn(new Browser(), emulator, { response_mode: 'fragment' });
    const location = new URL(res.headers.get('location')!);
    expect(location.search).toBe('');
    expect(new URLSearchParams(location.hash.slice(1)).get('code')).toBeTruthy();
  });

  it('redirects access_denied when the user presses Cancel', async () => {
    const browser = new Browser();
    const { action, loginId } = loginForm(await (await browser.get(authUrl(emulator))).text());
    const cb = callbackParams(await browser.post(action, { login_id: loginId, cancel: 'on' }));
    expect(cb.get('error')).toBe('access_denied');
    expect(cb.get('error_description')).toBeTruthy();
    expect(cb.get('state')).toBe('st-1');
    expect(cb.get('iss')).toBe(emulator.issuer);
    expect(cb.get('code')).toBeNull();
  });

  it('skips the form when the browser already has an SSO session', async () => {
    const browser = new Browser();
    await signIn(browser, emulator);
    const cb = callbackParams(await browser.get(authUrl(emulator, { state: 'st-2' })));
    expect(cb.get('code')).toBeTruthy();
    expect(cb.get('state')).toBe('st-2');
  });

  it('answers prompt=none without an SSO session with login_required', async () => {
    const cb = callbackParams(await new Browser().get(authUrl(emulator, { prompt: 'none' })));
    expect(cb.get('error')).toBe('login_required');
    expect(cb.get('state')).toBe('st-1');
    expect(cb.get('iss')).toBe(emulator.issuer);
  });

  it('answers prompt=none with an SSO session with a code', async () => {
    const browser = new Browser();
    await signIn(browser, emulator);
    const cb = callbackParams(await browser.get(authUrl(emulator, { prompt: 'none' })));
    expect(cb.get('code')).toBeTruthy();
  });

  it('rejects a malformed PKCE challenge', async () => {
    const cb = callbackParams(
      await new Browser().get(authUrl(emulator, { code_challenge: 'short', code_challenge_method: 'S256' })),
    );
    expect(cb.get('error')).toBe('invalid_request');
  });
});

describe('authorization response switches', () => {
  it('leaves out iss and session_state when switched off', async () => {
    const quiet = await emulatorWith({ issParameter: false, sessionStateParameter: false });
    const cb = callbackParams(await signIn(new Browser(), quiet));
    expect(cb.get('code')).toBeTruthy();
    expect(cb.has('iss')).toBe(false);
    expect(cb.has('session_state')).toBe(false);
    const doc = (await (await fetch(`${quiet.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(doc['authorization_response_iss_parameter_supported']).toBe(false);
  });

  it('requires PKCE when requirePkce is set', async () => {
    const strict = await emulatorWith({ requirePkce: true });
    const cb = callbackParams(await new Browser().get(authUrl(strict)));
    expect(cb.get('error')).toBe('invalid_request');
    const { challenge } = pkcePair();
    const page = await new Browser().get(
      authUrl(strict, { code_challenge: challenge, code_challenge_method: 'S256' }),
    );
    expect(page.status).toBe(200);
  });
});

// ---- token endpoint: authorization code ----------------------------------------------------

describe('authorization code grant', () => {
  it('answers with tokens in Keycloak’s shape', async () => {
    const { verifier, challenge } = pkcePair();
    const cb = callbackParams(
      await signIn(new Browser(), emulator, { code_challenge: challenge, code_challenge_method: 'S256' }),
    );
    const res = await exchangeCode(emulator, cb.get('code')!, { code_verifier: verifier });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as TokenBody;
    expect(Object.keys(body).sort()).toEqual(
      [
        'access_token',
        'expires_in',
        'refresh_expires_in',
        'refresh_token',
        'token_type',
        'id_token',
        'not-before-policy',
        'session_state',
        'scope',
      ].sort(),
    );
    expect(body).toMatchObject({
      expires_in: 300,
      refresh_expires_in: 3600,
      token_type: 'bearer',
      'not-before-policy': 0,
      session_state: cb.get('session_state'),
      scope: 'openid profile email',
    });
    const access = decodeJwt(body.access_token);
    expect(decodeProtectedHeader(body.access_token)).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    expect(access).toMatchObject({
      iss: emulator.issuer,
      aud: 'account',
      sub: '6a7e3f0c-2b1d-4c5e-9f80-1d2c3b4a5e60',
      typ: 'Bearer',
      azp: CLIENT,
      session_state: body['session_state'],
      sid: body['session_state'],
      scope: 'openid profile email',
      preferred_username: 'demo',
      email: 'dana.demo@example.com',
      name: 'Dana Demo',
      realm_access: { roles: expect.arrayContaining(['offline_access']) },
    });
    expect(access.exp! - access.iat!).toBe(300);
    expect(typeof access.jti).toBe('string');
    const refreshClaims = decodeJwt(body.refresh_token);
    expect(refreshClaims).toMatchObject({ typ: 'Refresh', azp: CLIENT, sid: body['session_state'] });
    expect(refreshClaims.exp! - refreshClaims.iat!).toBe(3600);
  });

  it('issues an ID token that verifies with the published JWKS', async () => {
    const tokens = await codeFlowTokens(emulator);
    const jwks = createRemoteJWKSet(new URL(`${emulator.issuer}/protocol/openid-connect/certs`));
    const { payload, protectedHeader } = await jwtVerify(tokens.id_token, jwks, {
      issuer: emulator.issuer,
      audience: CLIENT,
      algorithms: ['RS256'],
    });
    expect(protectedHeader.kid).toBeTruthy();
    const atHash = createHash('sha256')
      .update(tokens.access_token)
      .digest()
      .subarray(0, 16)
      .toString('base64url');
    expect(payload).toMatchObject({
      sub: '6a7e3f0c-2b1d-4c5e-9f80-1d2c3b4a5e60',
      azp: CLIENT,
      nonce: 'n-1',
      sid: tokens['session_state'],
      session_state: tokens['session_state'],
      at_hash: atHash,
      name: 'Dana Demo',
      given_name: 'Dana',
      family_name: 'Demo',
      email: 'dana.demo@example.com',
      preferred_username: 'demo',
    });
    expect(typeof payload['auth_time']).toBe('number');
  });

  it('refuses a wrong PKCE verifier with invalid_grant', async () => {
    const { challenge } = pkcePair();
    const cb = callbackParams(
      await signIn(new Browser(), emulator, { code_challenge: challenge, code_challenge_method: 'S256' }),
    );
    const res = await exchangeCode(emulator, cb.get('code')!, { code_verifier: pkcePair().verifier });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses a missing PKCE verifier when a challenge was sent', async () => {
    const { challenge } = pkcePair();
    const cb = callbackParams(
      await signIn(new Browser(), emulator, { code_challenge: challenge, code_challenge_method: 'S256' }),
    );
    const res = await exchangeCode(emulator, cb.get('code')!);
    expect(await res.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('accepts a plain PKCE challenge', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const cb = callbackParams(
      await signIn(new Browser(), emulator, { code_challenge: verifier, code_challenge_method: 'plain' }),
    );
    expect((await exchangeCode(emulator, cb.get('code')!, { code_verifier: verifier })).status).toBe(200);
  });

  it('refuses a redirect_uri different from the authorization request', async () => {
    const cb = callbackParams(await signIn(new Browser(), emulator));
    const res = await exchangeCode(emulator, cb.get('code')!, {
      redirect_uri: 'http://localhost:3000/auth/callback',
    });
    expect(await res.json()).toEqual({ error: 'invalid_grant', error_description: 'Incorrect redirect_uri' });
  });

  it('refuses a second use of a code and revokes what the first use issued', async () => {
    const cb = callbackParams(await signIn(new Browser(), emulator));
    const code = cb.get('code')!;
    const first = (await (await exchangeCode(emulator, code)).json()) as TokenBody;
    const second = await exchangeCode(emulator, code);
    expect(second.status).toBe(400);
    expect(await second.json()).toEqual({ error: 'invalid_grant', error_description: 'Code not valid' });
    const again = await refresh(emulator, first.refresh_token);
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: 'invalid_grant' });
    expect(await emulator.verifyAccessToken(first.access_token)).toBeNull();
  });

  it('refuses an expired code', async () => {
    const cb = callbackParams(await signIn(new Browser(), emulator));
    emulator.advanceClock(61);
    expect(await (await exchangeCode(emulator, cb.get('code')!)).json()).toMatchObject({
      error: 'invalid_grant',
    });
  });
});

// ---- token endpoint: client authentication and request checks -----------------------------

describe('client authentication', () => {
  const special = { clientId: 'odd client', clientSecret: 'p:ss+w%rd é', redirectUris: [REDIRECT] };
  const basic = (id: string, secret: string) =>
    `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

  it('accepts the secret in the body (client_secret_post)', async () => {
    const res = await passwordLikeClient(emulator, { client_id: CLIENT, client_secret: SECRET });
    expect(res.status).toBe(200);
  });

  it('accepts HTTP Basic with form-encoded credentials (client_secret_basic)', async () => {
    emulator.addClient(special);
    const res = await passwordLikeClient(
      emulator,
      {},
      { authorization: basic(special.clientId, special.clientSecret) },
    );
    expect(res.status).toBe(200);
  });

  it('refuses a wrong secret with 401 invalid_client', async () => {
    const res = await passwordLikeClient(emulator, { client_id: CLIENT, client_secret: 'wrong' });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('refuses a wrong Basic secret with 401 and a Basic challenge', async () => {
    const res = await passwordLikeClient(emulator, {}, { authorization: basic(CLIENT, 'wrong') });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic/);
  });

  it('refuses a confidential client without a secret', async () => {
    const res = await passwordLikeClient(emulator, { client_id: CLIENT });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('refuses a body that is not form-encoded', async () => {
    const res = await fetch(`${emulator.issuer}/protocol/openid-connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'password',
        client_id: 'anonymous',
        username: 'demo',
        password: 'demo',
      }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('answers unsupported_grant_type for other grants', async () => {
    const res = await tokenRequest(emulator, {
      grant_type: 'client_credentials',
      client_id: CLIENT,
      client_secret: SECRET,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'unsupported_grant_type' });
  });
});

function passwordLikeClient(
  emulator: RunningEmulator,
  auth: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return tokenRequest(
    emulator,
    { grant_type: 'password', username: 'demo', password: 'demo', scope: 'openid', ...auth },
    headers,
  );
}

// ---- refresh and password grants ----------------------------------------------------------

describe('two sign-ins at once in one SSO session (two tabs)', () => {
  it('gives each code the ID token nonce of its own authorization request, and each refresh its own', async () => {
    const browser = new Browser();
    // Tab 1 shows the login form; tab 2 is sent to the same form meanwhile (nothing signed in yet).
    const page1 = await browser.get(authUrl(emulator, { state: 'tab-1', nonce: 'nonce-1' }));
    const page2 = await browser.get(authUrl(emulator, { state: 'tab-2', nonce: 'nonce-2' }));
    const form1 = loginForm(await page1.text());
    const form2 = loginForm(await page2.text());
    const cb2 = callbackParams(
      await browser.post(form2.action, { login_id: form2.loginId, username: 'demo', password: 'demo' }),
    );
    const cb1 = callbackParams(
      await browser.post(form1.action, { login_id: form1.loginId, username: 'demo', password: 'demo' }),
    );
    const tokens1 = (await (await exchangeCode(emulator, cb1.get('code')!)).json()) as TokenBody;
    const tokens2 = (await (await exchangeCode(emulator, cb2.get('code')!)).json()) as TokenBody;
    expect(decodeJwt(tokens1.id_token).nonce).toBe('nonce-1');
    expect(decodeJwt(tokens2.id_token).nonce).toBe('nonce-2');
    const refreshed1 = (await (await refresh(emulator, tokens1.refresh_token)).json()) as TokenBody;
    expect(decodeJwt(refreshed1.id_token).nonce).toBe('nonce-1');
  });
});

describe('refresh token grant', () => {
  it('rotates: every answer has new tokens, and the ID token keeps sub', async () => {
    const first = await codeFlowTokens(emulator);
    const res = await refresh(emulator, first.refresh_token);
    expect(res.status).toBe(200);
    const second = (await res.json()) as TokenBody;
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.access_token).not.toBe(first.access_token);
    expect(second['session_state']).toBe(first['session_state']);
    expect(decodeJwt(second.id_token).sub).toBe(decodeJwt(first.id_token).sub);
    expect(decodeJwt(second.id_token).nonce).toBe('n-1');
  });

  it('lets an older refresh token be used again by default (Keycloak default)', async () => {
    const first = await codeFlowTokens(emulator);
    expect((await refresh(emulator, first.refresh_token)).status).toBe(200);
    expect((await refresh(emulator, first.refresh_token)).status).toBe(200);
  });

  it('refuses a reused refresh token in strict mode', async () => {
    const strict = await emulatorWith({ strictRefreshTokenReuse: true });
    const first = await codeFlowTokens(strict);
    const rotated = (await (await refresh(strict, first.refresh_token)).json()) as TokenBody;
    const reuse = await refresh(strict, first.refresh_token);
    expect(reuse.status).toBe(400);
    expect(await reuse.json()).toEqual({
      error: 'invalid_grant',
      error_description: 'Maximum allowed refresh token reuse exceeded',
    });
    expect((await refresh(strict, rotated.refresh_token)).status).toBe(200);
  });

  it('refuses a refresh token of another client', async () => {
    const tokens = (await (await passwordGrant(emulator)).json()) as TokenBody;
    const res = await refresh(emulator, tokens.refresh_token);
    expect(await res.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses garbage as a refresh token', async () => {
    expect(await (await refresh(emulator, 'not-a-token')).json()).toEqual({
      error: 'invalid_grant',
      error_description: 'Invalid refresh token',
    });
  });
});

describe('password grant', () => {
  it('signs in with client anonymous and ignores response_type=token', async () => {
    const res = await passwordGrant(emulator);
    expect(res.status).toBe(200);
    const body = (await res.json()) as TokenBody;
    expect(body).toMatchObject({
      expires_in: 300,
      refresh_expires_in: 3600,
      token_type: 'bearer',
      'not-before-policy': 0,
      scope: 'openid profile email',
    });
    expect(decodeJwt(body.access_token)).toMatchObject({ azp: 'anonymous', preferred_username: 'demo' });
    expect(decodeJwt(body.id_token).aud).toBe('anonymous');
    const again = await tokenRequest(emulator, {
      grant_type: 'refresh_token',
      refresh_token: body.refresh_token,
      client_id: 'anonymous',
    });
    expect(again.status).toBe(200);
  });

  it('refuses wrong credentials with 401 invalid_grant', async () => {
    const res = await passwordGrant(emulator, 'demo', 'nope');
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      error: 'invalid_grant',
      error_description: 'Invalid user credentials',
    });
  });

  it('says Bearer when tokenTypeCase is Bearer', async () => {
    const upper = await emulatorWith({ tokenTypeCase: 'Bearer' });
    expect(((await (await passwordGrant(upper)).json()) as TokenBody)['token_type']).toBe('Bearer');
  });
});

// ---- faults and counters ---------------------------------------------------------------------

describe('token faults', () => {
  it('answers 503 with Retry-After, once', async () => {
    emulator.addTokenFault({ kind: 'status', status: 503, retryAfter: 7, times: 1 });
    const faulted = await passwordGrant(emulator);
    expect(faulted.status).toBe(503);
    expect(faulted.headers.get('retry-after')).toBe('7');
    expect((await passwordGrant(emulator)).status).toBe(200);
  });

  it('answers an OAuth error for one grant type only', async () => {
    emulator.addTokenFault({ grantType: 'refresh_token', kind: 'oauth_error', error: 'invalid_grant' });
    expect((await passwordGrant(emulator)).status).toBe(200);
    const tokens = await codeFlowTokens(emulator);
    const res = await refresh(emulator, tokens.refresh_token);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('answers an HTML page', async () => {
    emulator.addTokenFault({ kind: 'html', status: 502, times: 1 });
    const res = await passwordGrant(emulator);
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toContain('text/html');
  });

  it('answers a body that is not JSON', async () => {
    emulator.addTokenFault({ kind: 'malformed_json', times: 1 });
    const res = await passwordGrant(emulator);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    await expect(res.json()).rejects.toThrow();
  });

  it('drops the connection', async () => {
    emulator.addTokenFault({ kind: 'reset', times: 1 });
    await expect(passwordGrant(emulator)).rejects.toThrow();
    expect((await passwordGrant(emulator)).status).toBe(200);
  });

  it('answers a delayed request after a later undelayed one', async () => {
    emulator.addTokenFault({ kind: 'delay', delayMs: 1500, times: 1 });
    const order: string[] = [];
    const slow = passwordGrant(emulator).then((r) => {
      order.push('slow');
      return r;
    });
    // Make sure the slow request is in the emulator before the fast one goes out.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const fast = await passwordGrant(emulator);
    order.push('fast');
    expect(fast.status).toBe(200);
    expect((await slow).status).toBe(200);
    expect(order).toEqual(['fast', 'slow']);
  });

  it('faults a request with the given probability, by the emulator’s dice', async () => {
    const rolls = [0.1, 0.9, 0.29, 0.3, 0.5];
    const dice = await emulatorWith({ random: () => rolls.shift() ?? 0.99 });
    dice.addTokenFault({ kind: 'status', status: 503, probability: 0.3 });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await passwordGrant(dice)).status);
    expect(statuses).toEqual([503, 200, 503, 200, 200, 200]);
  });

  it('does not use up times on a request the probability spared, and offers it to the next fault', async () => {
    const rolls = [0.9, 0.1, 0.9, 0.9, 0.1];
    const dice = await emulatorWith({ random: () => rolls.shift() ?? 0.99 });
    dice.addTokenFault({ kind: 'status', status: 503, probability: 0.5, times: 1 });
    dice.addTokenFault({ kind: 'html', status: 502, probability: 0.5 });
    const statuses: number[] = [];
    // 1st: spared by the 503 (0.9), faulted by the HTML page (0.1); 2nd: spared by both;
    // 3rd: the 503 (0.1), which is then used up.
    for (let i = 0; i < 4; i++) statuses.push((await passwordGrant(dice)).status);
    expect(statuses).toEqual([502, 200, 503, 200]);
  });

  it('carries out a delayed refresh whose caller hung up, unless told to drop it', async () => {
    const strict = await emulatorWith({ strictRefreshTokenReuse: true });
    const abandon = async (refreshToken: string) => {
      const sent = fetch(`${strict.issuer}/protocol/openid-connect/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
          client_id: CLIENT,
          client_secret: SECRET,
        }).toString(),
        signal: AbortSignal.timeout(100),
      });
      await expect(sent).rejects.toThrow();
      await new Promise((resolve) => setTimeout(resolve, 400));
    };
    // complete (the default): the server spent the refresh token though nobody got the answer.
    strict.addTokenFault({ grantType: 'refresh_token', kind: 'delay', delayMs: 250, times: 1 });
    const first = await codeFlowTokens(strict);
    await abandon(first.refresh_token);
    expect(await (await refresh(strict, first.refresh_token)).json()).toMatchObject({
      error: 'invalid_grant',
      error_description: 'Maximum allowed refresh token reuse exceeded',
    });
    // drop: the refresh token is still unused.
    strict.addTokenFault({
      grantType: 'refresh_token',
      kind: 'delay',
      delayMs: 250,
      whenAbandoned: 'drop',
      times: 1,
    });
    const second = await codeFlowTokens(strict, new Browser());
    await abandon(second.refresh_token);
    expect((await refresh(strict, second.refresh_token)).status).toBe(200);
  });

  it('refuses a probability outside 0 to 1', async () => {
    for (const probability of [-0.1, 1.5, Number.NaN, '0.3']) {
      expect(() => emulator.addTokenFault({ kind: 'status', probability } as never)).toThrow(
        /probability must be a number from 0 to 1/,
      );
    }
    expect(() => emulator.addTokenFault({ kind: 'status', probability: 0 })).not.toThrow();
  });
});

describe('counters', () => {
  it('count token requests by grant type, errors, logins and authorization requests', async () => {
    const tokens = await codeFlowTokens(emulator);
    await refresh(emulator, tokens.refresh_token);
    await passwordGrant(emulator);
    await passwordGrant(emulator, 'demo', 'wrong');
    expect(emulator.counters().login).toMatchObject({
      tokenRequests: { authorization_code: 1, refresh_token: 1, password: 2 },
      tokenErrors: 1,
      authorizationRequests: 1,
      logins: 2,
    });
  });

  it('count refresh grants per client session, and how many were in flight at once', async () => {
    emulator.addTokenFault({ grantType: 'refresh_token', kind: 'delay', delayMs: 300, times: 2 });
    const tokens = await codeFlowTokens(emulator);
    // Two at the same time (both delayed), then one alone.
    await Promise.all([refresh(emulator, tokens.refresh_token), refresh(emulator, tokens.refresh_token)]);
    expect((await refresh(emulator, tokens.refresh_token)).status).toBe(200);
    const { login } = emulator.counters();
    expect(login.maxConcurrentRefreshes).toBe(2);
    expect(login.refreshesBySession).toEqual([
      { sid: expect.any(String), clientId: CLIENT, requests: 3, succeeded: 3, maxConcurrent: 2 },
    ]);
  });

  it('stop counting a refresh in flight when its caller hangs up', async () => {
    emulator.addTokenFault({ grantType: 'refresh_token', kind: 'delay', delayMs: 2000, times: 1 });
    const tokens = await codeFlowTokens(emulator);
    const abandoned = fetch(`${emulator.issuer}/protocol/openid-connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token,
        client_id: CLIENT,
        client_secret: SECRET,
      }).toString(),
      signal: AbortSignal.timeout(200),
    });
    await expect(abandoned).rejects.toThrow();
    // Let the server see the closed connection.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await refresh(emulator, tokens.refresh_token)).status).toBe(200);
    expect(emulator.counters().login.maxConcurrentRefreshes).toBe(1);
    expect(emulator.counters().login.refreshesBySession[0]).toMatchObject({ requests: 2, maxConcurrent: 1 });
  });
});

// ---- userinfo, revocation, logout ------------------------------------------------------------

describe('userinfo', () => {
  it('answers the user’s claims for a valid access token', async () => {
    const tokens = await codeFlowTokens(emulator);
    const res = await userinfo(emulator, tokens.access_token);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      sub: '6a7e3f0c-2b1d-4c5e-9f80-1d2c3b4a5e60',
      preferred_username: 'demo',
    });
  });

  it('answers 401 invalid_token without a valid token', async () => {
    const res = await userinfo(emulator, 'garbage');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });
});

describe('revocation', () => {
  function revoke(token: string, secret = SECRET): Promise<Response> {
    return fetch(`${emulator.issuer}/protocol/openid-connect/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token,
        token_type_hint: 'refresh_token',
        client_id: CLIENT,
        client_secret: secret,
      }),
    });
  }

  it('revokes a refresh token: it and the session’s access tokens stop working', async () => {
    const tokens = await codeFlowTokens(emulator);
    const res = await revoke(tokens.refresh_token);
    expect(res.status).toBe(200);
    expect(await (await refresh(emulator, tokens.refresh_token)).json()).toMatchObject({
      error: 'invalid_grant',
    });
    expect((await userinfo(emulator, tokens.access_token)).status).toBe(401);
    expect(emulator.counters().login.revocations).toBe(1);
  });

  it('answers 200 for an unknown token', async () => {
    expect((await revoke('unknown-token')).status).toBe(200);
    expect(emulator.counters().login.revocations).toBe(0);
  });

  it('answers 401 invalid_client for a wrong secret and revokes nothing', async () => {
    const tokens = await codeFlowTokens(emulator);
    expect((await revoke(tokens.refresh_token, 'wrong')).status).toBe(401);
    expect((await refresh(emulator, tokens.refresh_token)).status).toBe(200);
  });
});

describe('logout', () => {
  let receiver: ReturnType<typeof createServer>;
  let receiverUrl: string;
  const received: Array<{ token: string; contentType: string | undefined }> = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        received.push({
          token: new URLSearchParams(body).get('logout_token') ?? '',
          contentType: req.headers['content-type'],
        });
        res.writeHead(200).end();
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/auth/backchannel-logout`;
  });
  afterAll(async () => {
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
  });
  beforeEach(() => {
    received.length = 0;
    emulator.addClient({
      clientId: CLIENT,
      clientSecret: SECRET,
      redirectUris: [REDIRECT],
      postLogoutRedirectUris: ['http://127.0.0.1:3000/'],
      backchannelLogoutUri: receiverUrl,
    });
  });

  function endSessionUrl(params: Record<string, string>): string {
    const url = new URL(`${emulator.issuer}/protocol/openid-connect/logout`);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.href;
  }

  it('ends the SSO session, sends a verifiable back-channel logout token, and redirects with state', async () => {
    const browser = new Browser();
    const tokens = await codeFlowTokens(emulator, browser);
    const res = await browser.get(
      endSessionUrl({
        id_token_hint: tokens.id_token,
        client_id: CLIENT,
        post_logout_redirect_uri: 'http://127.0.0.1:3000/',
        state: 'bye',
      }),
    );
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('http://127.0.0.1:3000/?state=bye');
    expect(browser.cookies.has('KEYCLOAK_IDENTITY')).toBe(false);

    expect(received).toHaveLength(1);
    expect(received[0]!.contentType).toBe('application/x-www-form-urlencoded');
    const jwks = createRemoteJWKSet(new URL(`${emulator.issuer}/protocol/openid-connect/certs`));
    const { payload, protectedHeader } = await jwtVerify(received[0]!.token, jwks, {
      issuer: emulator.issuer,
      audience: CLIENT,
      typ: 'logout+jwt',
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({
      sid: tokens['session_state'],
      sub: '6a7e3f0c-2b1d-4c5e-9f80-1d2c3b4a5e60',
      events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
    });
    expect(payload.jti).toBeTruthy();
    expect(payload['nonce']).toBeUndefined();
    expect(emulator.counters().login.backchannelLogoutsSent).toBe(1);

    expect(await (await refresh(emulator, tokens.refresh_token)).json()).toMatchObject({
      error: 'invalid_grant',
    });
    expect(await emulator.verifyAccessToken(tokens.access_token)).toBeNull();
    // The browser has to sign in again.
    expect((await browser.get(authUrl(emulator))).status).toBe(200);
  });

  it('shows an error page for an unregistered post_logout_redirect_uri and ends nothing', async () => {
    const browser = new Browser();
    const tokens = await codeFlowTokens(emulator, browser);
    const res = await browser.get(
      endSessionUrl({ id_token_hint: tokens.id_token, post_logout_redirect_uri: 'https://evil.example/' }),
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect((await refresh(emulator, tokens.refresh_token)).status).toBe(200);
  });

  it('needs client_id or id_token_hint with post_logout_redirect_uri', async () => {
    const res = await new Browser().get(
      endSessionUrl({ post_logout_redirect_uri: 'http://127.0.0.1:3000/' }),
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
  });

  it('asks for confirmation without id_token_hint, then logs out', async () => {
    const browser = new Browser();
    const tokens = await codeFlowTokens(emulator, browser);
    const page = await browser.get(endSessionUrl({ client_id: CLIENT }));
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Do you want to log out?');
    expect((await refresh(emulator, tokens.refresh_token)).status).toBe(200);
    const logoutId = /name="logout_id" value="([^"]+)"/.exec(html)![1]!;
    const done = await browser.post(`${emulator.issuer}/protocol/openid-connect/logout`, {
      logout_id: logoutId,
      confirmLogout: 'Logout',
    });
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('You are logged out');
    expect(await (await refresh(emulator, tokens.refresh_token)).json()).toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('logs out directly with a refresh token (204)', async () => {
    const tokens = await codeFlowTokens(emulator);
    const res = await fetch(`${emulator.issuer}/protocol/openid-connect/logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        refresh_token: tokens.refresh_token,
        client_id: CLIENT,
        client_secret: SECRET,
      }),
    });
    expect(res.status).toBe(204);
    expect(received).toHaveLength(1);
    expect(await (await refresh(emulator, tokens.refresh_token)).json()).toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('logs a user out programmatically, with back-channel logout', async () => {
    const tokens = await codeFlowTokens(emulator);
    expect(await emulator.logoutUser('demo')).toBe(1);
    expect(received).toHaveLength(1);
    expect(await emulator.verifyAccessToken(tokens.access_token)).toBeNull();
  });

  it('counts a back-channel receiver that cannot be reached, without failing the logout', async () => {
    emulator.addClient({
      clientId: CLIENT,
      clientSecret: SECRET,
      redirectUris: [REDIRECT],
      backchannelLogoutUri: 'http://127.0.0.1:1/unreachable',
    });
    await codeFlowTokens(emulator);
    expect(await emulator.logoutUser('demo')).toBe(1);
    expect(emulator.counters().login).toMatchObject({
      backchannelLogoutsSent: 0,
      backchannelLogoutsFailed: 1,
    });
  });
});

// ---- clock and keys ------------------------------------------------------------------------

describe('emulator clock', () => {
  it('expires access tokens by the emulator clock', async () => {
    const tokens = await codeFlowTokens(emulator);
    expect(await emulator.verifyAccessToken(tokens.access_token)).toMatchObject({
      preferred_username: 'demo',
    });
    emulator.advanceClock(301);
    expect(await emulator.verifyAccessToken(tokens.access_token)).toBeNull();
  });

  it('expires refresh tokens with "Token is not active"', async () => {
    const tokens = await codeFlowTokens(emulator);
    emulator.advanceClock(3601);
    expect(await (await refresh(emulator, tokens.refresh_token)).json()).toEqual({
      error: 'invalid_grant',
      error_description: 'Token is not active',
    });
  });

  it('extends the session idle time on every refresh', async () => {
    let tokens = await codeFlowTokens(emulator);
    for (let i = 0; i < 3; i++) {
      emulator.advanceClock(3000);
      const res = await refresh(emulator, tokens.refresh_token);
      expect(res.status).toBe(200);
      tokens = (await res.json()) as TokenBody;
    }
  });
});

describe('key rotation', () => {
  it('signs with a new key and keeps the old one published', async () => {
    const before = await codeFlowTokens(emulator);
    await emulator.rotateKeys();
    const after = await codeFlowTokens(emulator);
    expect(decodeProtectedHeader(after.id_token).kid).not.toBe(decodeProtectedHeader(before.id_token).kid);
    const jwks = createRemoteJWKSet(new URL(`${emulator.issuer}/protocol/openid-connect/certs`));
    await expect(jwtVerify(before.id_token, jwks, { issuer: emulator.issuer })).resolves.toBeTruthy();
    await expect(jwtVerify(after.id_token, jwks, { issuer: emulator.issuer })).resolves.toBeTruthy();
    expect(await emulator.verifyAccessToken(before.access_token)).not.toBeNull();
  });
});
