/**
 * The `vmpro` commands against a real emulator over sockets: password login, whoami, token (and
 * its refresh), api, logout.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_USERS, type RunningEmulator, startEmulator } from 'vmpro-connect/emulator';
import { api } from './commands/api.js';
import { login } from './commands/login.js';
import { logout } from './commands/logout.js';
import { token } from './commands/token.js';
import { whoami } from './commands/whoami.js';
import type { CliContext } from './context.js';
import { credentialsPath, readCredentials } from './credentials.js';

interface Captured {
  ctx: CliContext;
  out: () => string;
  err: () => string;
}

let home: string;

function run(
  emulator: RunningEmulator,
  env: Record<string, string> = {},
  extra: Partial<CliContext> = {},
): Captured {
  let out = '';
  let err = '';
  return {
    ctx: {
      env: { VMPRO_HOME: home, VMPRO_API_BASE: emulator.apiBase, ...env },
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
      ...extra,
    },
    out: () => out,
    err: () => err,
  };
}

async function passwordLogin(emulator: RunningEmulator, username = 'demo'): Promise<Captured> {
  const user = DEMO_USERS.find((u) => u.username === username)!;
  const c = run(emulator, { VMPRO_PASSWORD: user.password });
  expect(await login({ password: true, username }, c.ctx)).toBe(0);
  return c;
}

async function stored() {
  const login = await readCredentials(credentialsPath({ VMPRO_HOME: home }));
  if (!login) throw new Error('no credentials file');
  return login;
}

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'vmpro-cli-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('vmpro login --password, whoami, token, api, logout (emulator with default lifetimes)', () => {
  let emulator: RunningEmulator;
  beforeAll(async () => {
    emulator = await startEmulator({ port: 0 });
  });
  afterAll(async () => {
    await emulator.close();
  });

  it('login --password signs in with VMPRO_PASSWORD and says who, never printing a token', async () => {
    const c = await passwordLogin(emulator);
    expect(c.out()).toContain('Signed in as Dana Demo <dana.demo@example.com>');
    expect(c.out()).toMatch(/Access token valid until .*\(in (5 min|4 min 5\d s)\)/);
    const login = await stored();
    expect(login.clientId).toBe('anonymous');
    expect(login.grant).toBe('password');
    expect(login.issuer).toBe(emulator.issuer);
    expect(c.out()).not.toContain(login.tokens.accessToken);
    expect(c.out()).not.toContain(login.tokens.refreshToken!);
  });

  it('login --password with a wrong password fails with exit 1 and stores nothing', async () => {
    const c = run(emulator, { VMPRO_PASSWORD: 'wrong' });
    expect(await login({ password: true, username: 'demo' }, c.ctx)).toBe(1);
    expect(c.err()).toMatch(/refused/i);
    expect(c.err()).not.toContain('wrong');
    expect(await readCredentials(credentialsPath({ VMPRO_HOME: home }))).toBeNull();
  });

  it('login --password asks for the user name and the password when they are not given', async () => {
    const asked: { label: string; secret: boolean }[] = [];
    const c = run(
      emulator,
      {},
      {
        prompt: {
          question: async (label, options) => {
            asked.push({ label, secret: options?.secret === true });
            return options?.secret ? 'demo' : 'demo';
          },
        },
      },
    );
    expect(await login({ password: true }, c.ctx)).toBe(0);
    expect(asked.map((a) => a.secret)).toEqual([false, true]);
  });

  it('login --password without a terminal and without VMPRO_PASSWORD is a usage error naming VMPRO_PASSWORD', async () => {
    const c = run(emulator);
    expect(await login({ password: true, username: 'demo' }, c.ctx)).toBe(2);
    expect(c.err()).toContain('VMPRO_PASSWORD');
  });

  it('whoami shows the user, the issuer and the expiries, but no token', async () => {
    await passwordLogin(emulator);
    const c = run(emulator);
    expect(await whoami(c.ctx)).toBe(0);
    expect(c.out()).toContain('Signed in as Dana Demo');
    const login = await stored();
    expect(c.out()).toContain('Dana Demo');
    expect(c.out()).toContain('dana.demo@example.com');
    expect(c.out()).toContain(DEMO_USERS[0].sub);
    expect(c.out()).toMatch(/user name:\s+demo/);
    expect(c.out()).toContain(emulator.issuer);
    expect(c.out()).toMatch(/access token:\s+expires/);
    expect(c.out()).not.toContain(login.tokens.accessToken);
    expect(c.out()).not.toContain(login.tokens.refreshToken!);
  });

  it('whoami after the login has ended says so, exit 3', async () => {
    await passwordLogin(emulator);
    const c = run(emulator, {}, { now: () => Date.now() + 2 * 3600_000 });
    expect(await whoami(c.ctx)).toBe(3);
    expect(c.out()).toContain('The login of Dana Demo <dana.demo@example.com> has ended.');
    expect(c.out()).not.toContain('Signed in as');
    expect(c.err()).toContain('Your login has ended; run `vmpro login` again');
  });

  it('whoami without a login tells to run vmpro login, exit 3', async () => {
    const c = run(emulator);
    expect(await whoami(c.ctx)).toBe(3);
    expect(c.err()).toContain('vmpro login');
  });

  it('token prints the stored access token and nothing else while it is fresh', async () => {
    await passwordLogin(emulator);
    const refreshesBefore = emulator.counters().login.tokenRequests.refresh_token;
    const c = run(emulator);
    expect(await token({}, c.ctx)).toBe(0);
    expect(c.out()).toBe(`${(await stored()).tokens.accessToken}\n`);
    expect(c.err()).toBe('');
    expect(emulator.counters().login.tokenRequests.refresh_token).toBe(refreshesBefore);
  });

  it('token --json prints the token with its expiry as ISO time', async () => {
    await passwordLogin(emulator);
    const c = run(emulator);
    expect(await token({ json: true }, c.ctx)).toBe(0);
    const printed = JSON.parse(c.out()) as { accessToken: string; expiresAt: string };
    const login = await stored();
    expect(printed).toEqual({
      accessToken: login.tokens.accessToken,
      expiresAt: new Date(login.tokens.accessTokenExpiresAt!).toISOString(),
    });
  });

  it('token refreshes when the stored token has less than 30 s left, and saves the new tokens', async () => {
    await passwordLogin(emulator);
    const before = await stored();
    const refreshesBefore = emulator.counters().login.tokenRequests.refresh_token;
    // 280 s later on this machine's clock: 20 s left.
    const c = run(emulator, {}, { now: () => Date.now() + 280_000 });
    expect(await token({}, c.ctx)).toBe(0);
    const after = await stored();
    expect(after.tokens.accessToken).not.toBe(before.tokens.accessToken);
    expect(c.out()).toBe(`${after.tokens.accessToken}\n`);
    expect(emulator.counters().login.tokenRequests.refresh_token).toBe(refreshesBefore + 1);
  });

  it('token says the login has ended when the refresh token has expired, without asking the server', async () => {
    await passwordLogin(emulator);
    const refreshesBefore = emulator.counters().login.tokenRequests.refresh_token;
    const c = run(emulator, {}, { now: () => Date.now() + 2 * 3600_000 });
    expect(await token({}, c.ctx)).toBe(3);
    expect(c.out()).toBe('');
    expect(c.err()).toContain('Your login has ended; run `vmpro login` again');
    expect(emulator.counters().login.tokenRequests.refresh_token).toBe(refreshesBefore);
  });

  it('token says the login has ended when the login server refuses the refresh (session ended there)', async () => {
    await passwordLogin(emulator, 'novms');
    await emulator.logoutUser('novms');
    const c = run(emulator, {}, { now: () => Date.now() + 280_000 });
    expect(await token({}, c.ctx)).toBe(3);
    expect(c.out()).toBe('');
    expect(c.err()).toContain('Your login has ended; run `vmpro login` again');
    expect((await stored()).endedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('after token found the login ended at the server, whoami says it has ended too, without asking again', async () => {
    await passwordLogin(emulator, 'novms');
    await emulator.logoutUser('novms');
    const first = run(emulator, {}, { now: () => Date.now() + 280_000 });
    expect(await token({}, first.ctx)).toBe(3);
    const refreshes = emulator.counters().login.tokenRequests.refresh_token;

    // Now, on the real clock, the stored access token still looks valid for minutes.
    const c = run(emulator);
    expect(await whoami(c.ctx)).toBe(3);
    expect(c.out()).toContain('has ended.');
    expect(c.out()).not.toContain('Signed in as');
    expect(c.out()).toMatch(/login:\s+ended: the login server refused to renew it at /);
    expect(c.err()).toContain('Your login has ended; run `vmpro login` again');
    const again = run(emulator);
    expect(await token({}, again.ctx)).toBe(3);
    expect(emulator.counters().login.tokenRequests.refresh_token).toBe(refreshes);
  });

  it('whoami with an access token due for refresh asks the login server, and reports a login ended there', async () => {
    await passwordLogin(emulator, 'novms');
    await emulator.logoutUser('novms');
    const c = run(emulator, {}, { now: () => Date.now() + 280_000 });
    expect(await whoami(c.ctx)).toBe(3);
    expect(c.out()).toContain('has ended.');
    expect((await stored()).endedAt).toBeDefined();
  });

  it('whoami with an access token due for refresh refreshes it and says who is signed in', async () => {
    await passwordLogin(emulator);
    const before = await stored();
    const c = run(emulator, {}, { now: () => Date.now() + 280_000 });
    expect(await whoami(c.ctx)).toBe(0);
    expect(c.out()).toContain('Signed in as Dana Demo');
    expect((await stored()).tokens.accessToken).not.toBe(before.tokens.accessToken);
  });

  it('api GET /v1/vms prints the two demo VideoManagers as JSON', async () => {
    await passwordLogin(emulator);
    const c = run(emulator);
    expect(await api('GET', '/v1/vms', {}, c.ctx)).toBe(0);
    const vms = JSON.parse(c.out()) as { id: number; name: string }[];
    expect(vms.map((vm) => vm.name)).toEqual(['Demo Marketing', 'Demo Training']);
    expect(c.out()).toContain('\n  '); // pretty-printed
  });

  it('api refreshes once and retries when the API refuses the token as invalid_token', async () => {
    await passwordLogin(emulator);
    const before = await stored();
    const refreshes = emulator.counters().login.tokenRequests.refresh_token;
    emulator.api.addFault({ method: 'GET', path: '/v1/vms', kind: 'invalid_token', times: 1 });
    const c = run(emulator);
    expect(await api('GET', '/v1/vms', {}, c.ctx)).toBe(0);
    expect(JSON.parse(c.out())).toHaveLength(2);
    expect(emulator.counters().login.tokenRequests.refresh_token).toBe(refreshes + 1);
    expect((await stored()).tokens.accessToken).not.toBe(before.tokens.accessToken);
  });

  it('api says the login has ended when it can no longer be refreshed', async () => {
    await passwordLogin(emulator);
    const requests = emulator.counters().api.requests['GET /v1/vms'] ?? 0;
    const c = run(emulator, {}, { now: () => Date.now() + 2 * 3600_000 });
    expect(await api('GET', '/v1/vms', {}, c.ctx)).toBe(3);
    expect(c.err()).toContain('Your login has ended; run `vmpro login` again');
    expect(emulator.counters().api.requests['GET /v1/vms'] ?? 0).toBe(requests);
  });

  it('api passes --query parameters as written', async () => {
    await passwordLogin(emulator);
    const c = run(emulator);
    expect(await api('GET', '/v1/vms/1001/videos', { query: ['limit=1'] }, c.ctx)).toBe(0);
    const page = JSON.parse(c.out()) as { videos: unknown[]; total: number };
    expect(page.videos).toHaveLength(1);
    expect(page.total).toBeGreaterThan(1);
  });

  it('api POST with --data prints 201 Created and the Location header', async () => {
    await passwordLogin(emulator);
    const c = run(emulator);
    const data = JSON.stringify({ title: 'From the CLI', fileName: 'cli.mp4' });
    expect(await api('POST', '/v1/vms/1001/videos', { data }, c.ctx)).toBe(0);
    expect(c.out()).toMatch(
      /^201 Created\nLocation: http:\/\/127\.0\.0\.1:\d+\/v1\/vms\/1001\/videos\/\S+\n$/,
    );
  });

  it('api errors show the status, the API message and a hint, exit 1', async () => {
    await passwordLogin(emulator);
    const c = run(emulator);
    expect(await api('GET', '/v1/vms/nope/videos', {}, c.ctx)).toBe(1);
    expect(c.err()).toContain('The API answered HTTP 400 to GET /v1/vms/nope/videos');
    expect(c.err()).toMatch(/Message: .*videoManagerId/);
    expect(c.err()).toContain('Likely cause:');
  });

  it('api exits 4 when the API answers 503, so a script can try again later', async () => {
    await passwordLogin(emulator);
    emulator.api.addFault({ method: 'GET', path: '/v1/vms', kind: 'status', status: 503, times: 3 });
    const c = run(emulator);
    expect(await api('GET', '/v1/vms', {}, c.ctx)).toBe(4);
    expect(c.err()).toContain('The API answered HTTP 503 to GET /v1/vms');
  });

  it('a login at an issuer that does not exist is a configuration error, exit 5', async () => {
    const c = run(emulator, { VMPRO_PASSWORD: 'demo' });
    const issuer = `${emulator.url}/auth/realms/nope`;
    expect(await login({ password: true, username: 'demo', issuer }, c.ctx)).toBe(5);
    expect(c.err()).toContain('404');
  });

  it('api with --data that is not JSON is a usage error (exit 2) and sends nothing', async () => {
    await passwordLogin(emulator);
    const requests = emulator.counters().api.requests['POST /v1/vms/{vm}/videos'] ?? 0;
    const c = run(emulator);
    expect(await api('POST', '/v1/vms/1001/videos', { data: '{title:' }, c.ctx)).toBe(2);
    expect(c.err()).toContain('--data is not valid JSON');
    expect(emulator.counters().api.requests['POST /v1/vms/{vm}/videos'] ?? 0).toBe(requests);
  });

  it('api reads --data @file', async () => {
    await passwordLogin(emulator);
    const file = join(home, 'body.json');
    await import('node:fs/promises').then((fs) =>
      fs.writeFile(file, JSON.stringify({ title: 'From a file', fileName: 'file.mp4' })),
    );
    const c = run(emulator);
    expect(await api('POST', '/v1/vms/1001/videos', { data: `@${file}` }, c.ctx)).toBe(0);
    expect(c.out()).toMatch(/^201 Created/);
  });

  it('logout revokes the login, deletes the file, and a later token tells to run vmpro login', async () => {
    await passwordLogin(emulator);
    const revocations = emulator.counters().login.revocations;
    const c = run(emulator);
    expect(await logout(c.ctx)).toBe(0);
    expect(c.out()).toContain('Revoked the login');
    expect(c.out()).toContain('Signed out');
    expect(emulator.counters().login.revocations).toBe(revocations + 1);
    await expect(readFile(credentialsPath({ VMPRO_HOME: home }))).rejects.toMatchObject({ code: 'ENOENT' });

    const after = run(emulator);
    expect(await token({}, after.ctx)).toBe(3);
    expect(after.out()).toBe('');
    expect(after.err()).toMatch(/run `vmpro login`/i);
  });

  it('logout when not signed in says so and succeeds', async () => {
    const c = run(emulator);
    expect(await logout(c.ctx)).toBe(0);
    expect(c.out()).toContain('not signed in');
  });
});

describe('vmpro token with short-lived access tokens and single-use refresh tokens', () => {
  let emulator: RunningEmulator;
  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, accessTokenLifetime: 20, strictRefreshTokenReuse: true });
  });
  afterAll(async () => {
    await emulator.close();
  });

  it('refreshes a token with 20 s left and rewrites the credentials file', async () => {
    await passwordLogin(emulator);
    const before = await stored();
    const c = run(emulator);
    expect(await token({}, c.ctx)).toBe(0);
    const after = await stored();
    expect(after.tokens.accessToken).not.toBe(before.tokens.accessToken);
    expect(after.tokens.refreshToken).not.toBe(before.tokens.refreshToken);
    expect(after.savedAt >= before.savedAt).toBe(true);
    expect(c.out()).toBe(`${after.tokens.accessToken}\n`);
  });

  it('two vmpro token runs at once refresh only once and print the same token', async () => {
    await passwordLogin(emulator);
    const refreshes = emulator.counters().login.tokenRequests.refresh_token;
    const a = run(emulator);
    const b = run(emulator);
    const codes = await Promise.all([token({}, a.ctx), token({}, b.ctx)]);
    expect(codes).toEqual([0, 0]);
    expect(a.out()).toBe(b.out());
    expect(emulator.counters().login.tokenRequests.refresh_token).toBe(refreshes + 1);
  });

  it('api refreshes as needed and still answers', async () => {
    await passwordLogin(emulator);
    const c = run(emulator);
    expect(await api('GET', '/v1/vms', {}, c.ctx)).toBe(0);
    expect(JSON.parse(c.out())).toHaveLength(2);
  });
});

describe('vmpro when the login server is unreachable', () => {
  it('token exits 4 and says once that it may work later', async () => {
    const emulator = await startEmulator({ port: 0 });
    await passwordLogin(emulator);
    await emulator.close();
    const c = run(emulator, {}, { now: () => Date.now() + 280_000 });
    expect(await token({}, c.ctx)).toBe(4);
    expect(c.out()).toBe('');
    expect(c.err()).toMatch(/could not be reached/);
    expect(c.err().match(/later/gi)).toHaveLength(1);
  });

  it('a login whose discovery cannot reach the server exits 4 and says once that it may work later', async () => {
    const emulator = await startEmulator({ port: 0 });
    await emulator.close();
    const c = run(emulator, { VMPRO_PASSWORD: 'demo' });
    expect(await login({ password: true, username: 'demo' }, c.ctx)).toBe(4);
    expect(c.err()).toContain('VMPRO_DISCOVERY_FAILED');
    expect(c.err().match(/later/gi)).toHaveLength(1);
  });

  it('whoami with an access token due for refresh says who, that it could not check, and exits 4', async () => {
    const emulator = await startEmulator({ port: 0 });
    await passwordLogin(emulator);
    await emulator.close();
    const c = run(emulator, {}, { now: () => Date.now() + 280_000 });
    expect(await whoami(c.ctx)).toBe(4);
    expect(c.out()).toContain('Signed in as Dana Demo');
    expect(c.out()).toContain('could not be refreshed now');
    expect(c.err()).toContain('Whether the login is still valid could not be checked');
  });

  it('deletes the local credentials anyway and says the login stays valid at the server', async () => {
    const emulator = await startEmulator({ port: 0 });
    await passwordLogin(emulator);
    await emulator.close();
    const c = run(emulator);
    expect(await logout(c.ctx)).toBe(0);
    expect(c.err()).toMatch(/Could not revoke the login/);
    expect(c.err()).toMatch(/stays valid at the server until/);
    expect(c.out()).toContain('Signed out');
    expect(await readCredentials(credentialsPath({ VMPRO_HOME: home }))).toBeNull();
  });
});
