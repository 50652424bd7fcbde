/**
 * The NestJS module on Nest 11 (Express platform) against the emulator: the auth routes served
 * by its middleware, the guard per route and global, the parameter decorators, the exception
 * filter, forRootAsync, and a global prefix. Decorators are applied as functions here (the
 * repository compiles without `experimentalDecorators`); the real app with decorator syntax is
 * test/frameworks/nestjs.test.ts.
 */
import { Controller, Get, type INestApplication, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  VmproAccess,
  VmproApi,
  VmproGuard,
  VmproModule,
  type VmproModuleOptions,
  VmproPublic,
  VmproUser,
} from '../../src/adapters/nestjs.js';
import type { VmproApiClient } from '../../src/api/index.js';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { silentLogger } from '../../src/logger.js';
import type { SessionUser } from '../../src/session/index.js';
import { freePort } from '../frameworks/harness.js';
import { signIn, TestBrowser } from '../support/browser.js';

const SECRET = 'nestjs-adapter-test-secret-0123456789';

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startEmulator({ port: 0 });
});
afterAll(async () => {
  await emulator?.close();
});

function decorate(target: object, method: string, ...decorators: MethodDecorator[]): void {
  const proto = (target as { prototype: object }).prototype;
  for (const d of decorators)
    d(proto, method, Object.getOwnPropertyDescriptor(proto, method) as PropertyDescriptor);
}

/** The controller an app would write: `/videos` behind the guard, `/missing-video` (an API 404), `/open`. */
function videosController(perRouteGuard: boolean) {
  class VideosController {
    async videos(user: SessionUser, api: VmproApiClient) {
      const vms = await api.vms.list();
      return { name: user.name, vms: vms.map((v) => v.name) };
    }
    async missing(api: VmproApiClient) {
      const [vm] = await api.vms.list();
      return api.videos.get(vm?.id ?? 0, 'no-such-video');
    }
    open() {
      return { open: true };
    }
    admin() {
      return { admin: true };
    }
    mine() {
      return { mine: true };
    }
  }
  Controller()(VideosController);
  const guard = perRouteGuard ? [UseGuards(VmproGuard)] : [];
  decorate(VideosController, 'videos', Get('videos'), ...guard);
  VmproUser()(VideosController.prototype, 'videos', 0);
  VmproApi()(VideosController.prototype, 'videos', 1);
  decorate(VideosController, 'missing', Get('missing-video'), ...guard);
  VmproApi()(VideosController.prototype, 'missing', 0);
  decorate(VideosController, 'open', Get('open'), VmproPublic());
  decorate(VideosController, 'admin', Get('admin'), ...guard, VmproAccess({ role: 'portal-admin' }));
  decorate(
    VideosController,
    'mine',
    Get('mine'),
    ...guard,
    VmproAccess({ claims: { email: 'dana.demo@example.com' } }),
  );
  return VideosController;
}

interface NestApp {
  origin: string;
  /** Where the auth routes are: the origin, plus the global prefix if any. */
  base: string;
  close(): Promise<void>;
}

function authOptions(origin: string, clientId: string, prefix = ''): VmproModuleOptions {
  emulator.addClient({
    clientId,
    clientSecret: `${clientId}-secret`,
    redirectUris: [`${origin}${prefix}/auth/callback`],
    postLogoutRedirectUris: [`${origin}/`],
  });
  return {
    clientId,
    clientSecret: `${clientId}-secret`,
    apiBase: emulator.apiBase,
    redirectUri: `${origin}${prefix}/auth/callback`,
    ...(prefix && {
      routes: {
        login: `${prefix}/auth/login`,
        logout: `${prefix}/auth/logout`,
        backchannelLogout: `${prefix}/auth/backchannel-logout`,
      },
    }),
    session: { secrets: SECRET },
    logger: silentLogger,
  };
}

async function start(
  root: (origin: string) => new (...args: never[]) => unknown,
  prefix = '',
): Promise<NestApp> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const app: INestApplication = await NestFactory.create(root(origin), { logger: false });
  if (prefix) app.setGlobalPrefix(prefix.slice(1));
  await app.listen(port, '127.0.0.1');
  return { origin, base: origin + prefix, close: () => app.close() };
}

describe('VmproModule.forRoot with the guard per route', () => {
  let app: NestApp;
  beforeAll(async () => {
    app = await start((origin) => {
      class AppModule {}
      Module({
        imports: [VmproModule.forRoot(authOptions(origin, 'nest-per-route'))],
        controllers: [videosController(true)],
      })(AppModule);
      return AppModule;
    });
  });
  afterAll(() => app?.close());

  it('serves /auth/login from its middleware: a redirect to the login server', async () => {
    const r = await fetch(`${app.origin}/auth/login`, { redirect: 'manual' });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')?.startsWith(`${emulator.issuer}/protocol/openid-connect/auth?`)).toBe(
      true,
    );
  });

  it('sends a page request to a guarded route without a session to login, keeping the path', async () => {
    const r = await new TestBrowser().request(`${app.origin}/videos?page=2`);
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/auth/login?returnTo=%2Fvideos%3Fpage%3D2');
  });

  it('answers an API call to a guarded route without a session with 401 JSON', async () => {
    const r = await fetch(`${app.origin}/videos`, { headers: { accept: 'application/json' } });
    expect(r.status).toBe(401);
    expect(await r.json()).toMatchObject({ error: 'VMPRO_NOT_AUTHENTICATED' });
  });

  it('signs in and gives the controller the user and the API client through the decorators', async () => {
    const browser = new TestBrowser();
    const { finalUrl, response } = await signIn(browser, app.origin, undefined, '/videos');
    expect(finalUrl).toBe(`${app.origin}/videos`);
    expect(await response?.json()).toEqual({ name: 'Dana Demo', vms: ['Demo Marketing', 'Demo Training'] });
  });

  it("passes the API's own 404 through the exception filter as a 404, not a 500", async () => {
    const browser = new TestBrowser();
    await signIn(browser, app.origin, undefined, '/open');
    const r = await browser.request(`${app.origin}/missing-video`, {
      headers: { accept: 'application/json' },
    });
    expect(r.status).toBe(404);
    expect(await r.json()).toMatchObject({ error: 'VMPRO_API_ERROR' });
  });

  it("leaves Nest's own exceptions to Nest (an unknown route is Nest's 404)", async () => {
    const r = await fetch(`${app.origin}/nowhere`, { headers: { accept: 'application/json' } });
    expect(r.status).toBe(404);
    expect(await r.json()).toMatchObject({ statusCode: 404, message: 'Cannot GET /nowhere' });
  });

  it('answers 403 to a signed-in user without the role @VmproAccess() requires, and lets a matching claim through', async () => {
    const browser = new TestBrowser();
    await signIn(browser, app.origin, undefined, '/open');
    const admin = await browser.request(`${app.origin}/admin`, { headers: { accept: 'application/json' } });
    expect(admin.status).toBe(403);
    expect(await admin.json()).toMatchObject({ error: 'VMPRO_FORBIDDEN' });
    const mine = await browser.request(`${app.origin}/mine`, { headers: { accept: 'application/json' } });
    expect(await mine.json()).toEqual({ mine: true });
  });

  it('leaves unguarded routes open', async () => {
    const r = await fetch(`${app.origin}/open`);
    expect(await r.json()).toEqual({ open: true });
  });
});

describe('VmproModule with globalGuard: true', () => {
  let app: NestApp;
  beforeAll(async () => {
    app = await start((origin) => {
      class AppModule {}
      Module({
        imports: [VmproModule.forRoot({ ...authOptions(origin, 'nest-global'), globalGuard: true })],
        controllers: [videosController(false)],
      })(AppModule);
      return AppModule;
    });
  });
  afterAll(() => app?.close());

  it('protects a route that has no @UseGuards', async () => {
    const r = await fetch(`${app.origin}/videos`, { headers: { accept: 'application/json' } });
    expect(r.status).toBe(401);
  });

  it('leaves a route marked @VmproPublic() open', async () => {
    const r = await fetch(`${app.origin}/open`, { headers: { accept: 'application/json' } });
    expect(r.status).toBe(200);
  });

  it('still serves the auth routes', async () => {
    const r = await fetch(`${app.origin}/auth/login`, { redirect: 'manual' });
    expect(r.status).toBe(303);
  });
});

describe('VmproModule.forRootAsync with injected configuration and a global prefix', () => {
  let app: NestApp;
  beforeAll(async () => {
    app = await start((origin) => {
      const SETTINGS = Symbol('settings');
      class SettingsModule {}
      Module({
        providers: [{ provide: SETTINGS, useValue: authOptions(origin, 'nest-async', '/portal') }],
        exports: [SETTINGS],
      })(SettingsModule);
      class AppModule {}
      Module({
        imports: [
          VmproModule.forRootAsync({
            imports: [SettingsModule],
            inject: [SETTINGS],
            useFactory: async (settings: VmproModuleOptions) => settings,
          }),
        ],
        controllers: [videosController(true)],
      })(AppModule);
      return AppModule;
    }, '/portal');
  });
  afterAll(() => app?.close());

  it('serves the auth routes under the prefix and redirects guarded pages there', async () => {
    const login = await fetch(`${app.base}/auth/login`, { redirect: 'manual' });
    expect(login.status).toBe(303);
    const page = await new TestBrowser().request(`${app.base}/videos`);
    expect(page.headers.get('location')).toBe('/portal/auth/login?returnTo=%2Fportal%2Fvideos');
  });

  it('signs in through the prefixed callback', async () => {
    const { finalUrl, response } = await signIn(new TestBrowser(), app.base, undefined, '/portal/videos');
    expect(finalUrl).toBe(`${app.base}/videos`);
    expect(await response?.json()).toMatchObject({ name: 'Dana Demo' });
  });
});

describe('VmproModule.forRootAsync, misused', () => {
  it('refuses a missing factory with a clear error', () => {
    expect(() => VmproModule.forRootAsync({} as never)).toThrow(/useFactory/);
  });
});
