/**
 * vmpro-connect/next without a Next.js server: the catch-all and route() on Web Request/Response,
 * auth()/requireLogin() over a fake of Next's request APIs (cookies() that refuses writes the way
 * a server component's does, headers(), redirect()).
 */
import { describe, expect, it } from 'vitest';
import { isVmproError, VmproError } from '../errors.js';
import { serializeSetCookie } from '../http/cookies.js';
import type { VmproAuthOptions } from '../http/index.js';
import type { OidcClient } from '../oidc/index.js';
import { cookieStore, memoryStore } from '../session/index.js';
import { makeTokens, TestJar } from '../session/test-support.js';
import {
  type NextCookie,
  type NextCookieStore,
  type NextRuntime,
  parseSetCookie,
  vmproNext,
} from './next.js';
import { vmproErrorInfo } from './next-errors.js';

const ORIGIN = 'http://127.0.0.1:3000';
let instances = 0;

/** Options for a fresh instance (each test its own `instance` and `name`, so the registries keep them apart). */
function options(extra: Partial<VmproAuthOptions> = {}): VmproAuthOptions {
  return {
    issuer: 'http://127.0.0.1:9/auth/realms/platform',
    clientId: 'next-app',
    clientSecret: 'next-app-secret',
    redirectUri: `${ORIGIN}/auth/callback`,
    session: { secrets: ['next-adapter-test-secret-0123456789abcdef'], store: memoryStore() },
    ...extra,
  };
}

class Redirected extends Error {
  constructor(readonly url: string) {
    super(`redirect to ${url}`);
  }
}

/** Next's cookie store of one request: read-only in a server component, writable elsewhere. */
class FakeCookies implements NextCookieStore {
  readonly written: NextCookie[] = [];
  readonly deleted: string[] = [];
  constructor(
    readonly cookies: Map<string, string>,
    readonly writable: boolean,
  ) {}
  getAll() {
    return [...this.cookies].map(([name, value]) => ({ name, value }));
  }
  set(cookie: NextCookie) {
    if (!this.writable) throw new Error('Cookies can only be modified in a Server Action or Route Handler.');
    this.written.push(cookie);
    this.cookies.set(cookie.name, cookie.value);
  }
  delete(name: string) {
    if (!this.writable) throw new Error('Cookies can only be modified in a Server Action or Route Handler.');
    this.deleted.push(name);
  }
}

function runtime(request: {
  cookies?: Map<string, string>;
  headers?: Record<string, string>;
  writable?: boolean;
}) {
  const cookies = new FakeCookies(request.cookies ?? new Map(), request.writable ?? false);
  const headers = new Headers(request.headers ?? { accept: 'text/html' });
  const rt: NextRuntime = {
    cookies: async () => cookies,
    headers: async () => headers,
    redirect: (url: string) => {
      throw new Redirected(url);
    },
  };
  return { rt, cookies };
}

/** A logged-in session in the instance's store; returns the browser's cookies. */
async function signedIn(
  vmpro: ReturnType<typeof vmproNext>,
  tokens = makeTokens(Date.now()),
): Promise<Map<string, string>> {
  const jar = new TestJar();
  await vmpro
    .instance()
    .sessions.create(jar, { tokens, user: { sub: 'user-1', name: 'Dana Demo' }, sid: 's1' });
  return new Map(jar.setCalls.map((c) => [c.name, c.value]));
}

/** A protocol client whose refresh hands out new tokens (and counts). */
function refreshingClient(): { client: OidcClient; refreshes: () => number } {
  let count = 0;
  const client = {
    refresh: async () => {
      count++;
      return makeTokens(Date.now());
    },
  } as unknown as OidcClient;
  return { client, refreshes: () => count };
}

function fresh(extra: Partial<VmproAuthOptions> = {}, rt?: NextRuntime) {
  instances++;
  const name = `test-${instances}`;
  return vmproNext(() => options({ instance: name, ...extra }), { name, runtime: rt });
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('vmproNext: building', () => {
  it('does not call the factory at import time, only on the first request', async () => {
    let calls = 0;
    const vmpro = vmproNext(() => {
      calls++;
      return options({ instance: 'lazy' });
    });
    expect(calls).toBe(0);
    await vmpro.handlers.GET(new Request(`${ORIGIN}/auth/nothing-here`));
    expect(calls).toBe(1);
  });

  it('answers a missing setting with a clear configuration error naming the field, not a crash', async () => {
    const vmpro = vmproNext(() => ({ ...options(), clientId: process.env.NOT_SET_ANYWHERE as string }));
    const res = await vmpro.handlers.GET(
      new Request(`${ORIGIN}/auth/login`, { headers: { accept: 'application/json' } }),
    );
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe('VMPRO_CONFIG_INVALID');
    expect(body.message).toContain('`clientId`');
  });

  it('two copies of the app module (Next.js layers) share one instance and so one memory store', async () => {
    const store = () => ({
      ...options({ instance: 'copies' }),
      session: { ...options().session, store: memoryStore() },
    });
    const routeLayer = vmproNext(store, { name: 'copies' });
    const cookies = await signedIn(routeLayer);
    const { rt } = runtime({ cookies });
    const pageLayer = vmproNext(store, { name: 'copies', runtime: rt });
    expect((await pageLayer.auth())?.user.name).toBe('Dana Demo');
    expect(pageLayer.instance()).toBe(routeLayer.instance());
  });
});

describe('vmproNext: the catch-all route handler', () => {
  it('answers a path of the catch-all that is no auth route with 404 VMPRO_NOT_FOUND', async () => {
    const vmpro = fresh();
    const res = await vmpro.handlers.GET(new Request(`${ORIGIN}/auth/unknown`));
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toBe('VMPRO_NOT_FOUND');
  });

  it('answers GET on the logout route with 405 (logout is POST only)', async () => {
    const vmpro = fresh();
    const res = await vmpro.handlers.GET(new Request(`${ORIGIN}/auth/logout`));
    expect(res.status).toBe(405);
  });

  it('the refresh route refreshes a due session, sets the new cookie and goes back to returnTo', async () => {
    const { client, refreshes } = refreshingClient();
    const vmpro = fresh({ oidcClient: client, session: { ...options().session, store: cookieStore() } });
    const cookies = await signedIn(vmpro, makeTokens(Date.now() - 299_000));
    const cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await vmpro.handlers.GET(
      new Request(`${ORIGIN}/auth/refresh?returnTo=%2Fvideos%3Fpage%3D2`, { headers: { cookie } }),
    );
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/videos?page=2');
    expect(refreshes()).toBe(1);
    expect(res.headers.getSetCookie().some((c) => /^vmpro(\.\d+)?=/.test(c))).toBe(true);
  });

  it('the refresh route never sends anyone to another site', async () => {
    const vmpro = fresh();
    const res = await vmpro.handlers.GET(new Request(`${ORIGIN}/auth/refresh?returnTo=%2F%2Fevil.example`));
    expect(res.headers.get('location')).toBe('/');
  });
});

describe('vmproNext: auth() and requireLogin()', () => {
  it('auth() is null without a session cookie', async () => {
    const { rt } = runtime({});
    expect(await fresh({}, rt).auth()).toBeNull();
  });

  it('requireLogin() on a page sends the browser to login, back to the path the middleware forwarded', async () => {
    const { rt } = runtime({ headers: { accept: 'text/html', 'x-vmpro-return-to': '/videos?page=2' } });
    const error = await caught(fresh({}, rt).requireLogin());
    expect(error).toBeInstanceOf(Redirected);
    expect((error as Redirected).url).toBe('/auth/login?returnTo=%2Fvideos%3Fpage%3D2');
  });

  it('requireLogin() outside a page throws VMPRO_NOT_AUTHENTICATED with a digest error.tsx can read', async () => {
    const { rt } = runtime({ headers: { accept: 'application/json' } });
    const error = await caught(fresh({}, rt).requireLogin());
    expect(isVmproError(error, 'VMPRO_NOT_AUTHENTICATED')).toBe(true);
    expect(vmproErrorInfo(error as { digest?: string })).toMatchObject({
      code: 'VMPRO_NOT_AUTHENTICATED',
      status: 401,
      signIn: true,
    });
  });

  it('with a server-side store a server component needs no cookie write: the session is used as it is', async () => {
    const vmpro = fresh();
    const cookies = await signedIn(vmpro);
    const { rt, cookies: jar } = runtime({ cookies, writable: false });
    const page = vmproNext(() => options({ instance: `test-${instances}` }), {
      name: `test-${instances}`,
      runtime: rt,
    });
    const session = await page.requireLogin();
    expect(session.user.sub).toBe('user-1');
    expect(jar.written).toEqual([]);
  });

  it('with the cookie store a server component whose tokens are due goes through the refresh route first', async () => {
    const name = `test-${++instances}`;
    const make = () => options({ instance: name, session: { ...options().session, store: cookieStore() } });
    const routeLayer = vmproNext(make, { name });
    const cookies = await signedIn(routeLayer, makeTokens(Date.now() - 299_000));
    const { rt } = runtime({ cookies, headers: { accept: 'text/html', 'x-vmpro-return-to': '/videos' } });
    const error = await caught(vmproNext(make, { name, runtime: rt }).auth());
    expect((error as Redirected).url).toBe('/auth/refresh?returnTo=%2Fvideos');
  });

  it('with the cookie store a server action refreshes in place and sets the new cookie through cookies()', async () => {
    const { client, refreshes } = refreshingClient();
    const name = `test-${++instances}`;
    const make = () =>
      options({
        instance: name,
        oidcClient: client,
        session: { ...options().session, store: cookieStore() },
      });
    const routeLayer = vmproNext(make, { name });
    const cookies = await signedIn(routeLayer, makeTokens(Date.now() - 299_000));
    const { rt, cookies: jar } = runtime({ cookies, writable: true, headers: { 'next-action': 'abc' } });
    const session = await vmproNext(make, { name, runtime: rt }).requireLogin();
    await session.getAccessToken();
    expect(refreshes()).toBe(1);
    expect(
      jar.written.some((c) => /^vmpro(\.\d+)?$/.test(c.name) && c.httpOnly && c.sameSite === 'lax'),
    ).toBe(true);
  });

  it('an API error in a server component carries its code and status to error.tsx', async () => {
    const vmpro = fresh({
      fetch: async () =>
        new Response('{"message":"down"}', { status: 503, headers: { 'retry-after': '30' } }),
    });
    const cookies = await signedIn(vmpro);
    const { rt } = runtime({ cookies });
    const page = vmproNext(() => options({ instance: `test-${instances}` }), {
      name: `test-${instances}`,
      runtime: rt,
    });
    const { api } = await page.requireLogin();
    const error = await caught(api.vms.list());
    expect(vmproErrorInfo(error as { digest?: string })).toMatchObject({
      code: 'VMPRO_API_ERROR',
      status: 503,
    });
  });

  it('an ended login met by the API client on a page becomes a redirect to login', async () => {
    const client = {
      refresh: async () => {
        throw new VmproError('VMPRO_REFRESH_EXPIRED', 'The sign-in has ended.');
      },
    } as unknown as OidcClient;
    const vmpro = fresh({ oidcClient: client });
    const cookies = await signedIn(vmpro, makeTokens(Date.now() - 301_000));
    const { rt } = runtime({ cookies, headers: { accept: 'text/html', 'x-vmpro-return-to': '/videos' } });
    const page = vmproNext(() => options({ instance: `test-${instances}` }), {
      name: `test-${instances}`,
      runtime: rt,
    });
    const { api } = await page.requireLogin();
    const error = await caught(api.vms.list());
    expect((error as Redirected).url).toBe('/auth/login?returnTo=%2Fvideos');
  });
});

describe('vmproNext: route()', () => {
  it('with requireLogin, an API call without a session gets 401 JSON and the handler is not called', async () => {
    const vmpro = fresh();
    let called = false;
    const GET = vmpro.route(
      async () => {
        called = true;
        return new Response('ok');
      },
      { requireLogin: true },
    );
    const res = await GET(new Request(`${ORIGIN}/api/vms`, { headers: { accept: 'application/json' } }), {});
    expect(res.status).toBe(401);
    expect(called).toBe(false);
  });

  it('gives the handler the session', async () => {
    const vmpro = fresh();
    const cookie = [...(await signedIn(vmpro))].map(([k, v]) => `${k}=${v}`).join('; ');
    const GET = vmpro.route(async (_request, session) => Response.json({ name: session?.user.name }));
    const res = await GET(new Request(`${ORIGIN}/api/me`, { headers: { cookie } }), {});
    expect(await res.json()).toEqual({ name: 'Dana Demo' });
  });

  it('turns a vmpro-connect error thrown by the handler into its status and message, not a 500', async () => {
    const vmpro = fresh();
    const GET = vmpro.route(async () => {
      throw new VmproError('VMPRO_STORE_UNAVAILABLE', 'The session store is not reachable.');
    });
    const res = await GET(new Request(`${ORIGIN}/api/x`, { headers: { accept: 'application/json' } }), {});
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toBe('VMPRO_STORE_UNAVAILABLE');
  });

  it("lets Next's own control-flow errors (redirect, notFound) through", async () => {
    const vmpro = fresh();
    const signal = Object.assign(new Error('NEXT_REDIRECT'), { digest: 'NEXT_REDIRECT;replace;/x;307;' });
    const GET = vmpro.route(async () => {
      throw signal;
    });
    expect(await caught(GET(new Request(`${ORIGIN}/api/x`), {}))).toBe(signal);
  });
});

describe('parseSetCookie', () => {
  it('reads back every attribute vmpro-connect writes', () => {
    const set = serializeSetCookie('vmpro', 'abc.def', {
      httpOnly: true,
      secure: true,
      sameSite: 'Lax',
      path: '/',
      maxAge: 0,
    });
    expect(parseSetCookie(set)).toEqual({
      name: 'vmpro',
      value: 'abc.def',
      path: '/',
      httpOnly: true,
      secure: true,
      sameSite: 'lax',
      maxAge: 0,
      expires: new Date(0),
    });
  });
});
