import { describe, expect, it } from 'vitest';
import { isVmproError, VmproError } from '../errors.js';
import type { Logger } from '../logger.js';
import { createVmproApiClient, type VmproApiClientOptions } from './client.js';
import { VmproApiError } from './errors.js';
import { failure } from './failure.test-helper.js';
import {
  countingTokenSource,
  empty,
  hangingFetch,
  json,
  networkError,
  recordingSleep,
  scriptFetch,
} from './fake-fetch.test-helper.js';
import { fixedToken } from './fixed-token.js';

const BASE = 'https://api.example.test';
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.secret-payload.signature';

function client(fetchImpl: typeof fetch, options: Partial<VmproApiClientOptions> = {}) {
  const sleep = recordingSleep();
  const api = createVmproApiClient({
    baseUrl: BASE,
    tokenSource: fixedToken(TOKEN),
    fetch: fetchImpl,
    sleep: sleep.sleep,
    random: () => 0.5,
    ...options,
  });
  return { api, waits: sleep.waits };
}

const invalidToken = () =>
  json(
    401,
    { message: 'token expired' },
    { 'www-authenticate': 'Bearer realm="vmpro", error="invalid_token"' },
  );

describe('bearer token', () => {
  it('sends the token from the token source as a bearer header, with Accept: application/json', async () => {
    const script = scriptFetch(json(200, [{ id: 1, name: 'Main' }]));
    const { api } = client(script.fetch);
    expect(await api.vms.list()).toEqual([{ id: 1, name: 'Main' }]);
    const [call] = script.calls;
    expect(call?.headers.get('authorization')).toBe(`Bearer ${TOKEN}`);
    expect(call?.headers.get('accept')).toBe('application/json');
    expect(call?.headers.get('user-agent')).toBe('vmpro-connect');
    expect(call?.redirect).toBe('manual');
  });

  it('refreshes once and retries once after 401 invalid_token', async () => {
    const tokens = countingTokenSource();
    const script = scriptFetch(invalidToken(), json(200, [{ id: 1, name: 'Main' }]));
    const { api } = client(script.fetch, { tokenSource: tokens });
    expect(await api.vms.list()).toHaveLength(1);
    expect(tokens.forced()).toBe(1);
    expect(script.calls.map((c) => c.headers.get('authorization'))).toEqual([
      'Bearer token-1',
      'Bearer token-2',
    ]);
  });

  it('gives up after the retry is refused too, with a hint, and never loops', async () => {
    const tokens = countingTokenSource();
    const script = scriptFetch(invalidToken(), invalidToken(), json(200, []));
    const { api } = client(script.fetch, { tokenSource: tokens });
    const error = await failure(api.vms.list());
    expect(error).toBeInstanceOf(VmproApiError);
    expect((error as VmproApiError).status).toBe(401);
    expect((error as VmproApiError).hint).toMatch(/refused twice/);
    expect(script.calls).toHaveLength(2);
    expect(tokens.forced()).toBe(1);
  });

  it('refreshes once after a 401 without WWW-Authenticate (an HTML error page)', async () => {
    const tokens = countingTokenSource();
    const page = new Response('<html><title>Error</title></html>', {
      status: 401,
      headers: { 'content-type': 'text/html' },
    });
    const script = scriptFetch(page, json(200, []));
    const { api } = client(script.fetch, { tokenSource: tokens });
    await api.vms.list();
    expect(tokens.forced()).toBe(1);
    expect(script.calls).toHaveLength(2);
  });

  it('does not refresh after a 401 whose error is not invalid_token', async () => {
    const tokens = countingTokenSource();
    const script = scriptFetch(json(401, {}, { 'www-authenticate': 'Bearer error="invalid_request"' }));
    const { api } = client(script.fetch, { tokenSource: tokens });
    const error = (await failure(api.vms.list())) as VmproApiError;
    expect(error.status).toBe(401);
    expect(error.hint).toMatch(/invalid_request/);
    expect(tokens.forced()).toBe(0);
  });

  it('replays a JSON body after the refresh', async () => {
    const tokens = countingTokenSource();
    const script = scriptFetch(invalidToken(), empty(201, { location: `${BASE}/v1/vms/7/videos/abc` }));
    const { api } = client(script.fetch, { tokenSource: tokens });
    expect(await api.videos.create(7, { fileName: 'a.mp4', title: 'A' })).toBe('abc');
    expect(script.calls.map((c) => c.body)).toEqual([
      '{"fileName":"a.mp4","title":"A"}',
      '{"fileName":"a.mp4","title":"A"}',
    ]);
  });

  it('does not retry a streamed body after a 401: the stream cannot be sent twice', async () => {
    const tokens = countingTokenSource();
    const script = scriptFetch(invalidToken(), json(200, {}));
    const { api } = client(script.fetch, { tokenSource: tokens });
    const body = new Blob(['abc']).stream();
    const error = (await failure(api.request('POST', '/v1/vms/1/things', { body }))) as VmproApiError;
    expect(error.status).toBe(401);
    expect(error.hint).toMatch(/stream/);
    expect(script.calls).toHaveLength(1);
    expect(tokens.forced()).toBe(0);
  });

  it('passes the token source’s own errors through unchanged', async () => {
    const ended = new VmproError('VMPRO_REFRESH_EXPIRED', 'The login has ended.');
    const script = scriptFetch(invalidToken());
    const { api } = client(script.fetch, {
      tokenSource: {
        getAccessToken: async (options) => {
          if (options?.forceRefresh) throw ended;
          return 'token-1';
        },
      },
    });
    await expect(api.vms.list()).rejects.toBe(ended);
  });

  it('refuses a token source that returns "Bearer …"', async () => {
    const script = scriptFetch(json(200, []));
    const { api } = client(script.fetch, { tokenSource: { getAccessToken: async () => `Bearer ${TOKEN}` } });
    const error = await failure(api.vms.list());
    expect(error.code).toBe('VMPRO_CONFIG_INVALID');
    expect(error.message).not.toContain(TOKEN);
    expect(script.calls).toHaveLength(0);
  });
});

describe('retries', () => {
  it('waits for Retry-After seconds after 429, then retries a GET', async () => {
    const script = scriptFetch(json(429, { message: 'slow down' }, { 'retry-after': '7' }), json(200, []));
    const { api, waits } = client(script.fetch);
    await api.vms.list();
    expect(waits).toEqual([7000]);
    expect(script.calls).toHaveLength(2);
  });

  it('waits until a Retry-After HTTP date', async () => {
    const now = Date.parse('2025-01-01T10:00:00Z');
    const script = scriptFetch(empty(503, { 'retry-after': 'Wed, 01 Jan 2025 10:00:12 GMT' }), json(200, []));
    const { api, waits } = client(script.fetch, { now: () => now });
    await api.vms.list();
    expect(waits).toEqual([12_000]);
  });

  it('retries 503 for GET but not for POST', async () => {
    const get = scriptFetch(empty(503), json(200, []));
    await client(get.fetch).api.vms.list();
    expect(get.calls).toHaveLength(2);

    const post = scriptFetch(empty(503), empty(201, { location: '/v1/vms/1/videos/x' }));
    const error = (await failure(
      client(post.fetch).api.videos.create(1, { fileName: 'a.mp4' }),
    )) as VmproApiError;
    expect(error.status).toBe(503);
    expect(error.retryable).toBe(true);
    expect(post.calls).toHaveLength(1);
  });

  it('retries POST too when retry.methods lists it', async () => {
    const script = scriptFetch(empty(503), empty(201, { location: '/v1/vms/1/videos/x' }));
    const { api } = client(script.fetch, { retry: { methods: ['GET', 'POST'] } });
    expect(await api.videos.create(1, { fileName: 'a.mp4' })).toBe('x');
    expect(script.calls).toHaveLength(2);
  });

  it('retries a GET after a network error', async () => {
    const script = scriptFetch(networkError(), json(200, []));
    const { api } = client(script.fetch);
    await api.vms.list();
    expect(script.calls).toHaveLength(2);
  });

  it('reports an unreachable API as VMPRO_UPSTREAM_UNAVAILABLE after the retries', async () => {
    const script = scriptFetch(networkError(), networkError(), networkError());
    const { api } = client(script.fetch);
    const error = await failure(api.vms.list());
    expect(error.code).toBe('VMPRO_UPSTREAM_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('ECONNREFUSED');
    expect(script.calls).toHaveLength(3);
  });

  it('stops after two retries by default', async () => {
    const script = scriptFetch(empty(503), empty(503), empty(503), json(200, []));
    const { api } = client(script.fetch);
    const error = (await failure(api.vms.list())) as VmproApiError;
    expect(error.status).toBe(503);
    expect(script.calls).toHaveLength(3);
  });

  it('gives up at once when Retry-After is beyond the wait budget, saying when to retry', async () => {
    const script = scriptFetch(empty(429, { 'retry-after': '120' }), json(200, []));
    const { api, waits } = client(script.fetch);
    const error = (await failure(api.vms.list())) as VmproApiError;
    expect(error.status).toBe(429);
    expect(error.retryAfter).toBe(120);
    expect(error.message).toMatch(/retry after 120 s/);
    expect(waits).toEqual([]);
    expect(script.calls).toHaveLength(1);
  });

  it('counts all waits of one call against the budget', async () => {
    const script = scriptFetch(
      empty(503, { 'retry-after': '40' }),
      empty(503, { 'retry-after': '40' }),
      json(200, []),
    );
    const { api, waits } = client(script.fetch);
    const error = (await failure(api.vms.list())) as VmproApiError;
    expect(error.retryAfter).toBe(40);
    expect(waits).toEqual([40_000]);
    expect(script.calls).toHaveLength(2);
  });

  it('backs off exponentially with jitter when there is no Retry-After, capped by backoffLimitMs', async () => {
    const script = scriptFetch(empty(502), empty(502), empty(502), empty(502), json(200, []));
    const { api, waits } = client(script.fetch, {
      retry: { limit: 4, backoffLimitMs: 1000 },
      random: () => 1,
    });
    await api.vms.list();
    expect(waits).toEqual([300, 600, 1000, 1000]);

    const low = scriptFetch(empty(502), empty(502), json(200, []));
    const lowWaits = client(low.fetch, { random: () => 0 });
    await lowWaits.api.vms.list();
    expect(lowWaits.waits).toEqual([150, 300]);
  });

  it('does not retry a 500', async () => {
    const script = scriptFetch(json(500, { message: 'boom' }), json(200, []));
    const error = (await failure(client(script.fetch).api.vms.list())) as VmproApiError;
    expect(error.status).toBe(500);
    expect(error.retryable).toBe(false);
    expect(script.calls).toHaveLength(1);
  });

  it('refreshes after a 401 that follows a retried 503, still only once', async () => {
    const tokens = countingTokenSource();
    const script = scriptFetch(empty(503), invalidToken(), invalidToken(), json(200, []));
    const { api } = client(script.fetch, { tokenSource: tokens });
    const error = (await failure(api.vms.list())) as VmproApiError;
    expect(error.status).toBe(401);
    expect(tokens.forced()).toBe(1);
    expect(script.calls).toHaveLength(3);
  });
});

describe('timeouts and aborts', () => {
  it('fails with VMPRO_UPSTREAM_TIMEOUT when the API does not answer in time', async () => {
    const { api } = client(hangingFetch(), { timeoutMs: 20 });
    const error = await failure(api.vms.list());
    expect(error.code).toBe('VMPRO_UPSTREAM_TIMEOUT');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('20 ms');
  });

  it('stops the request in flight when the caller aborts', async () => {
    const { api } = client(hangingFetch());
    const controller = new AbortController();
    const pending = api.vms.list({ signal: controller.signal });
    controller.abort();
    const error = await failure(pending);
    expect(error.code).toBe('VMPRO_ABORTED');
  });

  it('stops waiting for a retry when the caller aborts', async () => {
    const script = scriptFetch(empty(503, { 'retry-after': '30' }), json(200, []));
    const api = createVmproApiClient({ baseUrl: BASE, tokenSource: fixedToken(TOKEN), fetch: script.fetch });
    const controller = new AbortController();
    const pending = api.vms.list({ signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    const error = await failure(pending);
    expect(error.code).toBe('VMPRO_ABORTED');
    expect(script.calls).toHaveLength(1);
  });

  it('refuses a call whose timeoutMs is not a positive number of ms, sending nothing', async () => {
    const script = scriptFetch(json(200, []));
    const { api } = client(script.fetch);
    for (const timeoutMs of [0, -5, Number.NaN, 2 ** 31]) {
      const error = await failure(api.vms.list({ timeoutMs }));
      expect(error.code).toBe('VMPRO_CONFIG_INVALID');
      expect(error.message).toMatch(/timeoutMs/);
    }
    expect(script.calls).toHaveLength(0);
  });

  it('sends nothing when the signal is already aborted', async () => {
    const script = scriptFetch(json(200, []));
    const error = await failure(client(script.fetch).api.vms.list({ signal: AbortSignal.abort() }));
    expect(error.code).toBe('VMPRO_ABORTED');
    expect(script.calls).toHaveLength(0);
  });
});

describe('the token stays on the API origin', () => {
  it('keeps the token on a redirect to the same origin', async () => {
    const script = scriptFetch(empty(301, { location: '/v1/vms/' }), json(200, []));
    await client(script.fetch).api.vms.list();
    expect(script.calls[1]?.url.href).toBe(`${BASE}/v1/vms/`);
    expect(script.calls[1]?.headers.get('authorization')).toBe(`Bearer ${TOKEN}`);
  });

  it('drops the token (and cookies) on a redirect to another origin', async () => {
    const script = scriptFetch(empty(302, { location: 'https://cdn.example.test/list.json' }), json(200, []));
    await client(script.fetch).api.request('GET', '/v1/vms', { headers: { cookie: 'a=b' } });
    expect(script.calls[1]?.url.origin).toBe('https://cdn.example.test');
    expect(script.calls[1]?.headers.has('authorization')).toBe(false);
    expect(script.calls[1]?.headers.has('cookie')).toBe(false);
  });

  it('does not refresh after a 401 from another origin: the token was not sent there', async () => {
    const tokens = countingTokenSource();
    const script = scriptFetch(empty(307, { location: 'https://other.example.test/x' }), invalidToken());
    const { api } = client(script.fetch, { tokenSource: tokens });
    const error = (await failure(api.vms.list())) as VmproApiError;
    expect(error.status).toBe(401);
    expect(tokens.forced()).toBe(0);
  });

  it('stops after 5 redirects', async () => {
    const loop = () => empty(302, { location: '/v1/vms' });
    const script = scriptFetch(loop(), loop(), loop(), loop(), loop(), loop(), json(200, []));
    const error = (await failure(client(script.fetch).api.vms.list())) as VmproApiError;
    expect(error.message).toMatch(/more than 5 redirects/);
    expect(script.calls).toHaveLength(6);
  });

  it('follows 303 after a POST with a GET without body', async () => {
    const script = scriptFetch(empty(303, { location: '/v1/result' }), json(200, { ok: true }));
    const { api } = client(script.fetch);
    expect(await api.request('POST', '/v1/things', { json: { a: 1 } })).toEqual({ ok: true });
    expect(script.calls[1]?.method).toBe('GET');
    expect(script.calls[1]?.body).toBeUndefined();
    expect(script.calls[1]?.headers.has('content-type')).toBe(false);
  });

  it('replays method and body on a 307', async () => {
    const script = scriptFetch(empty(307, { location: '/v1/other' }), json(200, {}));
    await client(script.fetch).api.request('PATCH', '/v1/things', { json: { a: 1 } });
    expect(script.calls[1]?.method).toBe('PATCH');
    expect(script.calls[1]?.body).toBe('{"a":1}');
  });

  it('refuses an absolute URL outside the base URL, sending nothing', async () => {
    const script = scriptFetch(json(200, []));
    const { api } = client(script.fetch);
    for (const url of [
      'https://evil.example.test/v1/vms',
      '//evil.example.test/v1/vms',
      'http://api.example.test/v1/vms',
    ]) {
      const error = await failure(api.request('GET', url));
      expect(error.code).toBe('VMPRO_CONFIG_INVALID');
    }
    expect(script.calls).toHaveLength(0);
  });

  it('accepts an absolute URL on the base URL', async () => {
    const script = scriptFetch(json(200, []));
    await client(script.fetch).api.request('GET', `${BASE}/v1/vms`);
    expect(script.calls[0]?.url.href).toBe(`${BASE}/v1/vms`);
  });

  it('keeps calls under a base path, even with ../ in the path', async () => {
    const script = scriptFetch(json(200, []));
    const { api } = client(script.fetch, { baseUrl: `${BASE}/vmpro/` });
    await api.vms.list();
    expect(script.calls[0]?.url.pathname).toBe('/vmpro/v1/vms');
    const error = await failure(api.request('GET', '/../admin'));
    expect(error.code).toBe('VMPRO_CONFIG_INVALID');
  });

  it('refuses a beforeRequest hook that sends the request to another origin', async () => {
    const script = scriptFetch(json(200, []));
    const { api } = client(script.fetch, {
      hooks: { beforeRequest: [(request) => new Request('https://evil.example.test/steal', request)] },
    });
    const error = await failure(api.vms.list());
    expect(error.code).toBe('VMPRO_CONFIG_INVALID');
    expect(script.calls).toHaveLength(0);
  });
});

describe('errors', () => {
  it('turns an HTML error page into a VmproApiError without quoting the page', async () => {
    const page =
      '<!DOCTYPE html><html><head><title>Error</title></head><body>Bad Gateway at node-17</body></html>';
    const script = scriptFetch(new Response(page, { status: 502, headers: { 'content-type': 'text/html' } }));
    const error = (await failure(client(script.fetch, { retry: 0 }).api.vms.list())) as VmproApiError;
    expect(error.code).toBe('VMPRO_API_ERROR');
    expect(error.status).toBe(502);
    expect(error.message).toContain('answered with an HTML error page (status 502)');
    expect(error.message).not.toContain('node-17');
    expect(error.apiMessage).toBeUndefined();
  });

  it('reads message and code from a JSON error body', async () => {
    const script = scriptFetch(json(400, { message: 'channel is locked', code: 'INVALID_INPUT' }));
    const error = (await failure(client(script.fetch).api.videos.get(1, 'abc'))) as VmproApiError;
    expect(error.apiMessage).toBe('channel is locked');
    expect(error.apiCode).toBe('INVALID_INPUT');
    expect(error.method).toBe('GET');
    expect(error.path).toBe('/v1/vms/1/videos/abc');
    expect(error.message).toContain('channel is locked');
    expect(isVmproError(error, 'VMPRO_API_ERROR')).toBe(true);
  });

  it.each([
    [403, /no access to this VideoManager/],
    [404, /does not exist/],
    [415, /wrong Content-Type/],
    [429, /100 requests per minute/],
  ])('gives a hint for %i', async (status, hint) => {
    const script = scriptFetch(json(status, {}));
    const error = (await failure(client(script.fetch, { retry: 0 }).api.vms.list())) as VmproApiError;
    expect(error.hint).toMatch(hint);
    expect(error.message).toMatch(hint);
  });

  it('never puts the token into an error, even when the API echoes it', async () => {
    const script = scriptFetch(json(400, { message: `bad header Bearer ${TOKEN}` }));
    const error = await failure(client(script.fetch).api.vms.list());
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain(TOKEN);
    expect(error.message).toContain('[REDACTED]');
  });

  it('redacts token-like query values in the error path', async () => {
    const script = scriptFetch(json(404, {}));
    const error = (await failure(
      client(script.fetch).api.request('GET', '/v1/x?access_token=abc&q=1'),
    )) as VmproApiError;
    expect(error.path).toBe('/v1/x?access_token=REDACTED&q=1');
  });

  it('says so when a success body is not valid JSON', async () => {
    const script = scriptFetch(
      new Response('{oops', { status: 200, headers: { 'content-type': 'application/json' } }),
    );
    const error = (await failure(client(script.fetch).api.vms.list())) as VmproApiError;
    expect(error.message).toMatch(/not valid JSON/);
  });
});

describe('hooks and logging', () => {
  it('lets beforeRequest add headers; it sees the real request and the attempt', async () => {
    const seen: string[] = [];
    const script = scriptFetch(json(200, []));
    const { api } = client(script.fetch, {
      hooks: {
        beforeRequest: [
          (request, context) => {
            seen.push(
              `${context.method} ${context.path} #${context.attempt} ${request.headers.get('authorization')}`,
            );
            request.headers.set('x-trace-id', 't-1');
          },
        ],
      },
    });
    await api.vms.list();
    expect(seen).toEqual([`GET /v1/vms #1 Bearer ${TOKEN}`]);
    expect(script.calls[0]?.headers.get('x-trace-id')).toBe('t-1');
  });

  it('lets beforeRequest answer without sending', async () => {
    const script = scriptFetch();
    const { api } = client(script.fetch, {
      hooks: { beforeRequest: [() => json(200, [{ id: 9, name: 'cached' }])] },
    });
    expect(await api.vms.list()).toEqual([{ id: 9, name: 'cached' }]);
    expect(script.calls).toHaveLength(0);
  });

  it('lets afterResponse replace the response', async () => {
    const script = scriptFetch(json(200, []));
    const { api } = client(script.fetch, {
      hooks: { afterResponse: [() => json(200, [{ id: 2, name: 'B' }])] },
    });
    expect(await api.vms.list()).toEqual([{ id: 2, name: 'B' }]);
  });

  it('tells beforeRetry why and when it retries', async () => {
    const states: string[] = [];
    const tokens = countingTokenSource();
    const script = scriptFetch(empty(503, { 'retry-after': '1' }), invalidToken(), json(200, []));
    const { api } = client(script.fetch, {
      tokenSource: tokens,
      hooks: {
        beforeRetry: [(s) => void states.push(`${s.reason} #${s.attempt} ${s.delayMs}ms ${s.error.code}`)],
      },
    });
    await api.vms.list();
    expect(states).toEqual(['status #2 1000ms VMPRO_API_ERROR', 'refresh #3 0ms VMPRO_API_ERROR']);
  });

  it('logs method, path, status, duration and attempt, never headers or the token', async () => {
    const lines: { message: string; fields: Record<string, unknown> | undefined }[] = [];
    const record = (message: string, fields?: Record<string, unknown>) =>
      void lines.push({ message, fields });
    const logger: Logger = { debug: record, info: record, warn: record, error: record };
    const script = scriptFetch(empty(503), json(200, []));
    await client(script.fetch, { logger }).api.vms.list();
    const exchanges = lines.filter((l) => l.message === 'vmpro api').map((l) => l.fields);
    expect(exchanges).toHaveLength(2);
    expect(exchanges[1]).toMatchObject({ method: 'GET', path: '/v1/vms', status: 200, attempt: 2 });
    expect(typeof exchanges[1]?.['durationMs']).toBe('number');
    expect(JSON.stringify(lines)).not.toContain(TOKEN);
    expect(JSON.stringify(lines).toLowerCase()).not.toContain('authorization');
  });
});

describe('client', () => {
  it('is frozen', () => {
    const { api } = client(scriptFetch().fetch);
    expect(Object.isFrozen(api)).toBe(true);
    expect(Object.isFrozen(api.videos)).toBe(true);
  });

  it('extend() keeps the options and appends hooks', async () => {
    const order: string[] = [];
    const script = scriptFetch(json(200, []));
    const { api } = client(script.fetch, { hooks: { beforeRequest: [() => void order.push('first')] } });
    const child = api.extend({
      hooks: { beforeRequest: [() => void order.push('second')] },
      userAgent: 'my-app/1',
    });
    await child.vms.list();
    expect(order).toEqual(['first', 'second']);
    expect(script.calls[0]?.headers.get('authorization')).toBe(`Bearer ${TOKEN}`);
    expect(script.calls[0]?.headers.get('user-agent')).toBe('my-app/1');
  });

  it('request() serialises a query object in snake_case and parses JSON', async () => {
    const script = scriptFetch(json(200, { used: 1 }));
    const { api } = client(script.fetch);
    expect(
      await api.request('GET', '/v1/vms/1/usage', { query: { includeOwner: true, channelId: [1, 2] } }),
    ).toEqual({
      used: 1,
    });
    expect(script.calls[0]?.url.search).toBe('?include_owner=true&channel_id=1&channel_id=2');
  });

  it('refuses a header value with a line break as VMPRO_CONFIG_INVALID, without quoting it', async () => {
    const script = scriptFetch(json(200, []));
    const { api } = client(script.fetch);
    const error = await failure(api.request('GET', '/v1/vms', { headers: { 'x-key': 'secret\r\nx: y' } }));
    expect(error.code).toBe('VMPRO_CONFIG_INVALID');
    expect(error.message).not.toContain('secret');
    expect(script.calls).toHaveLength(0);
  });

  it('send() gives status and headers', async () => {
    const script = scriptFetch(empty(204, { 'x-a': 'b' }));
    const response = await client(script.fetch).api.send('DELETE', '/v1/vms/1/videos/x');
    expect(response.status).toBe(204);
    expect(response.headers.get('x-a')).toBe('b');
    expect(response.data).toBeUndefined();
  });

  it.each([
    [{ baseUrl: 'http://api.example.test' }, /baseUrl must use https/],
    [{ baseUrl: 'not a url' }, /baseUrl is not an absolute URL/],
    [{ timeoutMs: -1 }, /timeoutMs/],
    [{ retry: { limit: 1.5 } }, /retry.limit/],
    [{ retry: { statusCodes: [200] } }, /retry.statusCodes/],
    [{ tokenSource: undefined }, /tokenSource is required/],
  ] as [Partial<VmproApiClientOptions>, RegExp][])(
    'refuses bad options at creation: %o',
    (options, message) => {
      let caught: unknown;
      try {
        createVmproApiClient({ tokenSource: fixedToken(TOKEN), ...options } as VmproApiClientOptions);
      } catch (error) {
        caught = error;
      }
      expect(isVmproError(caught, 'VMPRO_CONFIG_INVALID')).toBe(true);
      expect((caught as Error).message).toMatch(message);
    },
  );

  it('accepts plain http on a loopback host (the emulator)', () => {
    expect(
      createVmproApiClient({ baseUrl: 'http://127.0.0.1:8080', tokenSource: fixedToken(TOKEN) }).baseUrl,
    ).toBe('http://127.0.0.1:8080');
  });
});

describe('fixedToken', () => {
  it('refuses an empty value, a "Bearer " prefix and line breaks without echoing the value', () => {
    for (const bad of ['', `Bearer ${TOKEN}`, `${TOKEN}\n`]) {
      let caught: unknown;
      try {
        fixedToken(bad);
      } catch (error) {
        caught = error;
      }
      expect(isVmproError(caught, 'VMPRO_CONFIG_INVALID')).toBe(true);
      expect((caught as Error).message).not.toContain('secret-payload');
    }
  });
});
