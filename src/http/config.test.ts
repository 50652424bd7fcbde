import { describe, expect, it } from 'vitest';
import { isVmproError } from '../errors.js';
import { resolveAuthOptions } from './config.js';
import { authOptionsFromEnv } from './env.js';

const secret = 'x'.repeat(32);
const base = {
  clientId: 'app',
  clientSecret: 's',
  redirectUri: 'https://app.example/auth/callback',
  session: { secrets: [secret] },
};

function configError(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    if (isVmproError(error, 'VMPRO_CONFIG_INVALID')) return error.message;
    throw error;
  }
  throw new Error('expected a configuration error');
}

describe('resolveAuthOptions', () => {
  it('applies defaults and freezes the result', () => {
    const o = resolveAuthOptions(base);
    expect(o.apiBase).toBe('https://api.video-cdn.net');
    expect(o.appOrigin).toBe('https://app.example');
    expect(o.postLogoutRedirectUri).toBe('https://app.example/');
    expect(o.clientAuthMethod).toBe('client_secret_post');
    expect(o.secure).toBe(true);
    expect(o.routes).toEqual({
      login: '/auth/login',
      callback: '/auth/callback',
      logout: '/auth/logout',
      backchannelLogout: '/auth/backchannel-logout',
    });
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('accepts plain http on loopback only, and says so', () => {
    expect(resolveAuthOptions({ ...base, redirectUri: 'http://127.0.0.1:3000/auth/callback' }).secure).toBe(
      false,
    );
    expect(resolveAuthOptions({ ...base, redirectUri: 'http://localhost:3000/auth/callback' }).secure).toBe(
      false,
    );
    expect(resolveAuthOptions({ ...base, redirectUri: 'http://[::1]:3000/auth/callback' }).secure).toBe(
      false,
    );
    expect(
      configError(() => resolveAuthOptions({ ...base, redirectUri: 'http://app.example/auth/callback' })),
    ).toMatch(/`redirectUri` must use https:\/\/.*app\.example/);
    expect(configError(() => resolveAuthOptions({ ...base, apiBase: 'http://10.0.0.1' }))).toMatch(
      /`apiBase`/,
    );
  });

  it('refuses an http issuer for an https app', () => {
    expect(
      configError(() =>
        resolveAuthOptions({ ...base, issuer: 'http://127.0.0.1:8080/auth/realms/platform' }),
      ),
    ).toMatch(/`issuer` is plain http/);
  });

  it('names the field of a short secret', () => {
    expect(configError(() => resolveAuthOptions({ ...base, session: { secrets: ['short'] } }))).toMatch(
      /`session.secrets` entry 1 is shorter than 32 characters/,
    );
  });

  it('needs a client secret for client_secret_basic', () => {
    expect(
      configError(() =>
        resolveAuthOptions({ ...base, clientSecret: undefined, clientAuthMethod: 'client_secret_basic' }),
      ),
    ).toMatch(/`clientSecret` is required/);
  });

  it('keeps the callback route on the redirect URI path', () => {
    expect(configError(() => resolveAuthOptions({ ...base, routes: { callback: '/other' } }))).toMatch(
      /routes.callback/,
    );
  });
});

describe('authOptionsFromEnv', () => {
  it('defaults: port 3000, memory store, localhost redirect, a random secret with a warning', () => {
    const r = authOptionsFromEnv({});
    expect(r.port).toBe(3000);
    expect(r.clientId).toBeUndefined();
    expect(r.redirectUri).toBe('http://localhost:3000/auth/callback');
    expect(r.store).toEqual({ kind: 'memory' });
    expect(r.generatedSecret).toBe(true);
    expect(r.secrets[0]?.length).toBeGreaterThanOrEqual(32);
    expect(r.warnings.join('\n')).toMatch(/VMPRO_SESSION_SECRET is not set/);
  });

  it('reads every variable', () => {
    const r = authOptionsFromEnv({
      PORT: '8080',
      VMPRO_API_BASE: 'https://api.example',
      VMPRO_ISSUER: 'https://login.example/auth/realms/platform',
      VMPRO_CLIENT_ID: 'c',
      VMPRO_CLIENT_SECRET: 's',
      VMPRO_REDIRECT_URI: 'https://app.example/auth/callback',
      VMPRO_POST_LOGOUT_REDIRECT_URI: 'https://app.example/bye',
      VMPRO_SESSION_SECRET: `${secret},${'y'.repeat(40)}`,
      VMPRO_SESSION_STORE: 'redis://127.0.0.1:6379',
    });
    expect(r).toMatchObject({
      port: 8080,
      clientId: 'c',
      clientSecret: 's',
      apiBase: 'https://api.example/',
      issuer: 'https://login.example/auth/realms/platform',
      redirectUri: 'https://app.example/auth/callback',
      postLogoutRedirectUri: 'https://app.example/bye',
      store: { kind: 'redis', url: 'redis://127.0.0.1:6379' },
      generatedSecret: false,
    });
    expect(r.secrets).toHaveLength(2);
  });

  it.each([
    [{ PORT: 'abc' }, /PORT must be a port number/],
    [{ VMPRO_SESSION_STORE: 'mongo' }, /VMPRO_SESSION_STORE must be memory, cookie, or a redis:\/\/ URL/],
    [{ VMPRO_SESSION_SECRET: 'short' }, /VMPRO_SESSION_SECRET entry 1 is shorter than 32/],
    [{ VMPRO_API_BASE: 'http://api.example' }, /VMPRO_API_BASE must use https:\/\//],
    [{ VMPRO_CLIENT_SECRET: 's' }, /VMPRO_CLIENT_SECRET is set but VMPRO_CLIENT_ID is not/],
  ])('names the variable in %j', (env, message) => {
    expect(configError(() => authOptionsFromEnv(env))).toMatch(message);
  });
});
