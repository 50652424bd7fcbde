import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { CLIENT_ID, ISSUER, REDIRECT_URI } from '../../test/support/fake-login-server.js';
import { expectCode, rejectionOf, setup } from '../../test/support/oidc-unit.js';

describe('createAuthorizationRequest', () => {
  test("sends movingimage's documented parameters plus nonce and PKCE S256, always", async () => {
    const { client } = await setup();
    const { url, transaction } = await client.createAuthorizationRequest();
    expect(url.origin + url.pathname).toBe(`${ISSUER}/protocol/openid-connect/auth`);
    const p = url.searchParams;
    expect(p.get('client_id')).toBe(CLIENT_ID);
    expect(p.get('redirect_uri')).toBe(REDIRECT_URI);
    expect(p.get('response_mode')).toBe('query');
    expect(p.get('response_type')).toBe('code');
    expect(p.get('scope')).toBe('openid');
    expect(p.get('state')).toBe(transaction.state);
    expect(p.get('nonce')).toBe(transaction.nonce);
    expect(p.get('code_challenge_method')).toBe('S256');
    expect(p.get('code_challenge')).toBe(
      createHash('sha256').update(transaction.codeVerifier).digest('base64url'),
    );
    expect([...p.keys()].every((k) => p.getAll(k).length === 1)).toBe(true);
  });

  test('keeps what the callback needs in the transaction', async () => {
    const { client, server } = await setup();
    const { transaction } = await client.createAuthorizationRequest({ returnTo: '/videos?page=2' });
    expect(transaction).toMatchObject({
      redirectUri: REDIRECT_URI,
      issuer: ISSUER,
      returnTo: '/videos?page=2',
      createdAt: server.clock.now(),
    });
    expect(JSON.parse(JSON.stringify(transaction))).toEqual(transaction);
  });

  test('returns to "/" by default', async () => {
    const { client } = await setup();
    expect((await client.createAuthorizationRequest()).transaction.returnTo).toBe('/');
  });

  test('uses fresh, long random values for state, nonce and verifier on every request', async () => {
    const { client } = await setup();
    const a = (await client.createAuthorizationRequest()).transaction;
    const b = (await client.createAuthorizationRequest()).transaction;
    for (const key of ['state', 'nonce', 'codeVerifier'] as const) {
      expect(a[key]).not.toBe(b[key]);
      expect(a[key].length).toBeGreaterThanOrEqual(43); // >= 256 bits, base64url
    }
    expect(new Set([a.state, a.nonce, a.codeVerifier]).size).toBe(3);
  });

  test('adds the configured scopes and the per-request scopes after openid', async () => {
    const { client } = await setup({ client: { scopes: ['profile'] } });
    const { url } = await client.createAuthorizationRequest({ scopes: ['email', 'profile'] });
    expect(url.searchParams.get('scope')).toBe('openid profile email');
  });

  test('passes prompt and login_hint when asked', async () => {
    const { client } = await setup();
    const { url } = await client.createAuthorizationRequest({ prompt: 'login', loginHint: 'dana' });
    expect(url.searchParams.get('prompt')).toBe('login');
    expect(url.searchParams.get('login_hint')).toBe('dana');
  });

  test.each(['//evil.example', 'https://evil.example/', 'videos', ''])(
    'refuses returnTo %j, which does not start with a single "/"',
    async (returnTo) => {
      const { client } = await setup();
      expectCode(await rejectionOf(client.createAuthorizationRequest({ returnTo })), 'VMPRO_CONFIG_INVALID');
    },
  );

  test('needs a redirectUri', async () => {
    const { client } = await setup({ client: { redirectUri: undefined } });
    const err = await rejectionOf(client.createAuthorizationRequest());
    expectCode(err, 'VMPRO_CONFIG_INVALID');
    expect(err.field).toBe('redirectUri');
  });

  test('refuses an invalid per-request scope', async () => {
    const { client } = await setup();
    expectCode(
      await rejectionOf(client.createAuthorizationRequest({ scopes: ['a b'] })),
      'VMPRO_CONFIG_INVALID',
    );
  });
});
