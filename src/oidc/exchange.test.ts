import { inspect } from 'node:util';
import { describe, expect, test } from 'vitest';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  type FakeLoginServer,
  ISSUER,
  json,
  REDIRECT_URI,
} from '../../test/support/fake-login-server.js';
import { expectCode, hang, rejectionOf, setup } from '../../test/support/oidc-unit.js';
import type { OidcClient } from './client.js';

const TOKEN_URL = `${ISSUER}/protocol/openid-connect/token`;

async function validatedCallback(server: FakeLoginServer, client: OidcClient) {
  const { url, transaction } = await client.createAuthorizationRequest();
  const callback = server.authorize(url);
  const validated = await client.validateCallback(callback, transaction);
  return { validated, transaction, code: callback.searchParams.get('code') as string };
}

describe('exchangeCode: the request', () => {
  test('POSTs the code, the exact redirect_uri and the PKCE verifier as a form', async () => {
    const { client, server } = await setup();
    const { validated, transaction, code } = await validatedCallback(server, client);
    await client.exchangeCode(validated);
    const request = server.lastTokenRequest();
    expect(request?.method).toBe('POST');
    expect(request?.url.href).toBe(TOKEN_URL);
    expect(request?.headers.get('content-type')).toMatch(/^application\/x-www-form-urlencoded/);
    expect(request?.form?.get('grant_type')).toBe('authorization_code');
    expect(request?.form?.get('code')).toBe(code);
    expect(request?.form?.get('redirect_uri')).toBe(REDIRECT_URI);
    expect(request?.form?.get('code_verifier')).toBe(transaction.codeVerifier);
  });

  test('authenticates with client_id and client_secret in the body by default', async () => {
    const { client, server } = await setup();
    await client.exchangeCode((await validatedCallback(server, client)).validated);
    const request = server.lastTokenRequest();
    expect(request?.form?.get('client_id')).toBe(CLIENT_ID);
    expect(request?.form?.get('client_secret')).toBe(CLIENT_SECRET);
    expect(request?.headers.get('authorization')).toBeNull();
  });

  test('authenticates with HTTP Basic when client_secret_basic is chosen', async () => {
    const { client, server } = await setup({ client: { clientAuthMethod: 'client_secret_basic' } });
    await client.exchangeCode((await validatedCallback(server, client)).validated);
    const request = server.lastTokenRequest();
    const header = request?.headers.get('authorization') ?? '';
    expect(header).toMatch(/^Basic /);
    // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    const [id, secret] = atob(header.slice(6)).split(':').map(decodeURIComponent);
    expect([id, secret]).toEqual([CLIENT_ID, CLIENT_SECRET]);
    expect(request?.form?.has('client_secret')).toBe(false);
  });

  test('sends only client_id for a public client', async () => {
    const { client, server } = await setup({ client: { clientId: 'anonymous', clientSecret: undefined } });
    await client.exchangeCode((await validatedCallback(server, client)).validated);
    const request = server.lastTokenRequest();
    expect(request?.form?.get('client_id')).toBe('anonymous');
    expect(request?.form?.has('client_secret')).toBe(false);
    expect(request?.headers.get('authorization')).toBeNull();
  });
});

describe('exchangeCode: a code is spent at most once', () => {
  test('refuses to exchange the same callback twice, without sending it again', async () => {
    const { client, server } = await setup();
    const { validated } = await validatedCallback(server, client);
    await client.exchangeCode(validated);
    const err = await rejectionOf(client.exchangeCode(validated));
    expectCode(err, 'VMPRO_CALLBACK_INVALID');
    expect(server.count('/token')).toBe(1);
  });

  test('lets only one of two simultaneous exchanges through', async () => {
    const { client, server } = await setup();
    const { validated } = await validatedCallback(server, client);
    const results = await Promise.allSettled([
      client.exchangeCode(validated),
      client.exchangeCode(validated),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(server.count('/token')).toBe(1);
  });

  test('does not send the code again after a failed exchange', async () => {
    const { client, server } = await setup();
    const { validated } = await validatedCallback(server, client);
    server.override(TOKEN_URL, () => new Response('down', { status: 503 }));
    await rejectionOf(client.exchangeCode(validated));
    server.clearOverride(TOKEN_URL);
    expectCode(await rejectionOf(client.exchangeCode(validated)), 'VMPRO_CALLBACK_INVALID');
    expect(server.count('/token')).toBe(1);
  });

  test('refuses a look-alike object that did not come from validateCallback', async () => {
    const { client, server } = await setup();
    const { validated } = await validatedCallback(server, client);
    const lookAlike = { ...validated };
    expectCode(await rejectionOf(client.exchangeCode(lookAlike)), 'VMPRO_CALLBACK_INVALID');
    expect(server.count('/token')).toBe(0);
  });

  test("refuses another client's validated callback", async () => {
    const { client, server } = await setup();
    const other = await setup();
    const { validated } = await validatedCallback(server, client);
    expectCode(await rejectionOf(other.client.exchangeCode(validated)), 'VMPRO_CALLBACK_INVALID');
    expect(server.count('/token') + other.server.count('/token')).toBe(0);
  });
});

describe('exchangeCode: failures', () => {
  test('reports a refused code as VMPRO_TOKEN_ERROR and says to start again', async () => {
    const { client, server } = await setup();
    const { validated } = await validatedCallback(server, client);
    server.override(TOKEN_URL, () =>
      json({ error: 'invalid_grant', error_description: 'Code not valid' }, 400),
    );
    const err = await rejectionOf(client.exchangeCode(validated));
    expectCode(err, 'VMPRO_TOKEN_ERROR');
    expect(err.message).toContain('invalid_grant');
    expect(err.message).toMatch(/[Ss]tart the sign-in again/);
    expect(server.count('/token')).toBe(1);
  });

  test('reports a 503 as VMPRO_UPSTREAM_UNAVAILABLE, not retryable for the same code, and never retries', async () => {
    const { client, server } = await setup();
    const { validated } = await validatedCallback(server, client);
    server.override(TOKEN_URL, () => new Response('down', { status: 503, headers: { 'retry-after': '5' } }));
    const err = await rejectionOf(client.exchangeCode(validated));
    expectCode(err, 'VMPRO_UPSTREAM_UNAVAILABLE');
    expect(err.retryable).toBe(false);
    expect(server.count('/token')).toBe(1);
  });

  test('reports a network failure as VMPRO_UPSTREAM_UNAVAILABLE and never retries', async () => {
    const { client, server } = await setup();
    const { validated } = await validatedCallback(server, client);
    server.override(TOKEN_URL, () => {
      throw new TypeError('fetch failed');
    });
    expectCode(await rejectionOf(client.exchangeCode(validated)), 'VMPRO_UPSTREAM_UNAVAILABLE');
    expect(server.count('/token')).toBe(1);
  });

  test('reports a timeout as VMPRO_UPSTREAM_TIMEOUT', async () => {
    const { client, server } = await setup({ client: { timeoutMs: 20 } });
    const { validated } = await validatedCallback(server, client);
    server.override(TOKEN_URL, hang);
    expectCode(await rejectionOf(client.exchangeCode(validated)), 'VMPRO_UPSTREAM_TIMEOUT');
  });

  test('reports an abort by the caller as VMPRO_ABORTED', async () => {
    const { client, server } = await setup();
    const { validated } = await validatedCallback(server, client);
    server.override(TOKEN_URL, hang);
    const controller = new AbortController();
    const pending = client.exchangeCode(validated, { signal: controller.signal });
    controller.abort();
    expectCode(await rejectionOf(pending), 'VMPRO_ABORTED');
  });

  test('does not follow a redirect from the token endpoint', async () => {
    const { client, server } = await setup();
    const { validated } = await validatedCallback(server, client);
    server.override(
      TOKEN_URL,
      () => new Response(null, { status: 307, headers: { location: 'https://evil.example/steal' } }),
    );
    const err = await rejectionOf(client.exchangeCode(validated));
    expectCode(err, 'VMPRO_TOKEN_RESPONSE_INVALID');
    expect(server.requests.some((r) => r.url.hostname === 'evil.example')).toBe(false);
  });

  test('calls invalid_client a configuration fault', async () => {
    const { client, server } = await setup({ client: { clientSecret: 'wrong-secret' } });
    const { validated } = await validatedCallback(server, client);
    const err = await rejectionOf(client.exchangeCode(validated));
    expectCode(err, 'VMPRO_TOKEN_ERROR');
    expect(err.message).toMatch(/client id and client secret/);
    expect(err.message).not.toContain('wrong-secret');
  });

  test('never puts the code or the client secret into a message', async () => {
    const { client, server } = await setup();
    const { validated, code } = await validatedCallback(server, client);
    server.override(TOKEN_URL, () => json({ error: 'invalid_request', error_description: 'bad' }, 400));
    const err = await rejectionOf(client.exchangeCode(validated));
    expect(err.message).not.toContain(code);
    expect(err.message).not.toContain(CLIENT_SECRET);
  });
});

describe('the TokenSet', () => {
  test('has absolute expiries from expires_in and refresh_expires_in (a second short: servers count whole seconds)', async () => {
    const { client, server } = await setup();
    const { validated } = await validatedCallback(server, client);
    const tokens = await client.exchangeCode(validated);
    const t = server.clock.now();
    expect(tokens).toMatchObject({
      tokenType: 'Bearer',
      receivedAt: t,
      accessTokenExpiresAt: t + 299_000,
      refreshTokenExpiresAt: t + 3_599_000,
      scope: 'openid profile email',
      sessionState: 'session-1',
    });
    expect(tokens.accessToken).toMatch(/^at-/);
    expect(tokens.refreshToken).toMatch(/^rt-/);
    expect(tokens.claims?.sub).toBe('user-1234');
    expect(tokens.claims?.email).toBe('dana.demo@example.com');
  });

  test('survives a JSON round trip unchanged', async () => {
    const { client, server } = await setup();
    const tokens = await client.exchangeCode((await validatedCallback(server, client)).validated);
    expect(JSON.parse(JSON.stringify(tokens))).toEqual(tokens);
  });

  test.each(['bearer', 'Bearer', 'bEARER'])('accepts token_type %s (case-insensitive)', async (tokenType) => {
    const { client, server } = await setup();
    server.mutateTokenResponse = (body) => ({ ...body, token_type: tokenType });
    const tokens = await client.exchangeCode((await validatedCallback(server, client)).validated);
    expect(tokens.tokenType).toBe('Bearer');
  });

  test.each(['mac', 'DPoP'])('refuses token_type %s', async (tokenType) => {
    const { client, server } = await setup();
    server.mutateTokenResponse = (body) => ({ ...body, token_type: tokenType });
    const err = await rejectionOf(client.exchangeCode((await validatedCallback(server, client)).validated));
    expectCode(err, 'VMPRO_TOKEN_RESPONSE_INVALID');
  });

  test.each([
    ['missing', undefined],
    ['empty', ''],
    ['a number', 42],
  ])('refuses an access_token that is %s', async (_name, value) => {
    const { client, server } = await setup();
    server.mutateTokenResponse = (body) => ({ ...body, access_token: value });
    const err = await rejectionOf(client.exchangeCode((await validatedCallback(server, client)).validated));
    expectCode(err, 'VMPRO_TOKEN_RESPONSE_INVALID');
  });

  test('keeps no token value in the error of a malformed answer, even in its causes', async () => {
    const { client, server } = await setup();
    let refreshToken = '';
    server.mutateTokenResponse = (body) => {
      refreshToken = body.refresh_token as string;
      return { ...body, access_token: '' };
    };
    const err = await rejectionOf(client.exchangeCode((await validatedCallback(server, client)).validated));
    expect(refreshToken).not.toBe('');
    expect(inspect(err, { depth: 20 })).not.toContain(refreshToken);
  });

  test('has no access-token expiry when expires_in is absent', async () => {
    const { client, server } = await setup();
    server.mutateTokenResponse = ({ expires_in: _, ...body }) => body;
    const tokens = await client.exchangeCode((await validatedCallback(server, client)).validated);
    expect(tokens.accessTokenExpiresAt).toBeNull();
  });

  test('has no refresh-token expiry when refresh_expires_in is absent', async () => {
    const { client, server } = await setup();
    server.mutateTokenResponse = ({ refresh_expires_in: _, ...body }) => body;
    const tokens = await client.exchangeCode((await validatedCallback(server, client)).validated);
    expect(tokens.refreshTokenExpiresAt).toBeNull();
  });

  test('treats refresh_expires_in 0 as an offline token and warns once per client', async () => {
    const { client, server, logger } = await setup();
    server.tokenLifetimes.refreshExpiresIn = 0;
    const first = await client.exchangeCode((await validatedCallback(server, client)).validated);
    await client.exchangeCode((await validatedCallback(server, client)).validated);
    expect(first.refreshTokenExpiresAt).toBeNull();
    expect(first.refreshToken).not.toBeNull();
    const warnings = logger.entries.filter((e) => e.level === 'warn' && e.message.includes('offline token'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toBe('offline token: no refresh expiry');
  });

  test('refuses a 200 answer that is not JSON', async () => {
    const { client, server } = await setup();
    const { validated } = await validatedCallback(server, client);
    server.override(
      TOKEN_URL,
      () => new Response('<html>hello</html>', { headers: { 'content-type': 'text/html' } }),
    );
    expectCode(await rejectionOf(client.exchangeCode(validated)), 'VMPRO_TOKEN_RESPONSE_INVALID');
  });

  test('refuses a 200 answer that is a JSON array', async () => {
    const { client, server } = await setup();
    const { validated } = await validatedCallback(server, client);
    server.override(TOKEN_URL, () => json([1, 2]));
    expectCode(await rejectionOf(client.exchangeCode(validated)), 'VMPRO_TOKEN_RESPONSE_INVALID');
  });

  test('refuses an answer without an ID token, since scope openid was requested', async () => {
    const { client, server } = await setup();
    server.mutateTokenResponse = ({ id_token: _, ...body }) => body;
    const err = await rejectionOf(client.exchangeCode((await validatedCallback(server, client)).validated));
    expectCode(err, 'VMPRO_ID_TOKEN_INVALID');
  });
});
