import { describe, expect, test } from 'vitest';
import { expectCode, thrownBy } from '../../test/support/oidc-unit.js';
import { DEFAULT_CLOCK_TOLERANCE_SEC, type OidcClientOptions, parseOidcClientOptions } from './config.js';
import { createDiscoveryCache } from './discovery-cache.js';

function refusal(options: OidcClientOptions) {
  const err = thrownBy(() => parseOidcClientOptions(options));
  expectCode(err, 'VMPRO_CONFIG_INVALID');
  return err;
}

describe('parseOidcClientOptions', () => {
  test('applies the documented defaults', () => {
    const parsed = parseOidcClientOptions({ clientId: 'anonymous' });
    expect(parsed).toMatchObject({
      apiBase: 'https://api.video-cdn.net',
      issuer: null,
      clientId: 'anonymous',
      clientSecret: null,
      clientAuthMethod: 'none',
      redirectUri: null,
      scopes: [],
      timeoutMs: 10_000,
      clockToleranceSec: 60,
      transactionMaxAgeSec: 600,
      jwksCooldownSec: 30,
    });
    expect(typeof parsed.fetch).toBe('function');
    expect(typeof parsed.now()).toBe('number');
  });

  test('tolerates 60 s of clock difference by default (as Spring Security), and takes another value', () => {
    expect(DEFAULT_CLOCK_TOLERANCE_SEC).toBe(60);
    expect(parseOidcClientOptions({ clientId: 'c' }).clockToleranceSec).toBe(60);
    expect(parseOidcClientOptions({ clientId: 'c', clockToleranceSec: 0 }).clockToleranceSec).toBe(0);
    expect(parseOidcClientOptions({ clientId: 'c', clockToleranceSec: 120 }).clockToleranceSec).toBe(120);
  });

  test('uses client_secret_post when a secret is set (movingimage documents the secret in the body)', () => {
    expect(parseOidcClientOptions({ clientId: 'c', clientSecret: 's' }).clientAuthMethod).toBe(
      'client_secret_post',
    );
  });

  test('accepts client_secret_basic when chosen', () => {
    const parsed = parseOidcClientOptions({
      clientId: 'c',
      clientSecret: 's',
      clientAuthMethod: 'client_secret_basic',
    });
    expect(parsed.clientAuthMethod).toBe('client_secret_basic');
  });

  test('returns a frozen object and leaves the caller options untouched', () => {
    const options: OidcClientOptions = { clientId: 'c', scopes: ['profile'] };
    const parsed = parseOidcClientOptions(options);
    expect(Object.isFrozen(parsed)).toBe(true);
    expect(Object.isFrozen(parsed.scopes)).toBe(true);
    expect(options).toEqual({ clientId: 'c', scopes: ['profile'] });
  });

  test('drops "openid" and duplicates from the extra scopes', () => {
    expect(
      parseOidcClientOptions({ clientId: 'c', scopes: ['openid', 'profile', 'profile', 'email'] }).scopes,
    ).toEqual(['profile', 'email']);
  });

  test('names clientId when it is missing or empty', () => {
    expect(refusal({ clientId: '' }).field).toBe('clientId');
    expect(refusal({} as OidcClientOptions).field).toBe('clientId');
  });

  test.each(['issuer', 'apiBase', 'redirectUri'] as const)(
    'refuses plain http:// to a public host in %s',
    (field) => {
      const err = refusal({ clientId: 'c', [field]: 'http://login.example.com/x' });
      expect(err.field).toBe(field);
      expect(err.message).toContain('loopback');
    },
  );

  test.each([
    'http://127.0.0.1:8080',
    'http://127.10.20.30:8080',
    'http://localhost:8080',
    'http://[::1]:8080',
  ])('accepts plain http:// to the loopback host %s', (origin) => {
    const parsed = parseOidcClientOptions({
      clientId: 'c',
      apiBase: origin,
      issuer: `${origin}/auth/realms/platform`,
      redirectUri: `${origin}/auth/callback`,
    });
    expect(parsed.issuer).toBe(`${origin}/auth/realms/platform`);
  });

  test('refuses schemes other than http and https', () => {
    expect(refusal({ clientId: 'c', issuer: 'ftp://login.example.com' }).field).toBe('issuer');
  });

  test('refuses an apiBase with a path, because WebFinger runs at the origin', () => {
    expect(refusal({ clientId: 'c', apiBase: 'https://api.video-cdn.net/v1' }).field).toBe('apiBase');
  });

  test('refuses a redirectUri with a fragment', () => {
    expect(refusal({ clientId: 'c', redirectUri: 'https://app.example.com/cb#x' }).field).toBe('redirectUri');
  });

  test('accepts the issuer given as its configuration URL', () => {
    const parsed = parseOidcClientOptions({
      clientId: 'c',
      issuer: 'https://login.movingimage.com/auth/realms/platform/.well-known/openid-configuration',
    });
    expect(parsed.issuer).toBe('https://login.movingimage.com/auth/realms/platform');
    expect(parsed.issuerConfigurationUrl).toBe(
      'https://login.movingimage.com/auth/realms/platform/.well-known/openid-configuration',
    );
  });

  test.each(['client_secret_post', 'client_secret_basic'] as const)(
    'requires clientSecret with %s',
    (method) => {
      expect(refusal({ clientId: 'c', clientAuthMethod: method }).field).toBe('clientSecret');
    },
  );

  test('refuses a clientSecret with the "none" method instead of silently not sending it', () => {
    expect(refusal({ clientId: 'c', clientSecret: 's', clientAuthMethod: 'none' }).field).toBe(
      'clientAuthMethod',
    );
  });

  test('refuses an unknown client authentication method', () => {
    const options = { clientId: 'c', clientAuthMethod: 'private_key_jwt' } as unknown as OidcClientOptions;
    expect(refusal(options).field).toBe('clientAuthMethod');
  });

  test('refuses a scope with a space in it', () => {
    expect(refusal({ clientId: 'c', scopes: ['profile email'] }).field).toBe('scopes');
  });

  test.each([
    ['timeoutMs', 0],
    ['timeoutMs', -1],
    ['clockToleranceSec', -1],
    ['transactionMaxAgeSec', 0],
    ['jwksCooldownSec', Number.NaN],
  ] as const)('refuses %s = %s', (field, value) => {
    expect(refusal({ clientId: 'c', [field]: value }).field).toBe(field);
  });

  test('gives every client a discovery cache of its own, or the one it is given', () => {
    const first = parseOidcClientOptions({ clientId: 'c' }).discoveryCache;
    const second = parseOidcClientOptions({ clientId: 'c' }).discoveryCache;
    expect(first).not.toBe(second);
    const shared = createDiscoveryCache();
    expect(parseOidcClientOptions({ clientId: 'c', discoveryCache: shared }).discoveryCache).toBe(shared);
    const options = {
      clientId: 'c',
      discoveryCache: { get: () => undefined },
    } as unknown as OidcClientOptions;
    expect(refusal(options).field).toBe('discoveryCache');
  });

  test('words its errors like every configuration error: the package, the field, the problem, the fix', () => {
    expect(refusal({ clientId: '' }).message).toBe(
      'vmpro-connect: `clientId` is required: pass the client id movingimage registered for your app.',
    );
  });

  test('never echoes the client secret in an error', () => {
    const err = refusal({
      clientId: 'c',
      clientSecret: 'super-secret-value',
      issuer: 'http://login.example.com',
    });
    expect(err.message).not.toContain('super-secret-value');
  });
});
