/** `vmpro doctor` against a real emulator, a dead port and broken settings. */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ISSUER_LINK_REL } from 'vmpro-connect';
import { type RunningEmulator, startEmulator } from 'vmpro-connect/emulator';
import {
  clusterUnavailable,
  type RunningCluster,
  startRedisCluster,
} from '../../../../test/support/redis-cluster.js';
import { type DoctorOptions, doctor } from './commands/doctor.js';
import type { CliContext } from './context.js';
import { credentialsPath, writeCredentials } from './credentials.js';

let emulator: RunningEmulator;
let home: string;
const SECRET = 'a-session-secret-of-at-least-32-characters';

beforeAll(async () => {
  emulator = await startEmulator({ port: 0 });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'vmpro-doctor-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function runDoctor(
  env: Record<string, string>,
  options: DoctorOptions = {},
  extra: Partial<CliContext> = {},
) {
  let out = '';
  const ctx: CliContext = {
    env: { VMPRO_HOME: home, VMPRO_API_BASE: emulator.apiBase, VMPRO_SESSION_SECRET: SECRET, ...env },
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (out += s) },
    ...extra,
  };
  const code = await doctor(options, ctx);
  const lines = out.split('\n');
  /** The line of the check whose title contains `text`, and the fix line after it. */
  const line = (text: string) => {
    const i = lines.findIndex((l) => /^[✔✘!–] /.test(l) && l.includes(text));
    return { line: lines[i] ?? '', fix: lines[i + 1]?.startsWith('    fix: ') ? lines[i + 1] : undefined };
  };
  return { code, out, line };
}

describe('vmpro doctor', () => {
  it('passes every check against the emulator', async () => {
    const { code, out } = await runDoctor({});
    const checks = out.split('\n').filter((l) => /^[✔✘!–] /.test(l));
    expect(checks.length).toBeGreaterThanOrEqual(12);
    expect(checks.filter((l) => !l.startsWith('✔'))).toEqual([]);
    expect(out).toContain("✔ WebFinger in movingimage's form");
    expect(out).toContain(`✔ Issuer ${emulator.issuer}`);
    expect(out).toContain('✔ PKCE with S256 supported');
    expect(out).toContain('All checks passed.');
    expect(code).toBe(0);
  });

  it('fails with a fix when the API base does not answer', async () => {
    const port = await freePort();
    const { code, line } = await runDoctor({ VMPRO_API_BASE: `http://127.0.0.1:${port}` });
    const webfinger = line('WebFinger');
    expect(webfinger.line).toMatch(
      /^✘ WebFinger: Discovery \(WebFinger\) failed: http:\/\/127\.0\.0\.1:\d+\/\.well-known\/webfinger\?\S+ could not be reached \(fetch failed: ECONNREFUSED\)/,
    );
    expect(webfinger.fix).toMatch(/VMPRO_API_BASE/);
    expect(line('OpenID configuration').line).toMatch(/^– /);
    expect(code).toBe(1);
  });

  it('refuses a plain-http API base that is not loopback', async () => {
    const { code, line } = await runDoctor({ VMPRO_API_BASE: 'http://api.example.com' });
    expect(line('API base').line).toMatch(/^✘ .*plain http/);
    expect(line('API base').fix).toMatch(/https/);
    expect(code).toBe(1);
  });

  it('fails the issuer check when the configured issuer differs from the announced one', async () => {
    const { code, line } = await runDoctor({}, { issuer: `${emulator.issuer}/` });
    const issuer = line('names the issuer');
    expect(issuer.line).toMatch(
      /^✘ Issuer: The OpenID configuration at \S+ names the issuer "[^"]+", but "[^"]+\/" was expected\./,
    );
    expect(issuer.fix).toMatch(/frontendUrl|misspelled/);
    expect(line('✔ Issuer').line).toBe('');
    expect(line('PKCE').line).toBe('– PKCE not checked: no usable OpenID configuration');
    expect(code).toBe(1);
  });

  it("fails the clock check when this machine's clock is 2 minutes off", async () => {
    const { code, line } = await runDoctor({}, {}, { now: () => Date.now() + 120_000 });
    const login = line("The login server's clock");
    expect(login.line).toMatch(
      /^✘ The login server's clock \(http:\/\/127\.0\.0\.1:\d+\) is 1[12]\d s behind this machine's \(±\d s\): beyond the 60 s clock tolerance, so its tokens look 1[12]\d s old on arrival and are refused as expired once that passes their lifetime$/,
    );
    expect(login.fix).toContain('sudo timedatectl set-ntp true');
    expect(code).toBe(1);
  });

  it('fails on a session secret shorter than 32 characters', async () => {
    const { code, line } = await runDoctor({ VMPRO_SESSION_SECRET: 'short' });
    expect(line('VMPRO_SESSION_SECRET').line).toMatch(/^✘ /);
    expect(line('VMPRO_SESSION_SECRET').fix).toContain('openssl rand -base64 32');
    expect(code).toBe(1);
  });

  it('only warns when no session secret is set', async () => {
    const { code, line } = await runDoctor({ VMPRO_SESSION_SECRET: '' });
    expect(line('VMPRO_SESSION_SECRET').line).toMatch(/^! /);
    expect(code).toBe(0);
  });

  it('fails on a session store it does not understand', async () => {
    const { code, line } = await runDoctor({ VMPRO_SESSION_STORE: 'mysql://x' });
    expect(line('VMPRO_SESSION_STORE').line).toMatch(/^✘ /);
    expect(line('VMPRO_SESSION_STORE').fix).toContain('redis://');
    expect(code).toBe(1);
  });

  it('fails when the Redis store does not answer', async () => {
    const port = await freePort();
    const { code, line } = await runDoctor({ VMPRO_SESSION_STORE: `redis://:pw@127.0.0.1:${port}` });
    const redis = line('Redis at');
    expect(redis.line).toMatch(/^✘ Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ does not answer/);
    expect(redis.line).not.toContain(':pw@');
    expect(redis.fix).toContain('Start Redis');
    expect(code).toBe(1);
  });

  it('fails when the PostgreSQL store does not answer, without repeating its password', async () => {
    const port = await freePort();
    const { code, line } = await runDoctor({
      VMPRO_SESSION_STORE: `postgres://app:pw-secret@127.0.0.1:${port}/app`,
    });
    const postgres = line('PostgreSQL at');
    expect(postgres.line).toMatch(/^✘ PostgreSQL at 127\.0\.0\.1:\d+\/app does not answer/);
    expect(postgres.line).not.toContain('pw-secret');
    expect(postgres.fix).toContain('Start PostgreSQL');
    expect(code).toBe(1);
  });

  it('fails when no seed node of the Redis Cluster store answers', async () => {
    const [a, b] = [await freePort(), await freePort()];
    const { code, line } = await runDoctor({
      VMPRO_SESSION_STORE: `redis-cluster://127.0.0.1:${a},127.0.0.1:${b}`,
    });
    const cluster = line('Redis Cluster');
    expect(cluster.line).toMatch(
      new RegExp(
        `^✘ Redis Cluster \\(seed nodes 127\\.0\\.0\\.1:${a}, 127\\.0\\.0\\.1:${b}\\) does not answer`,
      ),
    );
    expect(cluster.fix).toContain('redis-cluster://host:port');
    expect(code).toBe(1);
  });

  it('fails on a Redis Cluster value without host:port, listing every accepted form', async () => {
    const { code, line } = await runDoctor({ VMPRO_SESSION_STORE: 'redis-cluster://10.0.0.1' });
    expect(line('VMPRO_SESSION_STORE').line).toMatch(/^✘ .*not host:port/);
    expect(line('VMPRO_SESSION_STORE').fix).toMatch(/memory, cookie, .*redis-cluster:\/\/.*postgres:\/\//);
    expect(code).toBe(1);
  });

  it('fails when VMPRO_CLIENT_SECRET is set without VMPRO_CLIENT_ID', async () => {
    const { code, line } = await runDoctor({ VMPRO_CLIENT_SECRET: 'x' });
    expect(line('VMPRO_CLIENT_SECRET').line).toMatch(/^✘ /);
    expect(code).toBe(1);
  });

  it('fails when the credentials file is readable by others, with the chmod fix', async () => {
    const path = credentialsPath({ VMPRO_HOME: home });
    await writeCredentials(path, {
      version: 1,
      apiBase: emulator.apiBase,
      issuer: emulator.issuer,
      clientId: 'anonymous',
      grant: 'password',
      tokens: {
        accessToken: 'a',
        tokenType: 'Bearer',
        accessTokenExpiresAt: null,
        refreshToken: null,
        refreshTokenExpiresAt: null,
        idToken: null,
        claims: null,
        scope: null,
        sessionState: null,
        receivedAt: 0,
      },
      savedAt: new Date().toISOString(),
    });
    expect((await runDoctor({})).line('Credentials file').line).toMatch(/^✔ /);
    await chmod(path, 0o644);
    const { code, line } = await runDoctor({});
    expect(line('credentials file').line).toMatch(/^✘ .*mode 0644/);
    expect(line('credentials file').fix).toContain(`chmod 600 ${path}`);
    expect(code).toBe(1);
  });
});

describe('vmpro doctor: clock skew against the Date headers', () => {
  it('reports the clocks of the login server and the API as in step when nothing is off', async () => {
    const { out, line } = await runDoctor({});
    expect(line('Clock of the login server').line).toMatch(
      /^✔ Clock of the login server: (in step with|1 s (ahead of|behind)) this machine's \(±\d s\)$/,
    );
    expect(line('Clock of the API').line).toMatch(
      /^✔ Clock of the API: (in step with|1 s (ahead of|behind)) this machine's \(±\d s\)$/,
    );
    expect(out).not.toMatch(/^[!✘] .*clock/im);
  });

  describe('against an emulator whose clock runs ahead', () => {
    let ahead: RunningEmulator;
    beforeAll(async () => {
      ahead = await startEmulator({ port: 0 });
    });
    afterAll(async () => {
      await ahead.close();
    });

    it('warns at 45 s with the skew of each server, the likely cause and the fix; sign-ins still work', async () => {
      ahead.reset();
      ahead.advanceClock(45);
      const { code, out, line } = await runDoctor({ VMPRO_API_BASE: ahead.apiBase });
      const origin = ahead.url.replace(/\./g, '\\.');
      const login = line("The login server's clock");
      expect(login.line).toMatch(
        new RegExp(
          `^! The login server's clock \\(${origin}\\) is 4[456] s ahead of this machine's \\(±\\d s\\): sign-ins still work, but fail beyond the 60 s clock tolerance$`,
        ),
      );
      const api = line("The API's clock");
      expect(api.line).toMatch(
        new RegExp(
          `^! The API's clock \\(${origin}\\) is 4[456] s ahead of this machine's \\(±\\d s\\): one of the two clocks is off \\(sign-ins fail once this machine's and the login server's differ by more than 60 s\\)$`,
        ),
      );
      for (const [check, name] of [
        [login, 'login server'],
        [api, 'API'],
      ] as const) {
        expect(check.fix).toContain(`This machine's clock or the ${name}'s is off.`);
        expect(check.fix).toContain('(NTP)');
        expect(check.fix).toContain('`sudo timedatectl set-ntp true`');
        expect(check.fix).toContain('chrony');
      }
      expect(out).toContain('All checks passed.');
      expect(code).toBe(0);
    });

    it('fails at 5 minutes: sign-ins fail', async () => {
      ahead.reset();
      ahead.advanceClock(300);
      const { code, line } = await runDoctor({ VMPRO_API_BASE: ahead.apiBase });
      expect(line("The login server's clock").line).toMatch(
        /^✘ .* is (299|300|301) s ahead of this machine's \(±\d s\): beyond the 60 s clock tolerance, so sign-ins fail \(its tokens look issued in the future\)$/,
      );
      expect(code).toBe(1);
    });
  });

  /**
   * A login server and an API on two hosts, each with its own clock, on a fake network: every
   * answer takes `roundTripMs` of this machine's clock, and is dated half-way.
   */
  function twoServers(loginAheadMs: number, apiAheadMs: number, roundTripMs = 400) {
    let now = Date.UTC(2030, 0, 1, 12, 0, 0);
    const login = 'https://login.example';
    const api = 'https://api.example';
    const issuer = `${login}/auth/realms/platform`;
    const fetch = (async (input: string | URL | Request) => {
      const url = new URL(input instanceof Request ? input.url : input);
      now += roundTripMs / 2;
      const date = new Date(now + (url.origin === api ? apiAheadMs : loginAheadMs)).toUTCString();
      now += roundTripMs / 2;
      if (url.origin === api) {
        const jrd = {
          subject: `${api}/v1/`,
          links: [
            {
              rel: ISSUER_LINK_REL,
              href: `${issuer}/.well-known/openid-configuration`,
            },
          ],
        };
        return Response.json(jrd, { headers: { date, 'content-type': 'application/jrd+json' } });
      }
      const endpoint = (path: string) => `${issuer}/protocol/openid-connect/${path}`;
      return Response.json(
        {
          issuer,
          authorization_endpoint: endpoint('auth'),
          token_endpoint: endpoint('token'),
          jwks_uri: endpoint('certs'),
          code_challenge_methods_supported: ['S256'],
        },
        { headers: { date } },
      );
    }) as typeof globalThis.fetch;
    return { env: { VMPRO_API_BASE: api }, ctx: { fetch, now: () => now } };
  }

  it('blames the login server when the API on another host agrees with this machine', async () => {
    const servers = twoServers(45_000, 0);
    const { line } = await runDoctor(servers.env, {}, servers.ctx);
    const login = line("The login server's clock");
    expect(login.line).toMatch(/^! The login server's clock \(https:\/\/login\.example\) is 45 s ahead/);
    expect(login.fix).toContain(
      "The login server's clock is likely off: the API (https://api.example) agrees with this machine's.",
    );
    expect(line('Clock of the API').line).toMatch(/^✔ Clock of the API: in step with this machine's/);
  });

  it('blames this machine when both servers agree with each other', async () => {
    const servers = twoServers(-45_000, -45_000);
    const { code, line } = await runDoctor(servers.env, {}, servers.ctx);
    expect(line("The login server's clock").line).toMatch(/^! .* is 45 s behind this machine's/);
    expect(line("The API's clock").line).toMatch(/^! .* is 45 s behind this machine's/);
    expect(code).toBe(0);
    expect(line("The login server's clock").fix).toContain(
      "This machine's clock is likely off: the login server and the API agree with each other.",
    );
  });

  it('allows for the whole seconds of the Date header: 10 s is not warned, 12 s is', async () => {
    const at10 = twoServers(10_000, 0);
    expect((await runDoctor(at10.env, {}, at10.ctx)).line('Clock of the login server').line).toBe(
      "✔ Clock of the login server: 10 s ahead of this machine's (±1 s)",
    );
    const at12 = twoServers(12_000, 0);
    expect((await runDoctor(at12.env, {}, at12.ctx)).line("The login server's clock").line).toMatch(
      /^! .* 12 s ahead/,
    );
  });

  it('allows for a slow round trip instead of warning on what it cannot tell', async () => {
    const slow = twoServers(11_000, 0, 6000);
    expect((await runDoctor(slow.env, {}, slow.ctx)).line('Clock of the login server').line).toBe(
      "✔ Clock of the login server: 12 s ahead of this machine's (±4 s)",
    );
  });

  it('says the API clock was not compared when the issuer is configured (no WebFinger)', async () => {
    const { line } = await runDoctor({}, { issuer: emulator.issuer });
    expect(line('Clock of the API').line).toBe('– Clock of the API not compared: WebFinger was not needed');
    expect(line('Clock of the login server').line).toMatch(/^✔ /);
  });
});

describe('vmpro doctor: WebFinger and the OpenID configuration, as vmpro-connect reads them', () => {
  const api = 'https://api.example';
  const issuer = 'https://login.example/auth/realms/platform';
  const configurationUrl = `${issuer}/.well-known/openid-configuration`;
  const endpoint = (path: string) => `${issuer}/protocol/openid-connect/${path}`;
  const complete = {
    issuer,
    authorization_endpoint: endpoint('auth'),
    token_endpoint: endpoint('token'),
    jwks_uri: endpoint('certs'),
    code_challenge_methods_supported: ['S256'],
  };
  const movingimageForm = () =>
    Response.json(
      { subject: `${api}/v1/`, links: [{ rel: ISSUER_LINK_REL, href: configurationUrl }] },
      { headers: { 'content-type': 'application/jrd+json' } },
    );

  /** An API host and a login server on a fake network; each answer is made afresh per request. */
  function network(answers: { webfinger?: () => Response; configuration?: Record<string, unknown> }) {
    const fetch = (async (input: string | URL | Request) => {
      const url = new URL(input instanceof Request ? input.url : input);
      if (url.origin === api) return (answers.webfinger ?? movingimageForm)();
      return Response.json(answers.configuration ?? complete);
    }) as typeof globalThis.fetch;
    return [{ VMPRO_API_BASE: api }, {}, { fetch }] as const;
  }

  it("passes WebFinger in movingimage's form and a complete configuration, endpoints checked by the library", async () => {
    const { code, out } = await runDoctor(...network({}));
    expect(out).toContain(`✔ WebFinger in movingimage's form: the issuer link is ${configurationUrl}`);
    expect(out).toContain(`✔ OpenID configuration at ${configurationUrl}`);
    expect(out).toContain(`✔ Issuer ${issuer}`);
    expect(out).toContain('✔ PKCE with S256 supported');
    expect(out).toContain(
      '✔ Endpoints use https (or loopback http), as vmpro-connect checked while reading the configuration',
    );
    expect(code).toBe(0);
  });

  it('fails when WebFinger has no issuer link, and does not look for a configuration', async () => {
    const webfinger = () =>
      Response.json(
        { subject: `${api}/v1/`, links: [{ rel: 'self', href: api }] },
        {
          headers: { 'content-type': 'application/jrd+json' },
        },
      );
    const { code, line } = await runDoctor(...network({ webfinger }));
    const check = line('WebFinger');
    expect(check.line).toBe(
      `✘ WebFinger: Discovery (WebFinger) failed: the answer from ${api}/.well-known/webfinger?resource=${encodeURIComponent(`${api}/v1/`)} has no link with rel "${ISSUER_LINK_REL}". Check apiBase, or set the issuer explicitly.`,
    );
    expect(check.fix).toMatch(/does not announce a login server.*VMPRO_API_BASE.*VMPRO_ISSUER/);
    expect(line('OpenID configuration').line).toBe('– OpenID configuration not checked: its URL is unknown');
    expect(code).toBe(1);
  });

  it('says to try again later when WebFinger answers 503', async () => {
    const webfinger = () => new Response('down', { status: 503 });
    const { code, line } = await runDoctor(...network({ webfinger }));
    expect(line('WebFinger').line).toMatch(
      /^✘ WebFinger: Discovery \(WebFinger\) failed: \S+ answered HTTP 503\./,
    );
    expect(line('WebFinger').fix).toMatch(/^ {4}fix: The server has a problem: try again later\./);
    expect(code).toBe(1);
  });

  it("warns when WebFinger works but differs from movingimage's form, naming each difference", async () => {
    const webfinger = () =>
      Response.json({ subject: 'acct:someone@api.example', links: [{ rel: ISSUER_LINK_REL, href: issuer }] });
    const { code, line } = await runDoctor(...network({ webfinger }));
    const check = line('WebFinger');
    expect(check.line).toBe(
      `! WebFinger works but differs from movingimage's form: the issuer link is a bare issuer, not the configuration URL; the subject is "acct:someone@api.example", not ${api}/v1/; the content type is not application/jrd+json`,
    );
    expect(check.fix).toContain('vmpro-connect copes with this');
    expect(line('OpenID configuration').line).toBe(`✔ OpenID configuration at ${configurationUrl}`);
    expect(code).toBe(0);
  });

  it('fails when the configuration does not advertise PKCE S256', async () => {
    const { code_challenge_methods_supported: _, ...withoutPkce } = complete;
    const { code, line } = await runDoctor(...network({ configuration: withoutPkce }));
    expect(line('PKCE').line).toBe('✘ PKCE S256 is not advertised (code_challenge_methods_supported: null)');
    expect(line('PKCE').fix).toContain('Enable PKCE S256');
    expect(line('Issuer').line).toBe(`✔ Issuer ${issuer}`);
    expect(code).toBe(1);

    const plainOnly = await runDoctor(
      ...network({ configuration: { ...complete, code_challenge_methods_supported: ['plain'] } }),
    );
    expect(plainOnly.line('PKCE').line).toBe(
      '✘ PKCE S256 is not advertised (code_challenge_methods_supported: ["plain"])',
    );
  });

  it('fails on an endpoint over plain http to a host that is not loopback', async () => {
    const insecure = 'http://login.example/auth/realms/platform/protocol/openid-connect/token';
    const { code, line, out } = await runDoctor(
      ...network({ configuration: { ...complete, token_endpoint: insecure } }),
    );
    const check = line('token_endpoint');
    expect(check.line).toBe(
      `✘ OpenID configuration: Discovery failed: "token_endpoint" in the OpenID configuration at ${configurationUrl} (${insecure}) uses plain http:// to a non-loopback host; https:// is required.`,
    );
    expect(check.fix).toMatch(
      /https:\/\/ endpoints \(plain http:\/\/ only on 127\.0\.0\.1\/::1\/localhost\)/,
    );
    expect(out).not.toContain('✔ Endpoints');
    expect(line('PKCE').line).toMatch(/^– /);
    expect(code).toBe(1);
  });

  it('fails when the configuration lacks a required endpoint', async () => {
    const { jwks_uri: _, ...withoutJwks } = complete;
    const { code, line } = await runDoctor(...network({ configuration: withoutJwks }));
    expect(line('jwks_uri').line).toBe(
      `✘ OpenID configuration: Discovery failed: the OpenID configuration at ${configurationUrl} has no "jwks_uri". Check that the URL points to the login server's realm.`,
    );
    expect(line('jwks_uri').fix).toContain('VMPRO_ISSUER');
    expect(code).toBe(1);
  });

  it('fails on a configured issuer over plain http to a host that is not loopback, naming the setting', async () => {
    const [env, , ctx] = network({});
    const { code, line } = await runDoctor(env, { issuer: 'http://login.example/auth/realms/platform' }, ctx);
    const check = line('`issuer`');
    expect(check.line).toMatch(/^✘ Issuer: vmpro-connect: `issuer` must use https:\/\//);
    expect(check.fix).toContain('Set VMPRO_ISSUER (or --issuer)');
    expect(code).toBe(1);
  });
});

describe.skipIf(!process.env.DATABASE_URL)('vmpro doctor with PostgreSQL (needs DATABASE_URL)', () => {
  it('passes when the PostgreSQL store answers SELECT 1', async () => {
    const { line } = await runDoctor({ VMPRO_SESSION_STORE: process.env.DATABASE_URL! });
    expect(line('PostgreSQL at').line).toMatch(/^✔ PostgreSQL at .* answers SELECT 1/);
  });
});

const noCluster = clusterUnavailable();
describe.skipIf(noCluster !== undefined)(
  `vmpro doctor with a Redis Cluster${noCluster ? ` (skipped: ${noCluster})` : ''}`,
  () => {
    let cluster: RunningCluster;
    beforeAll(async () => {
      cluster = await startRedisCluster();
    }, 30_000);
    afterAll(async () => {
      await cluster?.close();
    });

    it('passes when a seed node answers with cluster_state:ok, even if another seed is down', async () => {
      const down = await freePort();
      const [first] = cluster.startupNodes;
      const { line } = await runDoctor({
        VMPRO_SESSION_STORE: `redis-cluster://127.0.0.1:${down},127.0.0.1:${first!.port}`,
      });
      expect(line('Redis Cluster').line).toMatch(/^✔ Redis Cluster .* answers, cluster_state:ok/);
    });
  },
);

describe.skipIf(!process.env.REDIS_URL)('vmpro doctor with Redis (needs REDIS_URL)', () => {
  it('passes when the Redis store answers PING', async () => {
    const { line } = await runDoctor({ VMPRO_SESSION_STORE: process.env.REDIS_URL! });
    expect(line('Redis at').line).toMatch(/^✔ Redis at .* answers PING/);
  });
});
