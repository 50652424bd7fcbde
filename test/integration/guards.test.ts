/**
 * Role and claim guards (`requireLogin(rule)`) on every adapter: a signed-in user with the role
 * goes on, one without it gets a clear 403 (a page for browsers, JSON for API calls), nobody
 * signed in gets the usual redirect or 401. Real sockets, the emulator's real tokens (Keycloak
 * puts realm and client roles in the access token).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vmproExpress } from '../../src/adapters/express.js';
import { vmproFastify } from '../../src/adapters/fastify.js';
import { vmproWeb } from '../../src/adapters/web.js';
import { DEMO_USERS, type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import type { AccessRule, VmproAuth, VmproContext } from '../../src/http/index.js';
import { authFor } from '../support/apps.js';
import { signIn, TestBrowser } from '../support/browser.js';

const DEMO = DEMO_USERS[0];

/** The routes every adapter's app serves, each behind `requireLogin(rule)`. */
const ROUTES: Record<string, AccessRule | undefined> = {
  '/signed-in': undefined,
  '/realm-role': { role: 'offline_access' },
  '/client-role': { role: { client: 'account', role: 'view-profile' } },
  '/any-role': { role: ['portal-admin', 'uma_authorization'] },
  '/admin': { role: 'portal-admin' },
  '/claims': { claims: { email: DEMO?.email ?? '', preferred_username: 'demo' } },
  '/wrong-claims': { claims: { email: 'someone.else@example.com' } },
  '/predicate': { claims: (user) => typeof user.email === 'string' && user.email.endsWith('@example.com') },
  '/predicate-no': { claims: () => false, message: 'Only the night shift may see this.' },
};

type Kind = 'express' | 'fastify' | 'web' | 'hono';
interface GuardedApp {
  origin: string;
  auth: VmproAuth;
  close(): Promise<void>;
}

async function start(kind: Kind, emulator: RunningEmulator): Promise<GuardedApp> {
  let listener: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server: Server = createServer((req, res) => listener(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const auth = authFor(emulator, origin, { instance: `guards-${kind}` });
  let closeApp = async () => {};
  const body = async (vmpro: VmproContext) => ({ ok: true, sub: (await vmpro.user())?.sub });

  if (kind === 'express') {
    const vmpro = vmproExpress(auth);
    const app = express();
    app.use(vmpro.router());
    for (const [path, rule] of Object.entries(ROUTES)) {
      app.get(path, vmpro.requireLogin(rule), async (req, res) => {
        res.json(await body(req.vmpro));
      });
    }
    app.use(vmpro.errorHandler());
    listener = app;
  } else if (kind === 'fastify') {
    const vmpro = vmproFastify(auth);
    const app = Fastify();
    await app.register(vmpro.plugin);
    for (const [path, rule] of Object.entries(ROUTES)) {
      app.get(path, { preHandler: vmpro.requireLogin(rule) }, async (request) => body(request.vmpro));
    }
    await app.ready();
    listener = (req, res) => app.routing(req, res);
    closeApp = () => app.close();
  } else if (kind === 'web') {
    const vmpro = vmproWeb(auth);
    const handlers = new Map(
      Object.entries(ROUTES).map(([path, rule]) => [
        path,
        vmpro.requireLogin(async (_request, ctx) => Response.json(await body(ctx)), rule),
      ]),
    );
    listener = getRequestListener(async (request) => {
      const own = await vmpro.handle(request);
      if (own) return own;
      const handler = handlers.get(new URL(request.url).pathname);
      return handler ? handler(request) : new Response('not found', { status: 404 });
    });
  } else {
    const vmpro = vmproWeb(auth);
    const app = new Hono<{ Variables: { vmpro: VmproContext } }>();
    app.use(vmpro.hono());
    for (const [path, rule] of Object.entries(ROUTES)) {
      app.get(path, vmpro.honoRequireLogin(rule), async (c) => c.json(await body(c.get('vmpro'))));
    }
    listener = getRequestListener((request) => app.fetch(request));
  }

  return {
    origin,
    auth,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await closeApp();
      await auth.close();
    },
  };
}

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startEmulator({ port: 0 });
});
afterAll(async () => {
  await emulator?.close();
});

const json = { accept: 'application/json' };

describe.each<Kind>(['express', 'fastify', 'web', 'hono'])('requireLogin(rule) on %s', (kind) => {
  let app: GuardedApp;
  const browser = new TestBrowser();
  beforeAll(async () => {
    app = await start(kind, emulator);
    await signIn(browser, app.origin, undefined, '/signed-in');
  });
  afterAll(async () => {
    await app?.close();
  });

  const get = (path: string, headers: Record<string, string> = json) =>
    browser.request(`${app.origin}${path}`, { headers });

  it('lets a user with the realm role through (the role is in the access token)', async () => {
    const r = await get('/realm-role');
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ ok: true, sub: DEMO?.sub });
  });

  it("lets a user with another client's role through ({ client, role })", async () => {
    expect((await get('/client-role')).status).toBe(200);
  });

  it('lets a user with any one of the listed roles through', async () => {
    expect((await get('/any-role')).status).toBe(200);
  });

  it('lets a user with matching claims, or a predicate that agrees, through', async () => {
    expect((await get('/claims')).status).toBe(200);
    expect((await get('/predicate')).status).toBe(200);
  });

  it('answers an API call without the role with 403 JSON naming what is missing', async () => {
    const r = await get('/admin');
    expect(r.status).toBe(403);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const answer = (await r.json()) as { error: string; message: string };
    expect(answer.error).toBe('VMPRO_FORBIDDEN');
    expect(answer.message).toContain('the role portal-admin');
    expect(answer.message).toContain('Ask an administrator');
  });

  it('answers a page without the role with a 403 page and a way to sign out', async () => {
    const r = await get('/admin', { accept: 'text/html' });
    expect(r.status).toBe(403);
    const html = await r.text();
    expect(html).toContain('You do not have access to this page');
    expect(html).toContain('VMPRO_FORBIDDEN');
    expect(html).toContain('<form method="post" action="/auth/logout">');
  });

  it('refuses claims that do not match, and a predicate that says no, with the rule’s own message', async () => {
    const wrong = await get('/wrong-claims');
    expect(wrong.status).toBe(403);
    expect(((await wrong.json()) as { message: string }).message).toContain('the claim email');
    const no = await get('/predicate-no');
    expect(no.status).toBe(403);
    expect(await no.json()).toEqual({
      error: 'VMPRO_FORBIDDEN',
      message: 'Only the night shift may see this.',
    });
  });

  it('sends someone not signed in to log in (pages) or answers 401 (API calls), as without a rule', async () => {
    const api = await fetch(`${app.origin}/admin`, { headers: json });
    expect(api.status).toBe(401);
    const page = await fetch(`${app.origin}/admin`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/auth/login?returnTo=%2Fadmin');
  });
});

describe('guards made from bad rules', () => {
  it('fail when they are made (at start-up), with a typed error naming the field', async () => {
    const auth = authFor(emulator, 'http://127.0.0.1:9', { instance: 'guards-bad-rules' });
    try {
      expect(() => auth.guard({ role: '' })).toThrow(
        expect.objectContaining({ code: 'VMPRO_CONFIG_INVALID', field: 'role' }),
      );
      expect(() => auth.guard({ role: [] })).toThrow(expect.objectContaining({ field: 'role' }));
      expect(() => auth.guard({ claims: 'admin' as never })).toThrow(
        expect.objectContaining({ field: 'claims' }),
      );
      expect(() => vmproExpress(auth).requireLogin({ role: { client: '', role: 'x' } })).toThrow(
        expect.objectContaining({ code: 'VMPRO_CONFIG_INVALID' }),
      );
    } finally {
      await auth.close();
    }
  });
});

describe('errorPage on a guard’s 403', () => {
  it('renders the 403 page for browsers with the app’s page', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const listening = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const auth = authFor(emulator, listening, {
      instance: 'guards-error-page',
      errorPage: (error) => `<h1>Acme ${error.status}</h1><p>${error.messageHtml}</p>`,
    });
    const vmpro = vmproWeb(auth);
    const admin = vmpro.requireLogin(async () => new Response('secret'), { role: 'portal-admin' });
    server.on(
      'request',
      getRequestListener(async (request) => (await vmpro.handle(request)) ?? admin(request)),
    );
    try {
      const browser = new TestBrowser();
      await signIn(browser, listening, undefined, '/x');
      const r = await browser.request(`${listening}/x`, { headers: { accept: 'text/html' } });
      expect(r.status).toBe(403);
      expect(await r.text()).toMatch(
        /^<h1>Acme 403<\/h1><p>You are signed in, but this page needs the role portal-admin/,
      );
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await auth.close();
    }
  });
});
