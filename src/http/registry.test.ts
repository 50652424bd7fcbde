import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../logger.js';
import { memoryStore } from '../session/index.js';
import { createVmproAuth, type VmproAuth, type VmproAuthOptions } from './index.js';
import { REGISTRY_KEY } from './registry.js';

const SECRET = 'registry-test-secret-0123456789abcdefgh';
const CLIENT_SECRET = 'registry-client-secret-value';
const opened: VmproAuth[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((auth) => auth.close()));
});

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    debug() {},
    info() {},
    warn: (message, fields) => warnings.push(`${message} ${JSON.stringify(fields ?? {})}`),
    error() {},
  };
}

function config(extra: Partial<VmproAuthOptions> = {}): VmproAuthOptions {
  return {
    issuer: 'http://127.0.0.1:9/auth/realms/platform',
    clientId: 'registry-app',
    clientSecret: CLIENT_SECRET,
    redirectUri: 'http://127.0.0.1:3000/auth/callback',
    ...extra,
    session: { secrets: [SECRET], ...extra.session },
  };
}

function create(options: VmproAuthOptions): VmproAuth {
  const auth = createVmproAuth(options);
  opened.push(auth);
  return auth;
}

describe('one auth instance per configuration per process', () => {
  it('returns the same instance for the same configuration, even with new stores and loggers', () => {
    const first = create(config({ session: { secrets: [SECRET], store: memoryStore() } }));
    const second = create(
      config({ logger: recordingLogger(), session: { secrets: [SECRET], store: memoryStore() } }),
    );
    expect(second).toBe(first);
  });

  it('keeps the instances on globalThis under Symbol.for("vmpro-connect.auth-registry")', () => {
    const auth = create(config());
    const map = (globalThis as Record<symbol, unknown>)[Symbol.for('vmpro-connect.auth-registry')];
    expect(REGISTRY_KEY).toBe(Symbol.for('vmpro-connect.auth-registry'));
    expect(map).toBeInstanceOf(Map);
    expect([...(map as Map<string, { instance: unknown }>).values()].map((e) => e.instance)).toContain(auth);
  });

  it('makes a new instance after close()', async () => {
    const first = createVmproAuth(config());
    await first.close();
    const second = create(config());
    expect(second).not.toBe(first);
  });

  it('makes separate instances for differing configurations', () => {
    const a = create(config());
    const b = create(config({ scopes: ['profile'] }));
    expect(b).not.toBe(a);
  });

  it('makes a separate instance when one is named with `instance`, and does not warn about it', () => {
    const logger = recordingLogger();
    const a = create(config({ logger }));
    const b = create(config({ logger, instance: 'tenant-b' }));
    const c = create(config({ logger, instance: 'tenant-c' }));
    expect(new Set([a, b, c]).size).toBe(3);
    expect(create(config({ instance: 'tenant-b' }))).toBe(b);
    expect(logger.warnings).toEqual([]);
  });

  it('warns, naming the differing settings, when another configuration uses the same cookie on the same host', () => {
    const logger = recordingLogger();
    create(config({ logger }));
    create(
      config({
        logger,
        clientSecret: 'another-client-secret-value',
        scopes: ['profile'],
        session: { secrets: ['another-session-secret-0123456789abcdef'] },
      }),
    );
    expect(logger.warnings).toHaveLength(1);
    const warning = logger.warnings[0] as string;
    expect(warning).toContain('"vmpro" on host 127.0.0.1');
    expect(warning).toContain('scopes ([] vs ["profile"])');
    expect(warning).toContain('clientSecret (a different secret)');
    expect(warning).toContain('session.secrets (a different secret)');
    expect(warning).toContain('signed out');
    expect(warning).toContain('session.cookieName');
    for (const secret of [CLIENT_SECRET, 'another-client-secret-value', SECRET, 'another-session-secret']) {
      expect(warning).not.toContain(secret);
    }
  });

  it('warns about a second app on another port of the same host (browsers share cookies across ports)', () => {
    const logger = recordingLogger();
    create(config({ logger }));
    create(config({ logger, redirectUri: 'http://127.0.0.1:4000/auth/callback' }));
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toContain(
      'redirectUri ("http://127.0.0.1:3000/auth/callback" vs "http://127.0.0.1:4000/auth/callback")',
    );
  });

  it('does not warn when the configurations use different cookie names or hosts', () => {
    const logger = recordingLogger();
    create(config({ logger }));
    create(config({ logger, scopes: ['profile'], session: { secrets: [SECRET], cookieName: 'vmpro-b' } }));
    create(config({ logger, scopes: ['email'], redirectUri: 'http://localhost:3000/auth/callback' }));
    expect(logger.warnings).toEqual([]);
  });

  it('shares the instance between two evaluations of the module (vi.resetModules + dynamic import)', async () => {
    vi.resetModules();
    const one = await import('./auth.js');
    vi.resetModules();
    const two = await import('./auth.js');
    expect(two.createVmproAuth).not.toBe(one.createVmproAuth);
    const a = one.createVmproAuth(config());
    opened.push(a);
    expect(two.createVmproAuth(config())).toBe(a);
  });

  it('refuses an empty instance name with a typed error', () => {
    expect(() => createVmproAuth(config({ instance: '' }))).toThrow(
      expect.objectContaining({ code: 'VMPRO_CONFIG_INVALID', message: expect.stringContaining('instance') }),
    );
  });
});
