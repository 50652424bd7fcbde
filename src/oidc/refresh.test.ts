import { describe, expect, test } from 'vitest';
import { CLIENT_ID, CLIENT_SECRET, ISSUER, json } from '../../test/support/fake-login-server.js';
import { expectCode, hang, rejectionOf, setup, signIn } from '../../test/support/oidc-unit.js';
import { OAuthError } from '../errors.js';

const TOKEN_URL = `${ISSUER}/protocol/openid-connect/token`;

async function signedIn(options: Parameters<typeof setup>[0] = {}) {
  const ctx = await setup(options);
  const tokens = await signIn(ctx.server, ctx.client);
  return { ...ctx, tokens };
}

describe('refresh: the request', () => {
  test("sends movingimage's documented body: grant_type, refresh_token, scope=openid, client credentials", async () => {
    const { client, server, tokens } = await signedIn();
    await client.refresh(tokens);
    const form = server.lastTokenRequest()?.form;
    expect(form?.get('grant_type')).toBe('refresh_token');
    expect(form?.get('refresh_token')).toBe(tokens.refreshToken);
    expect(form?.get('scope')).toBe('openid');
    expect(form?.get('client_id')).toBe(CLIENT_ID);
    expect(form?.get('client_secret')).toBe(CLIENT_SECRET);
  });

  test('includes the configured scopes', async () => {
    const { client, server, tokens } = await signedIn({ client: { scopes: ['profile', 'email'] } });
    await client.refresh(tokens);
    expect(server.lastTokenRequest()?.form?.get('scope')).toBe('openid profile email');
  });

  test('uses HTTP Basic when configured', async () => {
    const { client, server, tokens } = await signedIn({
      client: { clientAuthMethod: 'client_secret_basic' },
    });
    await client.refresh(tokens);
    expect(server.lastTokenRequest()?.headers.get('authorization')).toMatch(/^Basic /);
    expect(server.lastTokenRequest()?.form?.has('client_secret')).toBe(false);
  });

  test('refuses tokens without a refresh token, without a request', async () => {
    const { client, server, tokens } = await signedIn();
    const before = server.count('/token');
    expectCode(await rejectionOf(client.refresh({ ...tokens, refreshToken: null })), 'VMPRO_REFRESH_EXPIRED');
    expect(server.count('/token')).toBe(before);
  });
});

describe('refresh: the new TokenSet', () => {
  test('has a new access token, new expiries and the same user', async () => {
    const { client, server, tokens } = await signedIn();
    server.clock.advance(200_000);
    const refreshed = await client.refresh(tokens);
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    expect(refreshed.refreshToken).not.toBe(tokens.refreshToken);
    expect(refreshed.receivedAt).toBe(server.clock.now());
    // A second short of expires_in (300) and refresh_expires_in (3600): see the next test.
    expect(refreshed.accessTokenExpiresAt).toBe(server.clock.now() + 299_000);
    expect(refreshed.refreshTokenExpiresAt).toBe(server.clock.now() + 3_599_000);
    expect(refreshed.claims?.sub).toBe(tokens.claims?.sub);
    expect(JSON.parse(JSON.stringify(refreshed))).toEqual(refreshed);
  });

  test('counts expiries from when the refresh was sent, a second short: never later than the server’s', async () => {
    // Keycloak's exp is whole seconds from a moment after the request went out; the answer takes
    // a while. A token believed valid longer than it is gets served to the API, which refuses it.
    const { client, server, tokens } = await signedIn();
    const sentAt = server.clock.now();
    server.mutateTokenResponse = (body) => {
      server.clock.advance(400);
      return body;
    };
    const refreshed = await client.refresh(tokens);
    expect(refreshed.receivedAt).toBe(sentAt + 400);
    expect(refreshed.accessTokenExpiresAt).toBe(sentAt + 299_000);
    expect(refreshed.refreshTokenExpiresAt).toBe(sentAt + 3_599_000);
  });

  test('keeps the old refresh token and its expiry when the answer has none', async () => {
    const { client, server, tokens } = await signedIn();
    server.mutateTokenResponse = ({ refresh_token: _rt, refresh_expires_in: _rx, ...body }) => body;
    const refreshed = await client.refresh(tokens);
    expect(refreshed.refreshToken).toBe(tokens.refreshToken);
    expect(refreshed.refreshTokenExpiresAt).toBe(tokens.refreshTokenExpiresAt);
  });

  test('keeps the old ID token and claims when the answer has no ID token', async () => {
    const { client, server, tokens } = await signedIn();
    server.mutateTokenResponse = ({ id_token: _, ...body }) => body;
    const refreshed = await client.refresh(tokens);
    expect(refreshed.idToken).toBe(tokens.idToken);
    expect(refreshed.claims).toEqual(tokens.claims);
  });

  test('keeps scope and session_state when the answer omits them', async () => {
    const { client, server, tokens } = await signedIn();
    server.mutateTokenResponse = ({ scope: _s, session_state: _ss, ...body }) => body;
    const refreshed = await client.refresh(tokens);
    expect(refreshed.scope).toBe(tokens.scope);
    expect(refreshed.sessionState).toBe(tokens.sessionState);
  });

  test('takes a new ID token without a nonce check', async () => {
    const { client, server, tokens } = await signedIn();
    server.mutateIdToken = (claims) => ({ ...claims, nonce: 'something-else' });
    const refreshed = await client.refresh(tokens);
    expect(refreshed.idToken).not.toBe(tokens.idToken);
  });

  test('refuses a new ID token for another user', async () => {
    const { client, server, tokens } = await signedIn();
    server.mutateIdToken = (claims) => ({ ...claims, sub: 'someone-else' });
    const err = await rejectionOf(client.refresh(tokens));
    expectCode(err, 'VMPRO_ID_TOKEN_INVALID');
    expect(err.message).toContain('"sub"');
  });

  test('refuses a new ID token from another issuer', async () => {
    const { client, server, tokens } = await signedIn();
    server.mutateIdToken = (claims) => ({ ...claims, iss: 'https://evil.example/auth/realms/platform' });
    const err = await rejectionOf(client.refresh(tokens));
    expectCode(err, 'VMPRO_ID_TOKEN_INVALID');
    expect(err.message).toContain('"iss"');
  });

  test('refuses a new ID token whose signature does not verify', async () => {
    const { client, server, tokens } = await signedIn();
    await server.signWithUnpublishedKey();
    expectCode(await rejectionOf(client.refresh(tokens)), 'VMPRO_ID_TOKEN_INVALID');
  });
});

describe('refresh: failures', () => {
  test('maps invalid_grant to VMPRO_REFRESH_EXPIRED: the login has ended', async () => {
    const { client, server, tokens } = await signedIn();
    server.override(TOKEN_URL, () =>
      json({ error: 'invalid_grant', error_description: 'Token is not active' }, 400),
    );
    const err = await rejectionOf(client.refresh(tokens));
    expect(err).toBeInstanceOf(OAuthError);
    expectCode(err, 'VMPRO_REFRESH_EXPIRED');
    expect(err.retryable).toBe(false);
    expect((err as OAuthError).error).toBe('invalid_grant');
    expect((err as OAuthError).errorDescription).toBe('Token is not active');
    expect(err.message).toContain('the login has ended (invalid_grant: Token is not active); sign in again');
  });

  test('maps invalid_client to VMPRO_TOKEN_ERROR and names the configuration as the cause', async () => {
    const { client, server, tokens } = await signedIn();
    server.override(TOKEN_URL, () =>
      json({ error: 'invalid_client', error_description: 'Invalid client secret' }, 401),
    );
    const err = await rejectionOf(client.refresh(tokens));
    expectCode(err, 'VMPRO_TOKEN_ERROR');
    expect(err.message).toContain('check the client id and client secret');
  });

  test('maps a 401 with only a WWW-Authenticate challenge to VMPRO_TOKEN_ERROR', async () => {
    const { client, server, tokens } = await signedIn();
    server.override(
      TOKEN_URL,
      () => new Response(null, { status: 401, headers: { 'www-authenticate': 'Basic realm="platform"' } }),
    );
    const err = await rejectionOf(client.refresh(tokens));
    expectCode(err, 'VMPRO_TOKEN_ERROR');
    expect(err.message).toContain('client id and client secret');
  });

  test('maps other OAuth errors to VMPRO_TOKEN_ERROR with the server error', async () => {
    const { client, server, tokens } = await signedIn();
    server.override(TOKEN_URL, () =>
      json({ error: 'invalid_scope', error_description: 'Invalid scopes' }, 400),
    );
    const err = await rejectionOf(client.refresh(tokens));
    expectCode(err, 'VMPRO_TOKEN_ERROR');
    expect((err as OAuthError).error).toBe('invalid_scope');
    expect((err as OAuthError).status).toBe(400);
  });

  test.each([500, 502, 503, 504])(
    'maps HTTP %i to a retryable VMPRO_UPSTREAM_UNAVAILABLE',
    async (status) => {
      const { client, server, tokens } = await signedIn();
      server.override(TOKEN_URL, () => new Response('<html>Bad Gateway</html>', { status }));
      const err = await rejectionOf(client.refresh(tokens));
      expectCode(err, 'VMPRO_UPSTREAM_UNAVAILABLE');
      expect(err.retryable).toBe(true);
    },
  );

  test('maps a 5xx with a JSON error body to VMPRO_UPSTREAM_UNAVAILABLE too', async () => {
    const { client, server, tokens } = await signedIn();
    server.override(TOKEN_URL, () => json({ error: 'server_error' }, 500));
    expectCode(await rejectionOf(client.refresh(tokens)), 'VMPRO_UPSTREAM_UNAVAILABLE');
  });

  test('maps 429 to VMPRO_UPSTREAM_UNAVAILABLE and keeps Retry-After', async () => {
    const { client, server, tokens } = await signedIn();
    server.override(
      TOKEN_URL,
      () => new Response('slow down', { status: 429, headers: { 'retry-after': '7' } }),
    );
    const err = await rejectionOf(client.refresh(tokens));
    expectCode(err, 'VMPRO_UPSTREAM_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.retryAfter).toBe(7);
  });

  test('keeps Retry-After of a 429 with a JSON error body', async () => {
    const { client, server, tokens } = await signedIn();
    server.override(TOKEN_URL, () => json({ error: 'too_many_requests' }, 429, { 'retry-after': '12' }));
    const err = await rejectionOf(client.refresh(tokens));
    expectCode(err, 'VMPRO_UPSTREAM_UNAVAILABLE');
    expect(err.retryAfter).toBe(12);
  });

  test('keeps a Retry-After given as an HTTP date', async () => {
    const { client, server, tokens } = await signedIn();
    const at = new Date(server.clock.now() + 20_000).toUTCString();
    server.override(TOKEN_URL, () => new Response('busy', { status: 503, headers: { 'retry-after': at } }));
    const err = await rejectionOf(client.refresh(tokens));
    expect(err.retryAfter).toBeGreaterThanOrEqual(19);
    expect(err.retryAfter).toBeLessThanOrEqual(20);
  });

  test('maps a network failure to a retryable VMPRO_UPSTREAM_UNAVAILABLE, keeping the cause', async () => {
    const { client, server, tokens } = await signedIn();
    const cause = new TypeError('fetch failed');
    server.override(TOKEN_URL, () => {
      throw cause;
    });
    const err = await rejectionOf(client.refresh(tokens));
    expectCode(err, 'VMPRO_UPSTREAM_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    let inner: unknown = err;
    while (inner instanceof Error && inner !== cause) inner = inner.cause;
    expect(inner).toBe(cause);
  });

  test('maps a timeout to a retryable VMPRO_UPSTREAM_TIMEOUT', async () => {
    const { client, server, tokens } = await signedIn({ client: { timeoutMs: 20 } });
    server.override(TOKEN_URL, hang);
    const err = await rejectionOf(client.refresh(tokens));
    expectCode(err, 'VMPRO_UPSTREAM_TIMEOUT');
    expect(err.retryable).toBe(true);
  });

  test('maps a 200 with garbage to VMPRO_TOKEN_RESPONSE_INVALID', async () => {
    const { client, server, tokens } = await signedIn();
    server.override(
      TOKEN_URL,
      () => new Response('{"access_tok', { headers: { 'content-type': 'application/json' } }),
    );
    expectCode(await rejectionOf(client.refresh(tokens)), 'VMPRO_TOKEN_RESPONSE_INVALID');
  });

  test('never retries by itself', async () => {
    const { client, server, tokens } = await signedIn();
    server.override(TOKEN_URL, () => new Response('busy', { status: 503 }));
    const before = server.count('/token');
    await rejectionOf(client.refresh(tokens));
    expect(server.count('/token') - before).toBe(1);
  });

  test('never puts the refresh token or secret into a message', async () => {
    const { client, server, tokens } = await signedIn();
    server.override(TOKEN_URL, () => json({ error: 'invalid_grant' }, 400));
    const err = await rejectionOf(client.refresh(tokens));
    expect(err.message).not.toContain(tokens.refreshToken as string);
    expect(err.message).not.toContain(CLIENT_SECRET);
  });
});
