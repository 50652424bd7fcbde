import { beforeEach, describe, expect, test } from 'vitest';
import {
  API_BASE,
  CLIENT_ID,
  CLIENT_SECRET,
  createFakeLoginServer,
  type FakeLoginServer,
  ISSUER,
  json,
} from '../../test/support/fake-login-server.js';
import { expectCode, hang, rejectionOf } from '../../test/support/oidc-unit.js';
import { createOidcClient } from './client.js';
import {
  discover,
  discoveryRequest,
  processDiscoveryResponse,
  processWebfingerResponse,
  webfingerRequest,
} from './discovery.js';
import { createDiscoveryCache, type DiscoveryCache } from './discovery-cache.js';

const CONFIG_URL = `${ISSUER}/.well-known/openid-configuration`;
const WEBFINGER_URL = `${API_BASE}/.well-known/webfinger`;

let server: FakeLoginServer;

beforeEach(async () => {
  server = await createFakeLoginServer();
});

function discoverFromApi(extra: Parameters<typeof discover>[0] = {}) {
  return discover({ apiBase: API_BASE, fetch: server.fetch, now: server.clock.now, ...extra });
}

describe('discovery from the API host (WebFinger)', () => {
  test('asks WebFinger for the API base and follows its issuer link to the configuration', async () => {
    const result = await discoverFromApi();
    expect(result.source).toBe('webfinger');
    expect(result.issuer).toBe(ISSUER);
    expect(result.configurationUrl).toBe(CONFIG_URL);
    expect(result.metadata.token_endpoint).toBe(`${ISSUER}/protocol/openid-connect/token`);
    const webfinger = server.requests[0];
    expect(webfinger?.url.origin + webfinger!.url.pathname).toBe(WEBFINGER_URL);
    expect(webfinger?.url.searchParams.get('resource')).toBe(`${API_BASE}/v1/`);
    expect(webfinger?.headers.get('accept')).toContain('application/jrd+json');
  });

  test("accepts movingimage's form: the link is the full openid-configuration URL", async () => {
    server.webfingerHref = CONFIG_URL;
    expect((await discoverFromApi()).issuer).toBe(ISSUER);
  });

  test('accepts the standard form: the link is the bare issuer', async () => {
    server.webfingerHref = ISSUER;
    const result = await discoverFromApi();
    expect(result.issuer).toBe(ISSUER);
    expect(result.configurationUrl).toBe(CONFIG_URL);
  });

  test('fails clearly when WebFinger has no issuer link', async () => {
    server.override(WEBFINGER_URL, () => json({ subject: `${API_BASE}/v1/`, links: [] }));
    const err = await rejectionOf(discoverFromApi());
    expectCode(err, 'VMPRO_DISCOVERY_FAILED');
    expect(err.message).toContain('http://openid.net/specs/connect/1.0/issuer');
  });

  test('refuses an issuer link to plain http on a public host', async () => {
    server.webfingerHref = 'http://login.example.com/auth/realms/platform';
    const err = await rejectionOf(discoverFromApi());
    expectCode(err, 'VMPRO_DISCOVERY_FAILED');
    expect(err.message).toContain('https://');
  });

  test('names the URL when WebFinger answers 404, and does not call it retryable', async () => {
    server.override(WEBFINGER_URL, () => new Response('nope', { status: 404 }));
    const err = await rejectionOf(discoverFromApi());
    expectCode(err, 'VMPRO_DISCOVERY_FAILED');
    expect(err.message).toContain(WEBFINGER_URL);
    expect(err.retryable).toBe(false);
  });
});

describe('discovery with an explicit issuer', () => {
  test('skips WebFinger', async () => {
    const result = await discover({ issuer: ISSUER, fetch: server.fetch });
    expect(result.source).toBe('configured');
    expect(server.count('/webfinger')).toBe(0);
    expect(server.requests.map((r) => r.url.href)).toEqual([CONFIG_URL]);
  });

  test('refuses a document whose issuer differs, naming both values and the likely cause', async () => {
    server.metadata.issuer = 'http://keycloak:8080/auth/realms/platform';
    const err = await rejectionOf(discover({ issuer: ISSUER, fetch: server.fetch }));
    expectCode(err, 'VMPRO_ISSUER_MISMATCH');
    expect(err.message).toContain('http://keycloak:8080/auth/realms/platform');
    expect(err.message).toContain(ISSUER);
    expect(err.message).toMatch(/proxy/);
    expect(err.message).toMatch(/frontend URL/);
  });

  test('compares the issuer exactly: a trailing slash is a mismatch', async () => {
    const err = await rejectionOf(discover({ issuer: `${ISSUER}/`, fetch: server.fetch }));
    expectCode(err, 'VMPRO_ISSUER_MISMATCH');
  });

  test('compares the WebFinger-derived issuer exactly too', async () => {
    server.metadata.issuer = 'https://internal-host/auth/realms/platform';
    expectCode(await rejectionOf(discoverFromApi()), 'VMPRO_ISSUER_MISMATCH');
  });
});

describe('malformed or unreachable configuration', () => {
  test.each(['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri'])(
    'names the missing required field %s',
    async (field) => {
      delete server.metadata[field];
      const err = await rejectionOf(discover({ issuer: ISSUER, fetch: server.fetch }));
      expectCode(err, 'VMPRO_DISCOVERY_FAILED');
      expect(err.message).toContain(`"${field}"`);
      expect(err.message).toContain(CONFIG_URL);
    },
  );

  test('refuses an answer that is not JSON, naming the URL', async () => {
    server.override(
      CONFIG_URL,
      () => new Response('<html>login</html>', { headers: { 'content-type': 'text/html' } }),
    );
    const err = await rejectionOf(discover({ issuer: ISSUER, fetch: server.fetch }));
    expectCode(err, 'VMPRO_DISCOVERY_FAILED');
    expect(err.message).toContain(CONFIG_URL);
    expect(err.message).toContain('not JSON');
    expect(err.retryable).toBe(false);
  });

  test('calls a 503 retryable', async () => {
    server.override(CONFIG_URL, () => new Response('busy', { status: 503 }));
    const err = await rejectionOf(discover({ issuer: ISSUER, fetch: server.fetch }));
    expectCode(err, 'VMPRO_DISCOVERY_FAILED');
    expect(err.retryable).toBe(true);
  });

  test('calls a network failure retryable and keeps its cause', async () => {
    const networkError = new TypeError('fetch failed');
    server.override(CONFIG_URL, () => {
      throw networkError;
    });
    const err = await rejectionOf(discover({ issuer: ISSUER, fetch: server.fetch }));
    expectCode(err, 'VMPRO_DISCOVERY_FAILED');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain(CONFIG_URL);
    expect((err.cause as Error).cause).toBe(networkError);
  });

  test('gives up after timeoutMs and calls it retryable', async () => {
    server.override(CONFIG_URL, hang);
    const err = await rejectionOf(discover({ issuer: ISSUER, fetch: server.fetch, timeoutMs: 20 }));
    expectCode(err, 'VMPRO_DISCOVERY_FAILED');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('timed out');
  });

  test('stops when the caller aborts', async () => {
    server.override(CONFIG_URL, hang);
    const controller = new AbortController();
    const pending = discover({ issuer: ISSUER, fetch: server.fetch, signal: controller.signal });
    controller.abort();
    expectCode(await rejectionOf(pending), 'VMPRO_ABORTED');
  });

  test('does not follow a redirect', async () => {
    server.override(
      CONFIG_URL,
      () => new Response(null, { status: 302, headers: { location: 'https://elsewhere.example.com/x' } }),
    );
    const err = await rejectionOf(discover({ issuer: ISSUER, fetch: server.fetch }));
    expectCode(err, 'VMPRO_DISCOVERY_FAILED');
    expect(err.message).toContain('redirect');
    expect(server.requests).toHaveLength(1);
  });

  test.each(['token_endpoint', 'jwks_uri', 'end_session_endpoint', 'revocation_endpoint'])(
    'refuses plain http:// for %s on a public host',
    async (field) => {
      server.metadata[field] = 'http://login.example.com/x';
      const err = await rejectionOf(discover({ issuer: ISSUER, fetch: server.fetch }));
      expectCode(err, 'VMPRO_DISCOVERY_FAILED');
      expect(err.message).toContain(`"${field}"`);
    },
  );

  test('returns the configuration deeply frozen', async () => {
    const { metadata } = await discover({ issuer: ISSUER, fetch: server.fetch });
    expect(Object.isFrozen(metadata)).toBe(true);
    expect(Object.isFrozen(metadata.code_challenge_methods_supported)).toBe(true);
  });
});

describe('discovery cache', () => {
  let cache: DiscoveryCache;
  beforeEach(() => {
    cache = createDiscoveryCache();
  });

  test('reuses both answers for their Cache-Control max-age', async () => {
    server.discoveryHeaders = { 'cache-control': 'public, max-age=3600' };
    await discoverFromApi({ cache });
    await discoverFromApi({ cache });
    expect(server.requests).toHaveLength(2);
  });

  test('asks again once max-age has passed on the injected clock', async () => {
    server.discoveryHeaders = { 'cache-control': 'max-age=60' };
    await discoverFromApi({ cache });
    server.clock.advance(61_000);
    await discoverFromApi({ cache });
    expect(server.requests).toHaveLength(4);
  });

  test('does not cache without max-age or with no-store', async () => {
    await discoverFromApi({ cache });
    server.discoveryHeaders = { 'cache-control': 'no-store, max-age=600' };
    await discoverFromApi({ cache });
    await discoverFromApi({ cache });
    expect(server.requests).toHaveLength(6);
  });

  test('caches nothing without a cache: no answer leaks from one caller to the next', async () => {
    server.discoveryHeaders = { 'cache-control': 'max-age=3600' };
    await discoverFromApi();
    await discoverFromApi();
    expect(server.requests).toHaveLength(4);
  });

  test('clear() forgets cached answers', async () => {
    server.discoveryHeaders = { 'cache-control': 'max-age=3600' };
    await discoverFromApi({ cache });
    cache.clear();
    await discoverFromApi({ cache });
    expect(server.requests).toHaveLength(4);
  });

  test('each client has a cache of its own; clients given one cache share the answers', async () => {
    server.discoveryHeaders = { 'cache-control': 'max-age=3600' };
    const options = {
      apiBase: API_BASE,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      fetch: server.fetch,
    };
    await createOidcClient(options);
    await createOidcClient(options);
    expect(server.count('/webfinger')).toBe(2);
    await createOidcClient({ ...options, discoveryCache: cache });
    await createOidcClient({ ...options, discoveryCache: cache });
    expect(server.count('/webfinger')).toBe(3);
    expect(server.count('/openid-configuration')).toBe(3);
  });
});

describe('discovery step by step: send, then process', () => {
  test('webfingerRequest sends the question; processWebfingerResponse finds the configuration', async () => {
    const response = await webfingerRequest(API_BASE, { fetch: server.fetch });
    expect(response.status).toBe(200);
    expect(server.requests).toHaveLength(1);
    const result = await processWebfingerResponse(API_BASE, response);
    expect(result).toMatchObject({ issuer: ISSUER, configurationUrl: CONFIG_URL });
    expect(result.issuerLink).toBe(CONFIG_URL);
    expect(result.document.subject).toBe(`${API_BASE}/v1/`);
    expect(Object.isFrozen(result.document)).toBe(true);
  });

  test('discoveryRequest and processDiscoveryResponse chain on the WebFinger result', async () => {
    const target = await processWebfingerResponse(
      API_BASE,
      await webfingerRequest(API_BASE, { fetch: server.fetch }),
    );
    const metadata = await processDiscoveryResponse(
      target,
      await discoveryRequest(target, { fetch: server.fetch }),
    );
    expect(metadata.issuer).toBe(ISSUER);
    expect(Object.isFrozen(metadata)).toBe(true);
    expect(server.requests.map((r) => r.url.origin + r.url.pathname)).toEqual([WEBFINGER_URL, CONFIG_URL]);
  });

  test('take an issuer as the issuer option does: bare, or as its configuration URL', async () => {
    for (const issuer of [ISSUER, CONFIG_URL]) {
      const metadata = await processDiscoveryResponse(
        issuer,
        await discoveryRequest(issuer, { fetch: server.fetch }),
      );
      expect(metadata.issuer).toBe(ISSUER);
    }
    expect(server.requests.map((r) => r.url.href)).toEqual([CONFIG_URL, CONFIG_URL]);
  });

  test('the send step hands back an error answer unread; the process step names it', async () => {
    server.override(CONFIG_URL, () => new Response('busy', { status: 503 }));
    const response = await discoveryRequest(ISSUER, { fetch: server.fetch });
    expect(response.status).toBe(503);
    const err = await rejectionOf(processDiscoveryResponse(ISSUER, response));
    expectCode(err, 'VMPRO_DISCOVERY_FAILED');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain(CONFIG_URL);
  });

  test('the process step checks the issuer exactly', async () => {
    server.metadata.issuer = 'https://internal-host/auth/realms/platform';
    const response = await discoveryRequest(ISSUER, { fetch: server.fetch });
    expectCode(await rejectionOf(processDiscoveryResponse(ISSUER, response)), 'VMPRO_ISSUER_MISMATCH');
  });

  test('the send step fails on no answer, and refuses plain http to a public host before sending', async () => {
    server.override(CONFIG_URL, hang);
    const err = await rejectionOf(discoveryRequest(ISSUER, { fetch: server.fetch, timeoutMs: 20 }));
    expectCode(err, 'VMPRO_DISCOVERY_FAILED');
    expect(err.message).toContain('timed out');
    const refused = await rejectionOf(webfingerRequest('http://api.example.com', { fetch: server.fetch }));
    expectCode(refused, 'VMPRO_CONFIG_INVALID');
    expect(refused.field).toBe('apiBase');
    const target = { issuer: ISSUER, configurationUrl: 'http://login.example.com/x' };
    expect((await rejectionOf(discoveryRequest(target, { fetch: server.fetch }))).field).toBe(
      'configurationUrl',
    );
    expect(server.requests).toHaveLength(1);
  });
});

describe('what createOidcClient requires of the server', () => {
  function create() {
    return createOidcClient({
      issuer: ISSUER,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      fetch: server.fetch,
    });
  }

  test('starts against a Keycloak-shaped server', async () => {
    const client = await create();
    expect(client.issuer).toBe(ISSUER);
    expect(client.clientId).toBe(CLIENT_ID);
    expect(client.metadata.jwks_uri).toBe(`${ISSUER}/protocol/openid-connect/certs`);
  });

  test('refuses to start without PKCE S256', async () => {
    server.metadata.code_challenge_methods_supported = ['plain'];
    const err = await rejectionOf(create());
    expectCode(err, 'VMPRO_UNSUPPORTED');
    expect(err.message).toContain('S256');
  });

  test('refuses to start when PKCE support is not advertised at all', async () => {
    delete server.metadata.code_challenge_methods_supported;
    expectCode(await rejectionOf(create()), 'VMPRO_UNSUPPORTED');
  });

  test('refuses to start when the server signs ID tokens only with HS256 or none', async () => {
    server.metadata.id_token_signing_alg_values_supported = ['HS256', 'none'];
    const err = await rejectionOf(create());
    expectCode(err, 'VMPRO_UNSUPPORTED');
    expect(err.message).toContain('RS256');
  });

  test('works with a login server entirely on loopback http:// (a local emulator)', async () => {
    const local = await createFakeLoginServer({
      issuer: 'http://127.0.0.1:8080/auth/realms/platform',
      apiBase: 'http://127.0.0.1:8080',
    });
    const client = await createOidcClient({
      apiBase: local.apiBase,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUri: 'http://127.0.0.1:3000/auth/callback',
      fetch: local.fetch,
    });
    const { url, transaction } = await client.createAuthorizationRequest();
    const tokens = await client.exchangeCode(
      await client.validateCallback(local.authorize(url), transaction),
    );
    expect(tokens.claims?.iss).toBe('http://127.0.0.1:8080/auth/realms/platform');
  });

  test('refuses metadata that mixes https:// with loopback http:// endpoints', async () => {
    server.metadata.token_endpoint = 'http://127.0.0.1:8080/token';
    const err = await rejectionOf(create());
    expectCode(err, 'VMPRO_DISCOVERY_FAILED');
    expect(err.message).toContain('loopback');
  });
});
