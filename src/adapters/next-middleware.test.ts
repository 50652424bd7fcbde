/**
 * vmpro-connect/next/middleware on Web Request/Response (no Next.js server), and the proof that
 * it and vmpro-connect/next/errors can run on the Edge runtime / in the browser: neither pulls in
 * a Node.js module.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { vmproMiddleware } from './next-middleware.js';

const ORIGIN = 'http://127.0.0.1:3000';
const guard = vmproMiddleware({ protect: ['/videos/:path*', '/account', '/teams/:id', '/admin/:path+'] });

const get = (path: string, headers: Record<string, string> = {}) =>
  guard(new Request(`${ORIGIN}${path}`, { headers }));

describe('vmproMiddleware', () => {
  it('redirects a protected path without the session cookie to login with an absolute URL and returnTo', async () => {
    const res = await get('/videos/42?tab=info');
    expect(res?.status).toBe(307);
    expect(res?.headers.get('location')).toBe(`${ORIGIN}/auth/login?returnTo=%2Fvideos%2F42%3Ftab%3Dinfo`);
  });

  it('uses the configured public origin for the redirect (behind a proxy)', async () => {
    const behindProxy = vmproMiddleware({
      protect: ['/videos'],
      origin: 'https://portal.example.com/ignored',
    });
    const res = await behindProxy(new Request('http://10.0.0.5:3000/videos'));
    expect(res?.headers.get('location')).toBe('https://portal.example.com/auth/login?returnTo=%2Fvideos');
  });

  it('lets a protected path through when the session cookie (or its first chunk) is there', async () => {
    for (const cookie of ['vmpro=abc', '__Host-vmpro=abc', 'vmpro.0=abc; vmpro.1=def']) {
      const res = await get('/videos', { cookie });
      expect(res?.status, cookie).toBe(200);
      expect(res?.headers.get('x-middleware-next'), cookie).toBe('1');
    }
  });

  it('does not take a login-transaction cookie or an empty cookie for a session', async () => {
    expect((await get('/videos', { cookie: 'vmpro-tx-abc=1' }))?.status).toBe(307);
    expect((await get('/videos', { cookie: 'vmpro=' }))?.status).toBe(307);
  });

  it('matches patterns the way Next matchers do: exact, one segment, zero-or-more, one-or-more', async () => {
    const status = async (path: string) => (await get(path))?.status;
    expect(await status('/videos')).toBe(307);
    expect(await status('/videos/1/2')).toBe(307);
    expect(await status('/videos-archive')).toBe(200);
    expect(await status('/account')).toBe(307);
    expect(await status('/account/settings')).toBe(200);
    expect(await status('/teams/7')).toBe(307);
    expect(await status('/teams/7/members')).toBe(200);
    expect(await status('/teams')).toBe(200);
    expect(await status('/admin')).toBe(200);
    expect(await status('/admin/users')).toBe(307);
    expect(await status('/')).toBe(200);
  });

  it("forwards the page's path to the app in x-vmpro-return-to, overwriting what the client sent", async () => {
    const res = await get('/about?x=1', { 'x-vmpro-return-to': '/elsewhere' });
    expect(res?.headers.get('x-middleware-request-x-vmpro-return-to')).toBe('/about?x=1');
  });

  it('refuses a pattern it does not understand when it is created, naming the option', () => {
    expect(() => vmproMiddleware({ protect: ['videos'] })).toThrow(/`protect`/);
    expect(() => vmproMiddleware({ protect: ['/videos/(.*)'] })).toThrow(/not a supported pattern/);
    expect(() => vmproMiddleware({ protect: ['/a/:rest*/b'] })).toThrow(/before its end/);
  });
});

/** Every module `entry` imports, following relative imports (type-only imports excluded). */
function moduleGraph(entry: string, seen = new Set<string>()): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    const specifiers = [
      ...source.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+['"]([^'"]+)['"]/gm),
    ]
      .map((m) => m[1] as string)
      .concat([...source.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] as string));
    graph.set(file, specifiers);
    for (const s of specifiers)
      if (s.startsWith('.')) visit(resolve(dirname(file), s.replace(/\.js$/, '.ts')));
  };
  visit(entry);
  return graph;
}

describe('Edge and browser safety', () => {
  it.each(['next-middleware.ts', 'next-errors.ts'])(
    '%s imports no Node.js module, directly or indirectly',
    (file) => {
      const imports = [...moduleGraph(join(import.meta.dirname, file)).values()].flat();
      expect(
        imports.filter((s) => s.startsWith('node:') || /^(crypto|fs|path|http|https|net|os)$/.test(s)),
      ).toEqual([]);
      expect(imports.filter((s) => !s.startsWith('.') && s !== 'next/server')).toEqual([]);
    },
  );
});
