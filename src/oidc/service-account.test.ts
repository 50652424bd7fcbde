import { describe, expect, test } from 'vitest';
import { DEMO_USER, ISSUER, json } from '../../test/support/fake-login-server.js';
import { expectCode, rejectionOf, setup } from '../../test/support/oidc-unit.js';
import { OAuthError } from '../errors.js';
import { createServiceAccount } from './service-account.js';

const TOKEN_URL = `${ISSUER}/protocol/openid-connect/token`;

function anonymousClient() {
  return setup({ client: { clientId: 'anonymous', clientSecret: undefined, redirectUri: undefined } });
}

describe('passwordGrant', () => {
  test("sends movingimage's anonymous-client body: grant_type=password, credentials, scope=openid, client_id only", async () => {
    const { client, server } = await anonymousClient();
    await client.passwordGrant('demo', 'demo');
    const request = server.lastTokenRequest();
    expect(Object.fromEntries(request?.form ?? [])).toEqual({
      grant_type: 'password',
      username: 'demo',
      password: 'demo',
      scope: 'openid',
      client_id: 'anonymous',
    });
    expect(request?.headers.get('authorization')).toBeNull();
  });

  test('returns tokens with the validated ID-token claims (no nonce involved)', async () => {
    const { client } = await anonymousClient();
    const tokens = await client.passwordGrant('demo', 'demo');
    expect(tokens.claims?.sub).toBe(DEMO_USER.sub);
    expect(tokens.claims?.nonce).toBeUndefined();
    expect(tokens.refreshToken).not.toBeNull();
  });

  test('accepts an answer without an ID token', async () => {
    const { client, server } = await anonymousClient();
    server.mutateTokenResponse = ({ id_token: _, ...body }) => body;
    const tokens = await client.passwordGrant('demo', 'demo');
    expect(tokens.idToken).toBeNull();
    expect(tokens.claims).toBeNull();
  });

  test('validates an ID token that comes with it', async () => {
    const { client, server } = await anonymousClient();
    server.mutateIdToken = (claims) => ({ ...claims, aud: 'someone-else' });
    expectCode(await rejectionOf(client.passwordGrant('demo', 'demo')), 'VMPRO_ID_TOKEN_INVALID');
  });

  test('says the user name or password was refused, without echoing either', async () => {
    const { client } = await anonymousClient();
    const err = await rejectionOf(client.passwordGrant('demo', 'wrong-password-123'));
    expect(err).toBeInstanceOf(OAuthError);
    expectCode(err, 'VMPRO_TOKEN_ERROR');
    expect(err.message).toContain('user name or password was refused');
    expect(err.message).not.toContain('wrong-password-123');
  });

  test('refuses empty credentials without a request', async () => {
    const { client, server } = await anonymousClient();
    const before = server.requests.length;
    expectCode(await rejectionOf(client.passwordGrant('', 'x')), 'VMPRO_CONFIG_INVALID');
    expect(server.requests.length).toBe(before);
  });
});

async function account(options: { refreshMarginSec?: number } = {}) {
  const ctx = await anonymousClient();
  const sa = createServiceAccount({
    client: ctx.client,
    username: 'demo',
    password: 'demo',
    now: ctx.server.clock.now,
    logger: ctx.logger,
    ...options,
  });
  const grants = () =>
    ctx.server.requests
      .filter((r) => r.url.pathname.endsWith('/token'))
      .map((r) => r.form?.get('grant_type'));
  return { ...ctx, account: sa, grants };
}

describe('createServiceAccount', () => {
  test('logs in with the password on first use', async () => {
    const { account: sa, grants } = await account();
    const token = await sa.getAccessToken();
    expect(token).toBe(sa.tokens()?.accessToken);
    expect(grants()).toEqual(['password']);
  });

  test('returns the cached token while it is valid', async () => {
    const { account: sa, grants, server } = await account();
    const first = await sa.getAccessToken();
    server.clock.advance(200_000);
    expect(await sa.getAccessToken()).toBe(first);
    expect(grants()).toEqual(['password']);
  });

  test('refreshes when the access token is about to expire (margin)', async () => {
    const { account: sa, grants, server } = await account({ refreshMarginSec: 30 });
    const first = await sa.getAccessToken();
    server.clock.advance(271_000); // 29 s left < 30 s margin
    const second = await sa.getAccessToken();
    expect(second).not.toBe(first);
    expect(grants()).toEqual(['password', 'refresh_token']);
  });

  test('lets concurrent callers share one refresh', async () => {
    const { account: sa, grants, server } = await account();
    await sa.getAccessToken();
    server.clock.advance(400_000);
    const tokens = await Promise.all(Array.from({ length: 20 }, () => sa.getAccessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(grants()).toEqual(['password', 'refresh_token']);
  });

  test('lets concurrent first callers share one login', async () => {
    const { account: sa, grants } = await account();
    await Promise.all([sa.getAccessToken(), sa.getAccessToken(), sa.getAccessToken()]);
    expect(grants()).toEqual(['password']);
  });

  test('forceRefresh refreshes a valid token, still once for simultaneous callers', async () => {
    const { account: sa, grants } = await account();
    const first = await sa.getAccessToken();
    const [a, b] = await Promise.all([
      sa.getAccessToken({ forceRefresh: true }),
      sa.getAccessToken({ forceRefresh: true }),
    ]);
    expect(a).toBe(b);
    expect(a).not.toBe(first);
    expect(grants()).toEqual(['password', 'refresh_token']);
  });

  test('logs in again when the refresh token is refused (invalid_grant)', async () => {
    const { account: sa, grants, server } = await account();
    await sa.getAccessToken();
    server.clock.advance(400_000);
    let refused = false;
    server.override(TOKEN_URL, (_request, form) => {
      if (form?.get('grant_type') !== 'refresh_token' || refused) return undefined;
      refused = true;
      return json({ error: 'invalid_grant', error_description: 'Token is not active' }, 400);
    });
    await expect(sa.getAccessToken()).resolves.toMatch(/^at-/);
    expect(grants()).toEqual(['password', 'refresh_token', 'password']);
  });

  test('logs in again, without trying, when the refresh token has expired', async () => {
    const { account: sa, grants, server } = await account();
    await sa.getAccessToken();
    server.clock.advance(3_600_000);
    await sa.getAccessToken();
    expect(grants()).toEqual(['password', 'password']);
  });

  test('throws an outage instead of logging in again, and tries again on the next call', async () => {
    const { account: sa, grants, server } = await account();
    await sa.getAccessToken();
    server.clock.advance(400_000);
    server.override(TOKEN_URL, () => new Response('busy', { status: 503 }));
    const err = await rejectionOf(sa.getAccessToken());
    expectCode(err, 'VMPRO_UPSTREAM_UNAVAILABLE');
    server.clearOverride(TOKEN_URL);
    await expect(sa.getAccessToken()).resolves.toMatch(/^at-/);
    expect(grants()).toEqual(['password', 'refresh_token', 'refresh_token']);
  });

  test('reports refused credentials', async () => {
    const ctx = await anonymousClient();
    const sa = createServiceAccount({ client: ctx.client, username: 'demo', password: 'nope' });
    const err = await rejectionOf(sa.getAccessToken());
    expectCode(err, 'VMPRO_TOKEN_ERROR');
  });

  test("a caller's abort stops only that caller's wait", async () => {
    const { account: sa, server } = await account();
    let release: () => void = () => {};
    server.override(TOKEN_URL, async () => {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return undefined;
    });
    const controller = new AbortController();
    const aborted = sa.getAccessToken({ signal: controller.signal });
    const patient = sa.getAccessToken();
    controller.abort();
    expectCode(await rejectionOf(aborted), 'VMPRO_ABORTED');
    await new Promise((r) => setTimeout(r, 0));
    release();
    await expect(patient).resolves.toMatch(/^at-/);
  });

  test('logout revokes the refresh token and forgets the tokens', async () => {
    const { account: sa, server } = await account();
    await sa.getAccessToken();
    const refreshToken = sa.tokens()?.refreshToken;
    await sa.logout();
    expect(sa.tokens()).toBeNull();
    const revoke = server.requests.at(-1);
    expect(revoke?.url.pathname).toMatch(/\/revoke$/);
    expect(revoke?.form?.get('token')).toBe(refreshToken);
    expect(revoke?.form?.get('token_type_hint')).toBe('refresh_token');
  });

  test('logout still forgets the tokens when revocation fails', async () => {
    const { account: sa, server, logger } = await account();
    await sa.getAccessToken();
    server.override(`${ISSUER}/protocol/openid-connect/revoke`, () => new Response('x', { status: 500 }));
    await sa.logout();
    expect(sa.tokens()).toBeNull();
    expect(logger.entries.some((e) => e.level === 'warn')).toBe(true);
  });

  test('refuses bad options', () => {
    expect(() => createServiceAccount({ client: {} as never, username: 'a', password: 'b' })).toThrow(
      /client/,
    );
  });
});
