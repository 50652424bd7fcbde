/** The demo's environment variables: defaults, every variable read, and errors that name the variable. */

import { describe, expect, it } from 'vitest';
import { isVmproError } from 'vmpro-connect';
import { authOptionsFromEnv, describeStore, parseSecrets, parseSessionStore } from './env.js';

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
      /`VMPRO_SESSION_STORE` must be memory, cookie, a redis:\/\/ or rediss:\/\/ URL .*redis-cluster:\/\/host:port\[,host:port…\].*postgres:\/\/ or postgresql:\/\/ URL/,
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

describe('VMPRO_SESSION_STORE', () => {
  it('accepts a postgres:// or postgresql:// URL as the PostgreSQL store', () => {
    for (const url of ['postgres://app@127.0.0.1:5432/app', 'postgresql://app:pw@db.internal/app']) {
      expect(authOptionsFromEnv({ VMPRO_SESSION_STORE: url }).store).toEqual({ kind: 'postgres', url });
    }
  });

  it('reads redis-cluster:// as the seed nodes of a Redis Cluster, IPv6 in brackets', () => {
    expect(parseSessionStore('redis-cluster://10.0.0.1:7000, redis-2:7001,[::1]:7002')).toEqual({
      kind: 'redis-cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'redis-2', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      username: undefined,
      password: undefined,
    });
  });

  it('takes the credentials of a redis-cluster:// URL for every node', () => {
    expect(parseSessionStore('redis-cluster://app:s%40cret@10.0.0.1:7000,10.0.0.2:7000')).toMatchObject({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7000 },
      ],
      username: 'app',
      password: 's@cret',
    });
  });

  it.each([
    ['redis-cluster://', /names no cluster node/],
    ['redis-cluster://10.0.0.1', /has a cluster node that is not host:port \("10\.0\.0\.1"/],
    ['redis-cluster://10.0.0.1:7000,,10.0.0.2:7000', /has a cluster node that is not host:port \(""/],
    ['redis-cluster://10.0.0.1:99999', /has a cluster node that is not host:port/],
    ['postgres://a:1,b:2/db', /is not a valid PostgreSQL URL/],
  ])('refuses %s, naming the variable', (value, message) => {
    const error = refusal(() => authOptionsFromEnv({ VMPRO_SESSION_STORE: value }));
    expect(error.field).toBe('VMPRO_SESSION_STORE');
    expect(error.message).toMatch(/^vmpro: `VMPRO_SESSION_STORE` /);
    expect(error.message).toMatch(message);
  });

  it('never repeats a password from the value in its error', () => {
    for (const value of ['mysql://app:hunter2-secret@db/app', 'postgres://app:hunter2-secret@a:1,b:2/db']) {
      const error = refusal(() => authOptionsFromEnv({ VMPRO_SESSION_STORE: value }));
      expect(error.message).not.toContain('hunter2-secret');
      expect(error.message).toContain('app:***@');
    }
  });

  it('warns that a shared store with a random secret cannot be shared', () => {
    const r = authOptionsFromEnv({ VMPRO_SESSION_STORE: 'postgres://app@db:5432/app' });
    expect(r.warnings.join('\n')).toMatch(
      /VMPRO_SESSION_STORE is PostgreSQL at db:5432\/app but VMPRO_SESSION_SECRET is random/,
    );
  });

  it('describes each store for the banner without its credentials', () => {
    expect(describeStore(parseSessionStore('memory'))).toBe('memory');
    expect(describeStore(parseSessionStore('redis://:pw-123@cache:6380'))).toBe('Redis at cache:6380');
    expect(describeStore(parseSessionStore('postgresql://app:pw-123@db/app'))).toBe(
      'PostgreSQL at db:5432/app',
    );
    expect(describeStore(parseSessionStore('redis-cluster://app:pw-123@10.0.0.1:7000,[::1]:7001'))).toBe(
      'Redis Cluster (seed nodes 10.0.0.1:7000, [::1]:7001)',
    );
  });
});
