import { describe, expect, it } from 'vitest';
import { isVmproError } from '../errors.js';
import { resolveAuthOptions } from './config.js';

const secret = 'x'.repeat(32);
const base = {
  clientId: 'app',
  clientSecret: 's',
  redirectUri: 'https://app.example/auth/callback',
  session: { secrets: [secret] },
};

function configError(f: () => unknown): string {
  return refusal(f).message;
}

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
    const error = refusal(() => resolveAuthOptions({ ...base, session: { secrets: ['short'] } }));
    expect(error.field).toBe('session.secrets');
    expect(error.message).toMatch(/`session.secrets` entry 1 is shorter than 32 characters/);
  });

  it('words every configuration error alike: the package, the field, the problem, the fix', () => {
    expect(configError(() => resolveAuthOptions({ ...base, clientId: '' }))).toBe(
      'vmpro-connect: `clientId` is required: pass the client id movingimage registered for your app.',
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
