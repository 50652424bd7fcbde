import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { ISSUER, REDIRECT_URI } from '../../test/support/fake-login-server.js';
import { expectCode, rejectionOf, setup, thrownBy } from '../../test/support/oidc-unit.js';
import { OAuthError } from '../errors.js';
import { RELAY_PAGE_SCRIPT_HASH, relayPageHtml } from './callback.js';
import type { AuthTransaction } from './types.js';

async function started(options: Parameters<typeof setup>[0] = {}) {
  const ctx = await setup(options);
  const { url, transaction } = await ctx.client.createAuthorizationRequest();
  const callback = ctx.server.authorize(url);
  return { ...ctx, url, transaction, callback };
}

function withParams(base: URL, change: (p: URLSearchParams) => void): URL {
  const copy = new URL(base);
  change(copy.searchParams);
  return copy;
}

describe('validateCallback: accepted forms', () => {
  test('accepts the callback URL with the response in the query', async () => {
    const { client, callback, transaction } = await started();
    const validated = await client.validateCallback(callback, transaction);
    expect(validated.state).toBe(transaction.state);
    expect(validated.iss).toBe(ISSUER);
    expect(validated.sessionState).toBe('session-1');
  });

  test("accepts movingimage's fragment form (…/#state=…&code=…)", async () => {
    const { client, callback, transaction } = await started();
    const fragment = new URL(REDIRECT_URI);
    fragment.hash = callback.searchParams.toString();
    await expect(client.validateCallback(fragment, transaction)).resolves.toBeDefined();
  });

  test.each([
    ['URLSearchParams', (c: URL) => new URLSearchParams(c.search)],
    ['a query string', (c: URL) => c.search],
    ['a query string without "?"', (c: URL) => c.search.slice(1)],
    ['fragment contents', (c: URL) => `#${c.search.slice(1)}`],
    ['a whole URL string', (c: URL) => c.href],
  ])('accepts %s', async (_name, form) => {
    const { client, callback, transaction } = await started();
    await expect(client.validateCallback(form(callback), transaction)).resolves.toBeDefined();
  });

  test('does not expose the code: it is not a property and not in JSON', async () => {
    const { client, callback, transaction } = await started();
    const code = callback.searchParams.get('code') as string;
    const validated = await client.validateCallback(callback, transaction);
    expect(JSON.stringify(validated)).not.toContain(code);
    expect(Object.values(validated)).not.toContain(code);
  });
});

describe('validateCallback: refusals', () => {
  test.each(['state', 'code', 'iss'])(
    'refuses the parameter %s given twice, naming it but not its values',
    async (name) => {
      const { client, callback, transaction } = await started();
      const twice = withParams(callback, (p) => p.append(name, p.get(name) ?? 'x'));
      const err = await rejectionOf(client.validateCallback(twice, transaction));
      expectCode(err, 'VMPRO_CALLBACK_INVALID');
      expect(err.message).toContain(`"${name}"`);
      expect(err.message).not.toContain(callback.searchParams.get('code') as string);
    },
  );

  test('refuses a transaction older than transactionMaxAgeSec', async () => {
    const { client, server, callback, transaction } = await started({ client: { transactionMaxAgeSec: 60 } });
    server.clock.advance(61_000);
    expectCode(
      await rejectionOf(client.validateCallback(callback, transaction)),
      'VMPRO_TRANSACTION_EXPIRED',
    );
  });

  test('accepts a transaction just inside transactionMaxAgeSec', async () => {
    const { client, server, callback, transaction } = await started({ client: { transactionMaxAgeSec: 60 } });
    server.clock.advance(59_000);
    await expect(client.validateCallback(callback, transaction)).resolves.toBeDefined();
  });

  test('refuses a state that does not match the transaction', async () => {
    const { client, callback, transaction } = await started();
    const err = await rejectionOf(
      client.validateCallback(callback, { ...transaction, state: `${transaction.state}x` }),
    );
    expectCode(err, 'VMPRO_STATE_MISMATCH');
  });

  test('refuses a callback without state', async () => {
    const { client, callback, transaction } = await started();
    const noState = withParams(callback, (p) => p.delete('state'));
    expectCode(await rejectionOf(client.validateCallback(noState, transaction)), 'VMPRO_STATE_MISMATCH');
  });

  test('checks state before trusting an error answer', async () => {
    const { client, transaction } = await started();
    const forged = `error=access_denied&state=forged&iss=${encodeURIComponent(ISSUER)}`;
    expectCode(await rejectionOf(client.validateCallback(forged, transaction)), 'VMPRO_STATE_MISMATCH');
  });

  test('checks state before the issuer', async () => {
    const { client, callback, transaction } = await started();
    const both = withParams(callback, (p) => {
      p.set('state', 'forged');
      p.set('iss', 'https://evil.example');
    });
    expectCode(await rejectionOf(client.validateCallback(both, transaction)), 'VMPRO_STATE_MISMATCH');
  });

  test('refuses an iss parameter naming another issuer (mix-up)', async () => {
    const { client, callback, transaction } = await started();
    const other = withParams(callback, (p) => p.set('iss', 'https://evil.example/auth/realms/platform'));
    const err = await rejectionOf(client.validateCallback(other, transaction));
    expectCode(err, 'VMPRO_ISSUER_MISMATCH');
    expect(err.message).toContain('https://evil.example/auth/realms/platform');
  });

  test('requires iss when the server announces authorization_response_iss_parameter_supported', async () => {
    const { client, callback, transaction } = await started();
    const noIss = withParams(callback, (p) => p.delete('iss'));
    expectCode(await rejectionOf(client.validateCallback(noIss, transaction)), 'VMPRO_ISSUER_MISMATCH');
  });

  test('accepts a missing iss from a server that does not announce it (Keycloak before 23)', async () => {
    const { client, callback, transaction } = await started({
      beforeClient: (s) => {
        delete s.metadata.authorization_response_iss_parameter_supported;
      },
    });
    const noIss = withParams(callback, (p) => p.delete('iss'));
    const validated = await client.validateCallback(noIss, transaction);
    expect(validated.iss).toBeNull();
  });

  test('refuses a transaction that was started with another issuer', async () => {
    const { client, callback, transaction } = await started();
    const err = await rejectionOf(
      client.validateCallback(callback, {
        ...transaction,
        issuer: 'https://other.example/auth/realms/platform',
      }),
    );
    expectCode(err, 'VMPRO_ISSUER_MISMATCH');
  });

  test("turns error=… into an OAuthError carrying the server's error and description", async () => {
    const { client, transaction } = await started();
    const params = new URLSearchParams({
      error: 'access_denied',
      error_description: 'User denied the request',
      state: transaction.state,
      iss: ISSUER,
    });
    const err = await rejectionOf(client.validateCallback(params, transaction));
    expect(err).toBeInstanceOf(OAuthError);
    expectCode(err, 'VMPRO_AUTHORIZATION_ERROR');
    expect((err as OAuthError).error).toBe('access_denied');
    expect((err as OAuthError).errorDescription).toBe('User denied the request');
    expect(err.message).toBe(
      'The login server refused the sign-in: access_denied (User denied the request).',
    );
  });

  test.each(['id_token', 'access_token', 'token'])(
    'refuses %s in the callback (implicit/hybrid)',
    async (name) => {
      const { client, callback, transaction } = await started();
      const implicit = withParams(callback, (p) => p.set(name, 'eyJ.x.y'));
      const err = await rejectionOf(client.validateCallback(implicit, transaction));
      expectCode(err, 'VMPRO_CALLBACK_INVALID');
      expect(err.message).toContain(name);
    },
  );

  test.each([
    ['missing', (p: URLSearchParams) => p.delete('code')],
    ['empty', (p: URLSearchParams) => p.set('code', '')],
  ])('refuses a %s code', async (_name, change) => {
    const { client, callback, transaction } = await started();
    expectCode(
      await rejectionOf(client.validateCallback(withParams(callback, change), transaction)),
      'VMPRO_CALLBACK_INVALID',
    );
  });

  test.each([
    ['null', null],
    ['an empty object', {}],
    [
      'a transaction without codeVerifier',
      { state: 's', nonce: 'n', redirectUri: REDIRECT_URI, issuer: ISSUER },
    ],
  ])('refuses %s as the transaction', async (_name, transaction) => {
    const { client, callback } = await started();
    const err = await rejectionOf(
      client.validateCallback(callback, transaction as unknown as AuthTransaction),
    );
    expectCode(err, 'VMPRO_TRANSACTION_MISSING');
  });

  test('refuses a transaction made for another redirect URI', async () => {
    const { client, callback, transaction } = await started();
    const other = { ...transaction, redirectUri: 'https://evil.example/cb' };
    expectCode(await rejectionOf(client.validateCallback(callback, other)), 'VMPRO_TRANSACTION_MISSING');
  });
});

describe('relayPageHtml', () => {
  test('posts the fragment parameters to /auth/callback by default', () => {
    const html = relayPageHtml();
    expect(html).toContain('<form id="vmpro-relay" method="post" action="/auth/callback">');
    expect(html).toContain('location.hash');
    expect(html).toContain('<meta name="referrer" content="no-referrer">');
  });

  test('posts to the given path, escaped', () => {
    expect(relayPageHtml({ postPath: '/login/done?x="1"' })).toContain('action="/login/done?x=&#34;1&#34;"');
  });

  test('loads nothing from elsewhere', () => {
    const html = relayPageHtml();
    expect(html).not.toMatch(/\s(src|href)=/i);
    expect(html).not.toMatch(/https?:\/\//);
  });

  test('publishes the CSP hash of its one inline script', () => {
    const html = relayPageHtml({ postPath: '/other' });
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] as string);
    expect(scripts).toHaveLength(1);
    const hash = createHash('sha256')
      .update(scripts[0] as string)
      .digest('base64');
    expect(RELAY_PAGE_SCRIPT_HASH).toBe(`'sha256-${hash}'`);
  });

  test.each(['//evil.example/cb', 'https://evil.example/cb', 'cb', '/a b'])(
    'refuses postPath %j',
    (postPath) => {
      const err = thrownBy(() => relayPageHtml({ postPath }));
      expectCode(err, 'VMPRO_CONFIG_INVALID');
      expect(err.field).toBe('postPath');
    },
  );
});
