/**
 * The emulator as a whole: one origin for the login server and the API, the home page, and the
 * control endpoints that tests in other processes use.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createEmulator,
  DEMO_USERS,
  EmulatorConnectionReset,
  type RunningEmulator,
  startEmulator,
} from './index.js';

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startEmulator({ port: 0 });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => {
  emulator.reset();
});

async function passwordLogin(username = 'demo', password = 'demo'): Promise<{ access_token: string }> {
  const res = await fetch(`${emulator.issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: 'anonymous',
      scope: 'openid',
      username,
      password,
    }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { access_token: string };
}

function control(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const { json, ...rest } = init;
  return fetch(`${emulator.url}/_emulator${path}`, {
    ...rest,
    ...(json !== undefined
      ? { body: JSON.stringify(json), headers: { 'content-type': 'application/json' } }
      : {}),
  });
}

describe('one origin for both halves', () => {
  it('listens on 127.0.0.1 and names the issuer and API base', () => {
    expect(emulator.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(emulator.issuer).toBe(`${emulator.url}/auth/realms/platform`);
    expect(emulator.apiBase).toBe(emulator.url);
  });

  it('serves GET /v1/vms with an access token from its own token endpoint', async () => {
    const { access_token } = await passwordLogin();
    const res = await fetch(`${emulator.apiBase}/v1/vms`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    expect(res.status).toBe(200);
    expect(Array.isArray(await res.json())).toBe(true);
  });

  it('answers GET /v1/vms without a token with 401 and a Bearer challenge', async () => {
    const res = await fetch(`${emulator.apiBase}/v1/vms`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
  });

  it('answers GET /v1/vms with an expired token with 401 error="invalid_token"', async () => {
    const { access_token } = await passwordLogin();
    emulator.advanceClock(301);
    const res = await fetch(`${emulator.apiBase}/v1/vms`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('refuses an access token after its session was logged out', async () => {
    const { access_token } = await passwordLogin();
    await emulator.logoutUser('demo');
    const res = await fetch(`${emulator.apiBase}/v1/vms`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    expect(res.status).toBe(401);
  });

  it('serves WebFinger from the API half, pointing at its own issuer', async () => {
    const resource = `${emulator.apiBase}/v1/`;
    const res = await fetch(
      `${emulator.apiBase}/.well-known/webfinger?resource=${encodeURIComponent(resource)}`,
    );
    expect(res.status).toBe(200);
    const jrd = (await res.json()) as { links: Array<{ rel: string; href: string }> };
    const link = jrd.links.find((l) => l.rel === 'http://openid.net/specs/connect/1.0/issuer');
    expect(link?.href.startsWith(emulator.issuer)).toBe(true);
  });

  it('has a home page naming the issuer, the API base and the demo users', async () => {
    const res = await fetch(`${emulator.url}/`);
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain(emulator.issuer);
    expect(page).toContain(emulator.apiBase);
    for (const user of DEMO_USERS) expect(page).toContain(user.username);
    expect(page).toContain('development and tests only');
  });

  it('answers 404 JSON for paths no half knows', async () => {
    const res = await fetch(`${emulator.url}/nothing/here`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'not_found' });
  });

  it('drops the connection for an API reset fault', async () => {
    emulator.api.addFault({ path: '/v1/vms', kind: 'reset', times: 1 });
    await expect(fetch(`${emulator.apiBase}/v1/vms`)).rejects.toThrow();
  });
});

describe('control endpoints', () => {
  it('GET counters merges login and API counters', async () => {
    await passwordLogin();
    await fetch(`${emulator.apiBase}/v1/vms`);
    const res = await control('/counters');
    expect(res.status).toBe(200);
    const counters = (await res.json()) as {
      login: { tokenRequests: { password: number } };
      api: { unauthorized: number };
    };
    expect(counters.login.tokenRequests.password).toBe(1);
    expect(counters.api.unauthorized).toBe(1);
  });

  it('POST faults/token queues a token fault; DELETE faults clears it', async () => {
    const added = await control('/faults/token', {
      method: 'POST',
      json: { kind: 'status', status: 503, retryAfter: 3 },
    });
    expect(added.status).toBe(201);
    const tokenUrl = `${emulator.issuer}/protocol/openid-connect/token`;
    const form = { grant_type: 'password', client_id: 'anonymous', username: 'demo', password: 'demo' };
    const faulted = await fetch(tokenUrl, { method: 'POST', body: new URLSearchParams(form) });
    expect(faulted.status).toBe(503);
    expect(faulted.headers.get('retry-after')).toBe('3');
    expect((await control('/faults', { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(tokenUrl, { method: 'POST', body: new URLSearchParams(form) })).status).toBe(200);
  });

  it('POST faults/token refuses a malformed fault with 400', async () => {
    const res = await control('/faults/token', { method: 'POST', json: { kind: 'explode' } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toContain('kind');
  });

  it('POST clock moves the emulator clock forward', async () => {
    const { access_token } = await passwordLogin();
    const res = await control('/clock', { method: 'POST', json: { advanceSeconds: 301 } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ offsetSeconds: 301 });
    expect(await emulator.verifyAccessToken(access_token)).toBeNull();
  });

  it('sends its own clock in the Date header, so a clock moved forward shows (like a drifting server)', async () => {
    const dateOf = async (url: string) => Date.parse((await fetch(url)).headers.get('date') ?? '');
    const discovery = `${emulator.issuer}/.well-known/openid-configuration`;
    const webfinger = `${emulator.apiBase}/.well-known/webfinger?resource=${encodeURIComponent(`${emulator.apiBase}/v1/`)}`;
    // The Date header has whole seconds.
    expect(Math.abs((await dateOf(discovery)) - Date.now())).toBeLessThan(2000);
    await control('/clock', { method: 'POST', json: { advanceSeconds: 45 } });
    for (const url of [discovery, webfinger, `${emulator.apiBase}/v1/vms`, `${emulator.url}/`]) {
      expect(Math.abs((await dateOf(url)) - Date.now() - 45_000)).toBeLessThan(2000);
    }
  });

  it('POST keys/rotate adds a signing key', async () => {
    const certs = `${emulator.issuer}/protocol/openid-connect/certs`;
    const before = ((await (await fetch(certs)).json()) as { keys: unknown[] }).keys.length;
    expect((await control('/keys/rotate', { method: 'POST' })).status).toBe(204);
    const after = ((await (await fetch(certs)).json()) as { keys: unknown[] }).keys.length;
    expect(after).toBe(before + 1);
  });

  it('POST users/{username}/logout ends the user’s sessions', async () => {
    const { access_token } = await passwordLogin();
    const res = await control('/users/demo/logout', { method: 'POST' });
    expect(await res.json()).toEqual({ sessionsEnded: 1 });
    expect(await emulator.verifyAccessToken(access_token)).toBeNull();
  });

  it('POST clients registers a client that can then sign in', async () => {
    const client = { clientId: 'added', clientSecret: 's3cret', redirectUris: ['http://127.0.0.1:9999/cb'] };
    expect((await control('/clients', { method: 'POST', json: client })).status).toBe(201);
    const auth = new URL(`${emulator.issuer}/protocol/openid-connect/auth`);
    auth.search = new URLSearchParams({
      client_id: 'added',
      redirect_uri: 'http://127.0.0.1:9999/cb',
      response_type: 'code',
      scope: 'openid',
    }).toString();
    expect((await fetch(auth, { redirect: 'manual' })).status).toBe(200);
  });

  it('POST clients refuses a confidential client without a secret', async () => {
    const res = await control('/clients', { method: 'POST', json: { clientId: 'x', redirectUris: [] } });
    expect(res.status).toBe(400);
  });

  it('POST reset forgets sessions, added clients and counters', async () => {
    const { access_token } = await passwordLogin();
    emulator.addClient({ clientId: 'temp', publicClient: true, redirectUris: [] });
    expect((await control('/reset', { method: 'POST' })).status).toBe(204);
    expect(await emulator.verifyAccessToken(access_token)).toBeNull();
    expect(emulator.counters().login.tokenRequests.password).toBe(0);
    const tokenRes = await fetch(`${emulator.issuer}/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'password',
        client_id: 'temp',
        username: 'demo',
        password: 'demo',
      }),
    });
    expect(tokenRes.status).toBe(401);
  });

  it('leaves /_emulator/api/** to the API', async () => {
    const res = await control('/api/counters');
    expect(res.status).toBe(200);
    expect(await res.json()).toHaveProperty('unauthorized');
  });

  it('refuses cross-site browser requests', async () => {
    const res = await fetch(`${emulator.url}/_emulator/reset`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(res.status).toBe(403);
  });

  it('answers 405 for the wrong method', async () => {
    expect((await control('/reset')).status).toBe(405);
  });
});

describe('createEmulator without a socket', () => {
  it('dates each answer by its clock', async () => {
    const inProcess = await createEmulator({ now: () => Date.UTC(2030, 0, 1, 12, 0, 0) });
    inProcess.advanceClock(45);
    const res = await inProcess.handle(new Request('http://localhost/auth/realms/platform'));
    expect(res.headers.get('date')).toBe('Tue, 01 Jan 2030 12:00:45 GMT');
  });

  it('answers requests through handle() with the configured origin', async () => {
    const inProcess = await createEmulator({ origin: () => 'http://emulator.test' });
    const res = await inProcess.handle(
      new Request('http://emulator.test/auth/realms/platform/.well-known/openid-configuration'),
    );
    expect(((await res.json()) as { issuer: string }).issuer).toBe(
      'http://emulator.test/auth/realms/platform',
    );
  });

  it('throws EmulatorConnectionReset from handle() for a reset fault', async () => {
    const inProcess = await createEmulator({ origin: () => 'http://emulator.test' });
    inProcess.addTokenFault({ kind: 'reset' });
    const request = new Request('http://emulator.test/auth/realms/platform/protocol/openid-connect/token', {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'password',
        client_id: 'anonymous',
        username: 'demo',
        password: 'demo',
      }),
    });
    await expect(inProcess.handle(request)).rejects.toBeInstanceOf(EmulatorConnectionReset);
  });

  it('uses the injected clock', async () => {
    let t = Date.UTC(2030, 0, 1);
    const inProcess = await createEmulator({ origin: () => 'http://emulator.test', now: () => t });
    const res = await inProcess.handle(
      new Request('http://emulator.test/auth/realms/platform/protocol/openid-connect/token', {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'password',
          client_id: 'anonymous',
          username: 'demo',
          password: 'demo',
        }),
      }),
    );
    const { access_token } = (await res.json()) as { access_token: string };
    const principal = await inProcess.verifyAccessToken(access_token);
    expect(principal?.exp).toBe(Date.UTC(2030, 0, 1) / 1000 + 300);
    t += 300_000;
    expect(await inProcess.verifyAccessToken(access_token)).toBeNull();
  });
});
