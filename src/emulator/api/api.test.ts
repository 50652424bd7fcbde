import { describe, expect, it } from 'vitest';
import { pathMatches } from './faults.js';
import {
  type ApiPrincipal,
  createVmproApi,
  DEMO_USERS,
  EmulatorConnectionReset,
  type VmproApiOptions,
} from './index.js';
import { Router } from './router.js';

const ORIGIN = 'http://127.0.0.1:4010';
const ISSUER = `${ORIGIN}/auth/realms/platform`;
const [demo, novms] = DEMO_USERS;
type User = (typeof DEMO_USERS)[number];

/** An API over a test clock; the verifier accepts the tokens `mint` hands out (the contract's verifier). */
function setup(extra: Partial<VmproApiOptions> = {}) {
  let now = Date.UTC(2025, 5, 2, 12, 0, 0);
  const tokens = new Map<string, ApiPrincipal>();
  const api = createVmproApi({
    verifyAccessToken: async (token) => tokens.get(token) ?? null,
    origin: () => ORIGIN,
    issuer: () => ISSUER,
    now: () => now,
    ...extra,
  });
  const mint = (user: User, ttlSeconds = 300) => {
    const token = `token-${user.username}-${tokens.size + 1}`;
    tokens.set(token, {
      sub: user.sub,
      preferred_username: user.username,
      exp: Math.floor(now / 1000) + ttlSeconds,
    });
    return token;
  };
  const call = async (
    method: string,
    path: string,
    init: {
      token?: string;
      json?: unknown;
      body?: string;
      headers?: Record<string, string>;
      signal?: AbortSignal;
    } = {},
  ) => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token) headers['authorization'] = `Bearer ${init.token}`;
    if (init.json !== undefined) headers['content-type'] ??= 'application/json';
    const body = init.json === undefined ? undefined : JSON.stringify(init.json);
    const response = await api.handle(
      new Request(`${ORIGIN}${path}`, {
        method,
        headers,
        ...(body !== undefined && { body }),
        ...(init.signal && { signal: init.signal }),
      }),
    );
    if (!response) throw new Error(`handle() returned null for ${path}`);
    return response;
  };
  return {
    api,
    mint,
    call,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

describe('WebFinger discovery', () => {
  const path = `/.well-known/webfinger?resource=${encodeURIComponent(`${ORIGIN}/v1/`)}`;

  it('answers the JRD in movingimage form: realm, auth-server-url and the full openid-configuration URL', async () => {
    const { call } = setup();
    const response = await call('GET', path);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      subject: `${ORIGIN}/v1/`,
      properties: {
        [`${ORIGIN}/v1/keycloak/realm`]: 'platform',
        [`${ORIGIN}/v1/keycloak/auth-server-url`]: `${ORIGIN}/auth/`,
      },
      links: [
        {
          rel: 'http://openid.net/specs/connect/1.0/issuer',
          href: `${ISSUER}/.well-known/openid-configuration`,
        },
      ],
    });
  });

  it('is served as application/jrd+json with max-age and an Expires date on the emulator clock', async () => {
    const { call, now } = setup();
    const response = await call('GET', path);
    expect(response.headers.get('content-type')).toBe('application/jrd+json');
    expect(response.headers.get('cache-control')).toBe('max-age=3600');
    expect(response.headers.get('expires')).toBe(new Date(now() + 3_600_000).toUTCString());
  });

  it('needs no access token', async () => {
    const { call, api } = setup();
    await call('GET', path);
    expect(api.counters().unauthorized).toBe(0);
  });

  it('answers 404 for a resource it does not describe', async () => {
    const { call } = setup();
    const response = await call(
      'GET',
      `/.well-known/webfinger?resource=${encodeURIComponent('acct:someone@example.com')}`,
    );
    expect(response.status).toBe(404);
    expect(await response.json()).toHaveProperty('message');
  });

  it('answers 400 when the resource parameter is missing or repeated', async () => {
    const { call } = setup();
    expect((await call('GET', '/.well-known/webfinger')).status).toBe(400);
    const twice = `${path}&resource=${encodeURIComponent(`${ORIGIN}/v1/`)}`;
    expect((await call('GET', twice)).status).toBe(400);
  });

  it('also describes the origin the request reached (localhost instead of 127.0.0.1)', async () => {
    const { api } = setup();
    const local = 'http://localhost:4010';
    const url = `${local}/.well-known/webfinger?resource=${encodeURIComponent(`${local}/v1/`)}`;
    const body = await (await api.handle(new Request(url)))?.json();
    expect(body.subject).toBe(`${local}/v1/`);
    expect(body.properties).toHaveProperty([`${local}/v1/keycloak/realm`], 'platform');
  });

  it('narrows the links to the requested rel', async () => {
    const { call } = setup();
    const body = await (
      await call('GET', `${path}&rel=${encodeURIComponent('http://example.com/other')}`)
    ).json();
    expect(body.links).toEqual([]);
  });
});

describe('the bearer check on /v1/**', () => {
  it('answers 401 with a bare Bearer challenge and a JSON message when no token is sent', async () => {
    const { call, api } = setup();
    const response = await call('GET', '/v1/vms');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="platform"');
    expect((await response.json()).message).toMatch(/Authorization: Bearer/);
    expect(api.counters().unauthorized).toBe(1);
  });

  it('treats another scheme like no token', async () => {
    const { call } = setup();
    const response = await call('GET', '/v1/vms', { headers: { authorization: 'Basic ZGVtbzpkZW1v' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="platform"');
  });

  it('accepts the scheme in any case', async () => {
    const { call, mint } = setup();
    const response = await call('GET', '/v1/vms', { headers: { authorization: `bEaReR ${mint(demo)}` } });
    expect(response.status).toBe(200);
  });

  it('answers 401 invalid_token for a token the login server did not issue, without echoing it', async () => {
    const { call, api } = setup();
    const response = await call('GET', '/v1/vms', { token: 'forged-token-value' });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="platform", error="invalid_token", error_description="[^"]+"$/,
    );
    const text = await response.text();
    expect(text).not.toContain('forged-token-value');
    expect(JSON.parse(text)).toHaveProperty('message');
    expect(api.counters().unauthorized).toBe(1);
  });

  it('answers 401 invalid_token once the token has expired by the emulator clock', async () => {
    const { call, mint, advance } = setup();
    const token = mint(demo, 300);
    expect((await call('GET', '/v1/vms', { token })).status).toBe(200);
    advance(300_000);
    const response = await call('GET', '/v1/vms', { token });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(response.headers.get('www-authenticate')).toContain('expired');
  });

  it('answers 401 when the verifier throws', async () => {
    const { call } = setup({
      verifyAccessToken: async () => {
        throw new Error('boom');
      },
    });
    expect((await call('GET', '/v1/vms', { token: 'anything' })).status).toBe(401);
  });

  it('refuses a token in the query string even when it is valid', async () => {
    const { call, mint } = setup();
    const response = await call('GET', `/v1/vms?access_token=${mint(demo)}`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_request"');
  });

  it('checks the token before telling whether a path exists', async () => {
    const { call } = setup();
    expect((await call('GET', '/v1/nothing-here')).status).toBe(401);
  });
});

describe('GET /v1/vms', () => {
  it('lists the two demo VideoManagers with id, name and uuid', async () => {
    const { call, mint } = setup();
    const response = await call('GET', '/v1/vms', { token: mint(demo) });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const vms = await response.json();
    expect(vms).toEqual([
      { id: 1001, name: 'Demo Marketing', uuid: expect.stringMatching(/^[0-9a-f-]{36}$/) },
      { id: 1002, name: 'Demo Training', uuid: expect.stringMatching(/^[0-9a-f-]{36}$/) },
    ]);
  });

  it('gives the user without VideoManagers an empty list', async () => {
    const { call, mint } = setup();
    expect(await (await call('GET', '/v1/vms', { token: mint(novms) })).json()).toEqual([]);
  });

  it('takes the trailing slash PHP-CLIENT sends', async () => {
    const { call, mint } = setup();
    expect((await call('GET', '/v1/vms/', { token: mint(demo) })).status).toBe(200);
  });
});

describe('VideoManager access', () => {
  it('answers 403 with a message for a VideoManager the user cannot reach', async () => {
    const { call, mint } = setup();
    const response = await call('GET', '/v1/vms/1003/videos', { token: mint(demo) });
    expect(response.status).toBe(403);
    expect((await response.json()).message).toMatch(/no access to VideoManager 1003/);
  });

  it('answers 403 to the user without VideoManagers', async () => {
    const { call, mint } = setup();
    expect((await call('GET', '/v1/vms/1001/videos', { token: mint(novms) })).status).toBe(403);
  });

  it('answers 404 for a VideoManager that does not exist', async () => {
    const { call, mint } = setup();
    expect((await call('GET', '/v1/vms/9999/videos', { token: mint(demo) })).status).toBe(404);
  });

  it('answers 400 for a non-numeric VideoManager id', async () => {
    const { call, mint } = setup();
    const response = await call('GET', '/v1/vms/abc/videos', { token: mint(demo) });
    expect(response.status).toBe(400);
    expect((await response.json()).message).toMatch(/videoManagerId/);
  });

  it('answers 404 for an unknown path and 405 with Allow for a wrong method', async () => {
    const { call, mint } = setup();
    const token = mint(demo);
    expect((await call('GET', '/v1/vms/1001/nothing', { token })).status).toBe(404);
    const response = await call('PUT', '/v1/vms/1001/videos', { token });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, POST');
  });
});

describe('account endpoints', () => {
  it('lists players with string ids', async () => {
    const { call, mint } = setup();
    const players = await (await call('GET', '/v1/vms/1001/players', { token: mint(demo) })).json();
    expect(players[0]).toEqual({ id: expect.any(String), name: 'Default player', active: true });
  });

  it('lists metadata sets with the default one marked', async () => {
    const { call, mint } = setup();
    const sets = await (await call('GET', '/v1/vms/1001/metadata-sets', { token: mint(demo) })).json();
    expect(sets.map((set: { keyName: string }) => set.keyName)).toEqual(['en', 'en-AU', 'de']);
    expect(sets[0]).toMatchObject({ type: 'LOCALIZATION', isDefault: true });
  });

  it('lists the custom metadata fields of one entity type', async () => {
    const { call, mint } = setup();
    const fields = await (
      await call('GET', '/v1/vms/1001/custom-metadata-fields?entityType=VIDEO', { token: mint(demo) })
    ).json();
    expect(fields.map((field: { keyName: string }) => field.keyName)).toEqual([
      'department',
      'languages',
      'reviewDate',
      'internalNote',
      'legacyId',
    ]);
    expect(fields[0]).toMatchObject({
      type: 'SELECT',
      editable: true,
      options: expect.arrayContaining([{ id: expect.any(Number), name: 'Sales' }]),
    });
  });

  it('finds keywords of the VideoManager by part of their text', async () => {
    const { call, mint } = setup();
    const found = await (
      await call('GET', '/v1/vms/1001/keyword/find?searchstring=WEB', { token: mint(demo) })
    ).json();
    expect(found).toEqual([
      { id: expect.any(Number), text: 'webinar', type: 'VIDEO', createdAt: expect.any(Number) },
    ]);
  });
});

describe('legacy login (POST /v1/vms/auth/login)', () => {
  const login = (call: ReturnType<typeof setup>['call'], password = 'demo') =>
    call('POST', '/v1/vms/auth/login', { json: { username: 'demo', password } });

  it('returns tokens, the VideoManager list and the VideoManager the token is valid for', async () => {
    const { call } = setup();
    const response = await login(call);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
      videoManagerList: [
        { id: 1001, name: 'Demo Marketing' },
        { id: 1002, name: 'Demo Training' },
      ],
      validForVideoManager: '1001',
    });
  });

  it('answers 401 with a message for a wrong password', async () => {
    const { call } = setup();
    const response = await login(call, 'wrong');
    expect(response.status).toBe(401);
    expect(await response.json()).toHaveProperty('message');
  });

  it('issues tokens that work for their one VideoManager only', async () => {
    const { call } = setup();
    const { accessToken } = await (await login(call)).json();
    expect((await call('GET', '/v1/vms/1001/channels', { token: accessToken })).status).toBe(200);
    expect((await call('GET', '/v1/vms/1002/channels', { token: accessToken })).status).toBe(403);
  });

  it('re-scopes a token to another VideoManager with refresh/{vm}', async () => {
    const { call } = setup();
    const { refreshToken } = await (await login(call)).json();
    const response = await call('POST', '/v1/vms/auth/refresh/1002', { json: { refreshToken } });
    expect(response.status).toBe(200);
    const fresh = await response.json();
    expect(fresh).toEqual({ accessToken: expect.any(String), refreshToken: expect.any(String) });
    expect((await call('GET', '/v1/vms/1002/channels', { token: fresh.accessToken })).status).toBe(200);
  });

  it('lets legacy access tokens expire after 5 minutes', async () => {
    const { call, advance } = setup();
    const { accessToken } = await (await login(call)).json();
    advance(300_000);
    expect((await call('GET', '/v1/vms', { token: accessToken })).status).toBe(401);
  });

  it('refuses an unknown refresh token', async () => {
    const { call } = setup();
    expect((await call('POST', '/v1/vms/auth/refresh/1001', { json: { refreshToken: 'nope' } })).status).toBe(
      401,
    );
  });
});

describe('rate limit', () => {
  it('answers 429 with Retry-After and a message once a user exceeds the limit', async () => {
    const { call, mint, advance } = setup({ rateLimitPerMinute: 3 });
    const token = mint(demo, 3600);
    for (let i = 0; i < 3; i++) {
      expect((await call('GET', '/v1/vms', { token })).status).toBe(200);
      advance(10_000);
    }
    const response = await call('GET', '/v1/vms', { token });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('30');
    expect((await response.json()).message).toMatch(/3 per minute/);
  });

  it('counts each user separately', async () => {
    const { call, mint } = setup({ rateLimitPerMinute: 1 });
    expect((await call('GET', '/v1/vms', { token: mint(demo) })).status).toBe(200);
    expect((await call('GET', '/v1/vms', { token: mint(novms) })).status).toBe(200);
    expect((await call('GET', '/v1/vms', { token: mint(demo) })).status).toBe(429);
  });

  it('lets requests through again once the window has moved on', async () => {
    const { call, mint, advance } = setup({ rateLimitPerMinute: 1 });
    const token = mint(demo, 3600);
    await call('GET', '/v1/vms', { token });
    expect((await call('GET', '/v1/vms', { token })).status).toBe(429);
    advance(60_000);
    expect((await call('GET', '/v1/vms', { token })).status).toBe(200);
  });

  it('is off unless configured', async () => {
    const { call, mint } = setup();
    const token = mint(demo);
    for (let i = 0; i < 150; i++) expect((await call('GET', '/v1/vms', { token })).status).toBe(200);
  });

  it('rejects a limit that is not a positive whole number', () => {
    expect(() => setup({ rateLimitPerMinute: 0 })).toThrow(/rateLimitPerMinute/);
    expect(() => setup({ rateLimitPerMinute: 2.5 })).toThrow(/rateLimitPerMinute/);
  });
});

describe('faults', () => {
  it('answers a status fault with Retry-After the given number of times, then normally', async () => {
    const { api, call, mint } = setup();
    const token = mint(demo);
    api.addFault({ method: 'GET', path: '/v1/vms', kind: 'status', status: 503, retryAfter: 7, times: 1 });
    const faulted = await call('GET', '/v1/vms', { token });
    expect(faulted.status).toBe(503);
    expect(faulted.headers.get('retry-after')).toBe('7');
    expect(await faulted.json()).toHaveProperty('message');
    expect((await call('GET', '/v1/vms', { token })).status).toBe(200);
  });

  it('answers invalid_token with a 401 challenge even for a good token', async () => {
    const { api, call, mint } = setup();
    api.addFault({ path: '/v1/vms/*/videos', kind: 'invalid_token', times: 1 });
    const response = await call('GET', '/v1/vms/1001/videos', { token: mint(demo) });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('answers an HTML error page for an html fault', async () => {
    const { api, call, mint } = setup();
    api.addFault({ path: '/v1/**', kind: 'html', status: 502 });
    const response = await call('GET', '/v1/vms/1001/channels', { token: mint(demo) });
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await response.text()).toContain('<title>Error</title>');
  });

  it('answers normally after a delay fault', async () => {
    const { api, call, mint } = setup();
    api.addFault({ path: '/v1/vms', kind: 'delay', delayMs: 5 });
    expect((await call('GET', '/v1/vms', { token: mint(demo) })).status).toBe(200);
  });

  it('gives up a delay when the request is aborted', async () => {
    const { api, call, mint } = setup();
    api.addFault({ path: '/v1/vms', kind: 'delay', delayMs: 60_000 });
    const controller = new AbortController();
    const pending = call('GET', '/v1/vms', { token: mint(demo), signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('throws EmulatorConnectionReset for a reset fault', async () => {
    const { api, call } = setup();
    api.addFault({ path: '/.well-known/webfinger', kind: 'reset', times: 1 });
    await expect(call('GET', '/.well-known/webfinger')).rejects.toBeInstanceOf(EmulatorConnectionReset);
    expect((await call('GET', '/.well-known/webfinger')).status).toBe(400);
  });

  it('matches only the given method', async () => {
    const { api, call, mint } = setup();
    api.addFault({ method: 'post', path: '/v1/vms', kind: 'status', status: 500 });
    expect((await call('GET', '/v1/vms', { token: mint(demo) })).status).toBe(200);
  });

  it('stops after clearFaults', async () => {
    const { api, call, mint } = setup();
    api.addFault({ path: '/v1/vms', kind: 'status', status: 500 });
    api.clearFaults();
    expect((await call('GET', '/v1/vms', { token: mint(demo) })).status).toBe(200);
  });

  it('rejects a malformed fault with a TypeError naming the field', () => {
    const { api } = setup();
    expect(() => api.addFault({ path: 'v1', kind: 'status' })).toThrow(/fault.path/);
    expect(() => api.addFault({ path: '/v1', kind: 'explode' as 'status' })).toThrow(/fault.kind/);
    expect(() => api.addFault({ path: '/v1', kind: 'delay' })).toThrow(/delayMs/);
  });

  it('matches * to one path segment and ** to any number', () => {
    expect(pathMatches('/v1/vms/*/videos', '/v1/vms/1001/videos')).toBe(true);
    expect(pathMatches('/v1/vms/*/videos', '/v1/vms/1001/videos/abc')).toBe(false);
    expect(pathMatches('/v1/vms/*', '/v1/vms')).toBe(false);
    expect(pathMatches('/v1/**', '/v1')).toBe(true);
    expect(pathMatches('/v1/**/url', '/v1/vms/1001/videos/abc/url')).toBe(true);
    expect(pathMatches('/v1/vms', '/v1/vms/')).toBe(true);
  });
});

describe('control endpoints', () => {
  it('adds a fault with POST /_emulator/api/faults and removes all with DELETE', async () => {
    const { call, mint } = setup();
    const token = mint(demo);
    const added = await call('POST', '/_emulator/api/faults', {
      json: { path: '/v1/vms', kind: 'status', status: 503 },
    });
    expect(added.status).toBe(201);
    expect((await call('GET', '/v1/vms', { token })).status).toBe(503);
    expect((await call('DELETE', '/_emulator/api/faults')).status).toBe(204);
    expect((await call('GET', '/v1/vms', { token })).status).toBe(200);
  });

  it('refuses cross-site requests from browsers', async () => {
    const { call, api } = setup();
    const fromPage = await call('POST', '/_emulator/api/reset', {
      headers: { origin: 'https://evil.example' },
    });
    expect(fromPage.status).toBe(403);
    const fetched = await call('DELETE', '/_emulator/api/faults', {
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    expect(fetched.status).toBe(403);
    api.addFault({ path: '/v1/vms', kind: 'status', status: 500 });
    expect((await call('GET', '/_emulator/api/faults', { headers: { origin: ORIGIN } })).status).toBe(200);
  });

  it('answers 400 for a malformed fault', async () => {
    const { call } = setup();
    const response = await call('POST', '/_emulator/api/faults', {
      json: { path: '/v1', kind: 'status', status: 99 },
    });
    expect(response.status).toBe(400);
    expect((await response.json()).message).toMatch(/fault.status/);
  });

  it('counts requests per method and path template, and unauthorized answers', async () => {
    const { call, mint } = setup();
    const token = mint(demo);
    await call('GET', '/v1/vms/1001/videos', { token });
    await call('GET', '/v1/vms/1002/videos', { token });
    await call('GET', '/v1/vms');
    const counters = await (await call('GET', '/_emulator/api/counters')).json();
    expect(counters).toEqual({
      requests: { 'GET /v1/vms/{vm}/videos': 2, 'GET /v1/vms': 1 },
      unauthorized: 1,
    });
  });

  it('counts faulted requests too', async () => {
    const { api, call } = setup();
    api.addFault({ path: '/v1/vms', kind: 'status', status: 503, times: 1 });
    await call('GET', '/v1/vms');
    expect(api.counters().requests).toEqual({ 'GET /v1/vms': 1 });
  });

  it('resets data, faults and counters with POST /_emulator/api/reset', async () => {
    const { api, call, mint } = setup();
    const token = mint(demo);
    const list = await (await call('GET', '/v1/vms/1002/videos', { token })).json();
    await call('DELETE', `/v1/vms/1002/videos/${list.videos[0].id}`, { token });
    api.addFault({ path: '/v1/vms', kind: 'status', status: 500 });
    expect((await call('POST', '/_emulator/api/reset')).status).toBe(204);
    expect(api.counters()).toEqual({ requests: {}, unauthorized: 0 });
    expect((await call('GET', '/v1/vms', { token })).status).toBe(200);
    expect((await (await call('GET', '/v1/vms/1002/videos', { token })).json()).total).toBe(5);
  });
});

describe('what the handler answers', () => {
  it('returns null for paths that belong to someone else', async () => {
    const { api } = setup();
    expect(await api.handle(new Request(`${ISSUER}/.well-known/openid-configuration`))).toBeNull();
    expect(await api.handle(new Request(`${ORIGIN}/`))).toBeNull();
  });

  it('answers 400, not 500, for malformed percent-encoding in the path', async () => {
    const { call, mint } = setup();
    expect((await call('GET', '/v1/vms/%E0%A4%A/videos', { token: mint(demo) })).status).toBe(400);
  });

  it('answers 400 for a body that is not JSON, or not declared as JSON', async () => {
    const { call } = setup();
    const login = '/v1/vms/auth/login';
    const json = { 'content-type': 'application/json' };
    expect((await call('POST', login, { headers: json })).status).toBe(400);
    expect((await call('POST', login, { headers: json, body: '{"username":' })).status).toBe(400);
    const form = await call('POST', login, { body: 'username=demo&password=demo' });
    expect(form.status).toBe(400);
    expect((await form.json()).message).toMatch(/Content-Type: application\/json/);
  });

  it('rejects options that are not functions', () => {
    expect(() => setup({ now: 5 as unknown as () => number })).toThrow(/options.now/);
  });
});

describe('router', () => {
  it('prefers a literal segment over a parameter', () => {
    const router = new Router<string>().add('GET', '/v/{id}', 'param').add('GET', '/v/list', 'literal');
    const match = router.match('GET', '/v/list');
    expect(match.kind === 'found' && match.route.handler).toBe('literal');
  });

  it('falls back to the parameter route when the literal route has another method', () => {
    const router = new Router<string>().add('GET', '/v/list', 'literal').add('DELETE', '/v/{id}', 'param');
    const match = router.match('DELETE', '/v/list');
    expect(match.kind === 'found' && match.params).toEqual({ id: 'list' });
  });

  it('decodes path parameters', () => {
    const router = new Router<string>().add('GET', '/v/{id}', 'param');
    const match = router.match('GET', '/v/a%20b');
    expect(match.kind === 'found' && match.params).toEqual({ id: 'a b' });
  });
});
