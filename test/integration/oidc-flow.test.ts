/**
 * The protocol layer over real sockets, against two independent servers with the same test body:
 * the emulator (movingimage's Keycloak realm, as this project models it) and oidc-provider (a
 * certified OpenID provider, mounted with Keycloak's paths).
 */

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';
import { isVmproError } from '../../src/errors.js';
import { createOidcClient, createServiceAccount, type OidcClientOptions } from '../../src/index.js';
import { CookieJar, type Credentials, driveLogin } from '../support/login-driver.js';
import { startOidcProvider } from '../support/oidc-provider.js';

interface Environment {
  apiBase: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  postLogoutRedirectUri: string;
  credentials: Credentials;
  close(): Promise<void>;
}

interface Target {
  name: string;
  start(): Promise<Environment>;
}

const targets: Target[] = [
  {
    name: 'the emulator',
    async start() {
      const emulator = await startEmulator({ port: 0 });
      return {
        apiBase: emulator.apiBase,
        issuer: emulator.issuer,
        clientId: 'vmpro-demo',
        clientSecret: 'vmpro-demo-secret',
        redirectUri: 'http://127.0.0.1:3000/auth/callback',
        postLogoutRedirectUri: 'http://127.0.0.1:3000/',
        credentials: { username: 'demo', password: 'demo' },
        close: () => emulator.close(),
      };
    },
  },
  {
    name: 'oidc-provider',
    async start() {
      const op = await startOidcProvider();
      return {
        apiBase: op.apiBase,
        issuer: op.issuer,
        clientId: op.clientId,
        clientSecret: op.clientSecret,
        redirectUri: op.redirectUri,
        postLogoutRedirectUri: op.postLogoutRedirectUri,
        credentials: { username: 'dana', password: 'any' },
        close: () => op.close(),
      };
    },
  },
];

describe.each(targets)('sign-in against $name over real sockets', (target) => {
  let env: Environment;

  beforeAll(async () => {
    env = await target.start();
  });
  afterAll(async () => {
    await env?.close();
  });
  function options(extra: Partial<OidcClientOptions> = {}): OidcClientOptions {
    return {
      apiBase: env.apiBase,
      clientId: env.clientId,
      clientSecret: env.clientSecret,
      redirectUri: env.redirectUri,
      ...extra,
    };
  }

  test('discovers the login server from the API base via WebFinger', async () => {
    const client = await createOidcClient(options());
    expect(client.issuer).toBe(env.issuer);
    expect(client.metadata.token_endpoint).toBe(`${env.issuer}/protocol/openid-connect/token`);
    expect(client.metadata.end_session_endpoint).toBe(`${env.issuer}/protocol/openid-connect/logout`);
    expect(client.metadata.revocation_endpoint).toBe(`${env.issuer}/protocol/openid-connect/revoke`);
  });

  test('discovers the login server from an explicit issuer', async () => {
    const client = await createOidcClient(options({ apiBase: 'https://unused.invalid', issuer: env.issuer }));
    expect(client.issuer).toBe(env.issuer);
  });

  test('signs in, refreshes, revokes and logs out', async () => {
    const client = await createOidcClient(options());
    const jar = new CookieJar();

    const { url, transaction } = await client.createAuthorizationRequest({ returnTo: '/videos' });
    const callback = await driveLogin(url, env.redirectUri, env.credentials, jar);
    expect(callback.searchParams.get('state')).toBe(transaction.state);

    const validated = await client.validateCallback(callback, transaction);
    const tokens = await client.exchangeCode(validated);
    expect(tokens.accessToken).toEqual(expect.any(String));
    expect(tokens.refreshToken).toEqual(expect.any(String));
    expect(tokens.claims?.iss).toBe(env.issuer);
    expect(tokens.claims?.nonce).toBe(transaction.nonce);
    expect(tokens.accessTokenExpiresAt).toBeGreaterThan(Date.now());
    expect(JSON.parse(JSON.stringify(tokens))).toEqual(tokens);

    const refreshed = await client.refresh(tokens);
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    expect(refreshed.claims?.sub).toBe(tokens.claims?.sub);
    expect(refreshed.refreshToken).toEqual(expect.any(String));

    expect(await client.revoke(refreshed.refreshToken as string, 'refresh_token')).toBe(true);
    const afterRevoke = await client.refresh(refreshed).catch((err: unknown) => err);
    expect(isVmproError(afterRevoke, 'VMPRO_REFRESH_EXPIRED')).toBe(true);

    const endSession = client.buildEndSessionUrl({
      idTokenHint: refreshed.idToken,
      postLogoutRedirectUri: env.postLogoutRedirectUri,
      state: 'logged-out',
    });
    expect(endSession).not.toBeNull();
    const response = await fetch(endSession as URL, {
      redirect: 'manual',
      headers: { cookie: jar.header() },
    });
    await response.body?.cancel();
    expect(response.status).toBeLessThan(400);
    // Confirm if asked, and end at the post-logout redirect URI with our state.
    const landed = await driveLogin(endSession as URL, env.postLogoutRedirectUri, env.credentials, jar);
    expect(landed.searchParams.get('state')).toBe('logged-out');
  });

  test('refuses a callback whose state does not match, before any token request', async () => {
    const client = await createOidcClient(options());
    const { url, transaction } = await client.createAuthorizationRequest();
    const callback = await driveLogin(url, env.redirectUri, env.credentials);
    const err = await client
      .validateCallback(callback, { ...transaction, state: 'another-browser-state' })
      .catch((e: unknown) => e);
    expect(isVmproError(err, 'VMPRO_STATE_MISMATCH')).toBe(true);
  });

  test('never sends the same code twice, and the server refuses a replayed code', async () => {
    const client = await createOidcClient(options());
    const { url, transaction } = await client.createAuthorizationRequest();
    const callback = await driveLogin(url, env.redirectUri, env.credentials);
    const validated = await client.validateCallback(callback, transaction);
    await client.exchangeCode(validated);

    const again = await client.exchangeCode(validated).catch((e: unknown) => e);
    expect(isVmproError(again, 'VMPRO_CALLBACK_INVALID')).toBe(true);

    // Validating the same callback again (an app that forgot to consume its transaction) does
    // reach the server, which refuses the code.
    const replay = await client.validateCallback(callback, transaction);
    const refused = await client.exchangeCode(replay).catch((e: unknown) => e);
    expect(isVmproError(refused, 'VMPRO_TOKEN_ERROR')).toBe(true);
  });
});

describe('password grant against the emulator (movingimage "anonymous" client)', () => {
  let emulator: Awaited<ReturnType<typeof startEmulator>>;

  beforeAll(async () => {
    emulator = await startEmulator({ port: 0 });
  });
  afterAll(async () => {
    await emulator?.close();
  });

  test('logs in with user name and password and refreshes through the service account', async () => {
    const client = await createOidcClient({ apiBase: emulator.apiBase, clientId: 'anonymous' });
    const tokens = await client.passwordGrant('demo', 'demo');
    expect(tokens.claims?.preferred_username).toBe('demo');
    expect(await emulator.verifyAccessToken(tokens.accessToken)).not.toBeNull();

    const account = createServiceAccount({ client, username: 'demo', password: 'demo' });
    const first = await account.getAccessToken();
    const forced = await account.getAccessToken({ forceRefresh: true });
    expect(forced).not.toBe(first);
    expect(await emulator.verifyAccessToken(forced)).not.toBeNull();
    await account.logout();
    expect(account.tokens()).toBeNull();
  });

  test('refuses a wrong password', async () => {
    const client = await createOidcClient({ apiBase: emulator.apiBase, clientId: 'anonymous' });
    const err = await client.passwordGrant('demo', 'wrong').catch((e: unknown) => e);
    expect(isVmproError(err, 'VMPRO_TOKEN_ERROR')).toBe(true);
    expect((err as Error).message).toContain('user name or password was refused');
  });
});
