/** The demo's environment variables: defaults, every variable read, and errors that name the variable. */

import { describe, expect, it } from 'vitest';
import { isVmproError } from 'vmpro-connect';
import { authOptionsFromEnv, parseSecrets } from './env.js';

const secret = 'x'.repeat(32);

/** The `VMPRO_CONFIG_INVALID` error `f` throws. */
function refusal(f: () => unknown) {
  try {
    f();
  } catch (error) {
    if (isVmproError(error, 'VMPRO_CONFIG_INVALID')) return error;
    throw error;
  }
  throw new Error('expected a configuration error');
}

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
    [{ PORT: 'abc' }, 'PORT', /`PORT` must be a port number/],
    [
      { VMPRO_SESSION_STORE: 'mongo' },
      'VMPRO_SESSION_STORE',
      /`VMPRO_SESSION_STORE` must be memory, cookie, or a redis:\/\/ URL/,
    ],
    [
      { VMPRO_SESSION_SECRET: 'short' },
      'VMPRO_SESSION_SECRET',
      /`VMPRO_SESSION_SECRET` entry 1 is shorter than 32/,
    ],
    [{ VMPRO_API_BASE: 'http://api.example' }, 'VMPRO_API_BASE', /`VMPRO_API_BASE` must use https:\/\//],
    [
      { VMPRO_CLIENT_SECRET: 's' },
      'VMPRO_CLIENT_SECRET',
      /`VMPRO_CLIENT_SECRET` is set but VMPRO_CLIENT_ID is not/,
    ],
  ])('names the variable in %j', (env, field, message) => {
    const error = refusal(() => authOptionsFromEnv(env));
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });
});

describe('parseSecrets', () => {
  it('splits a rotation list, the first secret first', () => {
    expect(parseSecrets(` ${secret} ,${'y'.repeat(40)}`)).toEqual([secret, 'y'.repeat(40)]);
  });
});
