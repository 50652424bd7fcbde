import { type JWTPayload, SignJWT } from 'jose';
import { describe, expect, test } from 'vitest';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  type FakeLoginServer,
  ISSUER,
  json,
} from '../../test/support/fake-login-server.js';
import { expectCode, rejectionOf, setup, signIn } from '../../test/support/oidc-unit.js';
import { BACKCHANNEL_LOGOUT_EVENT } from './jwt.js';

const REVOKE_URL = `${ISSUER}/protocol/openid-connect/revoke`;

describe('buildEndSessionUrl', () => {
  test('sends id_token_hint, client_id, post_logout_redirect_uri and state to the end-session endpoint', async () => {
    const { client, server } = await setup();
    const tokens = await signIn(server, client);
    const url = client.buildEndSessionUrl({
      idTokenHint: tokens.idToken,
      postLogoutRedirectUri: 'https://app.example.com/',
      state: 'bye',
    });
    expect(url?.origin + (url?.pathname ?? '')).toBe(`${ISSUER}/protocol/openid-connect/logout`);
    expect(Object.fromEntries(url?.searchParams ?? [])).toEqual({
      id_token_hint: tokens.idToken,
      client_id: CLIENT_ID,
      post_logout_redirect_uri: 'https://app.example.com/',
      state: 'bye',
    });
  });

  test('leaves out id_token_hint when there is none', async () => {
    const { client } = await setup();
    const url = client.buildEndSessionUrl({
      idTokenHint: null,
      postLogoutRedirectUri: 'https://app.example.com/',
    });
    expect(url?.searchParams.has('id_token_hint')).toBe(false);
    expect(url?.searchParams.get('client_id')).toBe(CLIENT_ID);
  });

  test('returns null when the server has no end-session endpoint', async () => {
    const { client } = await setup({
      beforeClient: (s) => {
        delete s.metadata.end_session_endpoint;
      },
    });
    expect(client.buildEndSessionUrl({ postLogoutRedirectUri: 'https://app.example.com/' })).toBeNull();
  });

  test('refuses a post-logout target on plain http to a public host', async () => {
    const { client } = await setup();
    expect(() => client.buildEndSessionUrl({ postLogoutRedirectUri: 'http://app.example.com/' })).toThrow(
      /postLogoutRedirectUri/,
    );
  });
});

describe('revoke', () => {
  test('posts the token with its type hint and the client credentials', async () => {
    const { client, server } = await setup();
    const tokens = await signIn(server, client);
    expect(await client.revoke(tokens.refreshToken as string, 'refresh_token')).toBe(true);
    const request = server.requests.at(-1);
    expect(request?.url.href).toBe(REVOKE_URL);
    expect(request?.form?.get('token')).toBe(tokens.refreshToken);
    expect(request?.form?.get('token_type_hint')).toBe('refresh_token');
    expect(request?.form?.get('client_id')).toBe(CLIENT_ID);
    expect(request?.form?.get('client_secret')).toBe(CLIENT_SECRET);
  });

  test('makes the refresh token unusable at the server', async () => {
    const { client, server } = await setup();
    const tokens = await signIn(server, client);
    await client.revoke(tokens.refreshToken as string, 'refresh_token');
    expectCode(await rejectionOf(client.refresh(tokens)), 'VMPRO_REFRESH_EXPIRED');
  });

  test('returns false, without a request, when the server offers no revocation endpoint', async () => {
    const { client, server } = await setup({
      beforeClient: (s) => {
        delete s.metadata.revocation_endpoint;
      },
    });
    const before = server.requests.length;
    expect(await client.revoke('some-token', 'access_token')).toBe(false);
    expect(server.requests.length).toBe(before);
  });

  test('reports a 503 as a retryable VMPRO_UPSTREAM_UNAVAILABLE', async () => {
    const { client, server } = await setup();
    server.override(REVOKE_URL, () => new Response('busy', { status: 503 }));
    const err = await rejectionOf(client.revoke('some-token'));
    expectCode(err, 'VMPRO_UPSTREAM_UNAVAILABLE');
    expect(err.retryable).toBe(true);
  });

  test('reports an OAuth error as VMPRO_TOKEN_ERROR', async () => {
    const { client, server } = await setup();
    server.override(REVOKE_URL, () => json({ error: 'unsupported_token_type' }, 400));
    expectCode(await rejectionOf(client.revoke('some-token')), 'VMPRO_TOKEN_ERROR');
  });
});

async function logoutToken(
  server: FakeLoginServer,
  change: (claims: JWTPayload) => JWTPayload = (c) => c,
  header: Record<string, unknown> = { typ: 'logout+jwt' },
): Promise<string> {
  const now = Math.floor(server.clock.now() / 1000);
  const claims: JWTPayload = {
    iss: ISSUER,
    aud: CLIENT_ID,
    iat: now,
    exp: now + 120,
    jti: 'jti-1',
    sub: 'user-1234',
    sid: 'sid-1',
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
  };
  return server.sign(change(claims), header);
}

describe('verifyLogoutToken (OpenID Connect Back-Channel Logout 1.0)', () => {
  test('accepts a valid logout token and returns iss, sub, sid, jti and iat', async () => {
    const { client, server } = await setup();
    const result = await client.verifyLogoutToken(await logoutToken(server));
    expect(result).toEqual({
      iss: ISSUER,
      sub: 'user-1234',
      sid: 'sid-1',
      jti: 'jti-1',
      iat: Math.floor(server.clock.now() / 1000),
    });
  });

  test('accepts a token with only sid, only sub, no exp, or without typ', async () => {
    const { client, server } = await setup();
    const only = (name: string) => (c: JWTPayload) => {
      const copy = { ...c };
      delete copy[name];
      return copy;
    };
    await expect(client.verifyLogoutToken(await logoutToken(server, only('sub')))).resolves.toMatchObject({
      sid: 'sid-1',
    });
    await expect(client.verifyLogoutToken(await logoutToken(server, only('sid')))).resolves.toMatchObject({
      sub: 'user-1234',
    });
    await expect(client.verifyLogoutToken(await logoutToken(server, only('exp')))).resolves.toBeDefined();
    await expect(client.verifyLogoutToken(await logoutToken(server, (c) => c, {}))).resolves.toBeDefined();
  });

  test('accepts a logout token from a login server whose clock runs 45 s ahead', async () => {
    const { client, server } = await setup();
    const token = await logoutToken(server, (c) => ({
      ...c,
      iat: (c.iat as number) + 45,
      exp: (c.exp as number) + 45,
    }));
    await expect(client.verifyLogoutToken(token)).resolves.toMatchObject({ sid: 'sid-1' });
  });

  test('refuses a logout token from a login server whose clock runs 5 minutes ahead', async () => {
    const { client, server } = await setup();
    const token = await logoutToken(server, (c) => ({
      ...c,
      iat: (c.iat as number) + 300,
      exp: (c.exp as number) + 300,
    }));
    const err = await rejectionOf(client.verifyLogoutToken(token));
    expectCode(err, 'VMPRO_LOGOUT_TOKEN_INVALID');
    expect(err.message).toContain('clock tolerance');
  });

  const mutations: Array<[string, (c: JWTPayload, now: number) => JWTPayload]> = [
    ['another issuer', (c) => ({ ...c, iss: 'https://evil.example' })],
    ['another audience', (c) => ({ ...c, aud: 'someone-else' })],
    ['no iat', ({ iat: _, ...c }) => c],
    ['an iat in the future', (c, now) => ({ ...c, iat: now + 600, exp: now + 900 })],
    ['an iat long ago', ({ exp: _, ...c }, now) => ({ ...c, iat: now - 3600 })],
    ['an expiry in the past', (c, now) => ({ ...c, exp: now - 300 })],
    ['no jti', ({ jti: _, ...c }) => c],
    ['no events', ({ events: _, ...c }) => c],
    ['another event', (c) => ({ ...c, events: { 'http://schemas.openid.net/event/other': {} } })],
    ['the event not as an object', (c) => ({ ...c, events: { [BACKCHANNEL_LOGOUT_EVENT]: true } })],
    ['neither sid nor sub', ({ sid: _s, sub: _u, ...c }) => c],
    ['a nonce', (c) => ({ ...c, nonce: 'n' })],
  ];

  test.each(mutations)('refuses a logout token with %s', async (_name, change) => {
    const { client, server } = await setup();
    const token = await logoutToken(server, (c) =>
      JSON.parse(JSON.stringify(change(c, Math.floor(server.clock.now() / 1000)))),
    );
    expectCode(await rejectionOf(client.verifyLogoutToken(token)), 'VMPRO_LOGOUT_TOKEN_INVALID');
  });

  test('refuses a logout token signed with HS256 (the client secret)', async () => {
    const { client, server } = await setup();
    const now = Math.floor(server.clock.now() / 1000);
    const token = await new SignJWT({
      iss: ISSUER,
      aud: CLIENT_ID,
      iat: now,
      jti: 'j',
      sid: 's',
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(CLIENT_SECRET));
    const err = await rejectionOf(client.verifyLogoutToken(token));
    expectCode(err, 'VMPRO_LOGOUT_TOKEN_INVALID');
    expect(err.message).toContain('"alg"');
  });

  test('refuses a logout token signed with an unpublished key', async () => {
    const { client, server } = await setup();
    await server.signWithUnpublishedKey();
    expectCode(
      await rejectionOf(client.verifyLogoutToken(await logoutToken(server))),
      'VMPRO_LOGOUT_TOKEN_INVALID',
    );
  });

  test('refuses garbage', async () => {
    const { client } = await setup();
    expectCode(await rejectionOf(client.verifyLogoutToken('garbage')), 'VMPRO_LOGOUT_TOKEN_INVALID');
  });
});
