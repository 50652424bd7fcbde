/**
 * `vmpro login` with the browser (authorization code flow) end to end: the command runs
 * in-process, the test plays the browser against the emulator's login form and the command's
 * loopback callback server.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from 'vmpro-connect/emulator';
import { type LoginOptions, login } from './commands/login.js';
import { logout } from './commands/logout.js';
import type { CliContext } from './context.js';
import { credentialsPath, readCredentials } from './credentials.js';

let emulator: RunningEmulator;
let home: string;

beforeAll(async () => {
  emulator = await startEmulator({ port: 0 });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'vmpro-login-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

interface Started {
  /** The command's exit code, once it finishes. */
  done: Promise<number>;
  /** The authorization URL the command printed. */
  authorizationUrl: Promise<URL>;
  out: () => string;
  err: () => string;
  ctx: CliContext;
}

/** Starts `vmpro login` in-process and resolves the printed authorization URL. */
function startLogin(
  options: LoginOptions,
  env: Record<string, string> = {},
  extra: Partial<CliContext> = {},
): Started {
  let out = '';
  let err = '';
  let found!: (url: URL) => void;
  const authorizationUrl = new Promise<URL>((resolve) => {
    found = resolve;
  });
  const ctx: CliContext = {
    env: { VMPRO_HOME: home, VMPRO_API_BASE: emulator.apiBase, ...env },
    stdout: {
      write: (s: string) => {
        out += s;
        const match = /^ {2}(http\S+\/protocol\/openid-connect\/auth\?\S+)$/m.exec(out);
        if (match?.[1]) found(new URL(match[1]));
      },
    },
    stderr: { write: (s: string) => (err += s) },
    ...extra,
  };
  return { done: login(options, ctx), authorizationUrl, out: () => out, err: () => err, ctx };
}

/** A port nobody listens on right now. */
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

/** Registers the redirect URI the command chose, as movingimage would have in advance. */
function register(url: URL, clientId: string, clientSecret?: string): string {
  const redirectUri = url.searchParams.get('redirect_uri')!;
  emulator.addClient({
    clientId,
    redirectUris: [redirectUri],
    ...(clientSecret ? { clientSecret } : { publicClient: true }),
  });
  return redirectUri;
}

/** Plays the browser at the login page: GET the URL, submit the form, return the redirect's Location. */
async function submitLoginForm(url: URL, fields: Record<string, string>): Promise<string> {
  const page = await fetch(url, { redirect: 'manual' });
  expect(page.status).toBe(200);
  const html = await page.text();
  const form = /<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/.exec(html);
  if (!form?.[1] || form[2] === undefined) throw new Error('no login form on the page');
  const body = new URLSearchParams();
  for (const input of form[2].matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = /name="([^"]+)"/.exec(input[0])?.[1];
    const value = /value="([^"]*)"/.exec(input[0])?.[1] ?? '';
    if (name) body.set(name, value);
  }
  for (const [k, v] of Object.entries(fields)) body.set(k, v);
  const cookies = page.headers.getSetCookie().map((c) => c.split(';')[0]);
  const answer = await fetch(new URL(form[1].replace(/&amp;/g, '&'), url), {
    method: 'POST',
    body,
    redirect: 'manual',
    headers: cookies.length > 0 ? { cookie: cookies.join('; ') } : {},
  });
  expect(answer.status).toBeGreaterThanOrEqual(300);
  expect(answer.status).toBeLessThan(400);
  return answer.headers.get('location')!;
}

describe('vmpro login (browser sign-in)', () => {
  it('prints the authorization URL, receives the callback on the loopback server and stores the login', async () => {
    const started = startLogin({ clientId: 'cli-public' });
    const url = await started.authorizationUrl;
    expect(started.out()).toContain('Open this URL in your browser to sign in:');
    const redirectUri = register(url, 'cli-public');
    expect(redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');

    const location = await submitLoginForm(url, { username: 'demo', password: 'demo', login: 'Sign In' });
    expect(location.startsWith(`${redirectUri}?`)).toBe(true);
    const browser = await fetch(location);
    expect(browser.status).toBe(200);
    expect(await browser.text()).toContain('You are signed in; you can close this tab');

    expect(await started.done).toBe(0);
    const stored = await readCredentials(credentialsPath({ VMPRO_HOME: home }));
    expect(stored?.grant).toBe('authorization_code');
    expect(stored?.clientId).toBe('cli-public');
    expect(stored?.clientSecret).toBeUndefined();
    expect(stored?.tokens.claims?.preferred_username).toBe('demo');
    expect(started.out()).toContain('Signed in as Dana Demo <dana.demo@example.com>');
    expect(started.out()).not.toContain(stored!.tokens.accessToken);
  });

  it('after a browser sign-in, logout prints the end-session URL for the browser, without a token in it', async () => {
    const started = startLogin({ clientId: 'cli-logout' });
    const url = await started.authorizationUrl;
    register(url, 'cli-logout');
    const location = await submitLoginForm(url, { username: 'demo', password: 'demo', login: 'Sign In' });
    await (await fetch(location)).text();
    expect(await started.done).toBe(0);

    let out = '';
    const ctx: CliContext = { ...started.ctx, stdout: { write: (s: string) => (out += s) } };
    expect(await logout(ctx)).toBe(0);
    const line = /To sign out in your browser too, open: (\S+)/.exec(out);
    const endSession = new URL(line![1]!);
    expect(endSession.href.startsWith(`${emulator.issuer}/protocol/openid-connect/logout?`)).toBe(true);
    expect(endSession.searchParams.get('client_id')).toBe('cli-logout');
    expect(endSession.searchParams.has('id_token_hint')).toBe(false);
  });

  it('stores the client secret of a confidential client (it is needed to refresh) and says so', async () => {
    const started = startLogin(
      {},
      { VMPRO_CLIENT_ID: 'cli-confidential', VMPRO_CLIENT_SECRET: 'cli-secret' },
    );
    const url = await started.authorizationUrl;
    register(url, 'cli-confidential', 'cli-secret');
    const location = await submitLoginForm(url, { username: 'demo', password: 'demo', login: 'Sign In' });
    await (await fetch(location)).text();
    expect(await started.done).toBe(0);
    const stored = await readCredentials(credentialsPath({ VMPRO_HOME: home }));
    expect(stored?.clientSecret).toBe('cli-secret');
    expect(started.out()).toContain('(with the client secret)');
    expect(started.out() + started.err()).not.toContain('cli-secret');
  });

  it("fails with the login server's error when the user cancels, shows it in the browser, stores nothing", async () => {
    const started = startLogin({ clientId: 'cli-cancel' });
    const url = await started.authorizationUrl;
    register(url, 'cli-cancel');
    const location = await submitLoginForm(url, { cancel: 'on' });
    const browser = await fetch(location);
    expect(browser.status).toBe(400);
    expect(await browser.text()).toContain('Sign-in failed');
    expect(await started.done).toBe(1);
    expect(started.err()).toMatch(/access_denied|cancelled/);
    expect(await readCredentials(credentialsPath({ VMPRO_HOME: home }))).toBeNull();
  });

  it('refuses a callback whose state does not match, and stores nothing', async () => {
    const started = startLogin({ clientId: 'cli-forged' });
    const url = await started.authorizationUrl;
    const redirectUri = register(url, 'cli-forged');
    const forged = await fetch(
      `${redirectUri}?code=forged&state=not-the-state&iss=${encodeURIComponent(emulator.issuer)}`,
    );
    expect(forged.status).toBe(400);
    expect(await started.done).toBe(1);
    expect(started.err()).toMatch(/state/i);
    expect(await readCredentials(credentialsPath({ VMPRO_HOME: home }))).toBeNull();
  });

  it('answers other paths on the loopback server with 404 and keeps waiting', async () => {
    const started = startLogin({ clientId: 'cli-favicon' });
    const url = await started.authorizationUrl;
    const redirectUri = register(url, 'cli-favicon');
    const favicon = await fetch(new URL('/favicon.ico', redirectUri));
    expect(favicon.status).toBe(404);
    const location = await submitLoginForm(url, { username: 'demo', password: 'demo', login: 'Sign In' });
    await (await fetch(location)).text();
    expect(await started.done).toBe(0);
  });

  it('uses the exact --redirect-uri given (localhost, any path)', async () => {
    const port = await freePort();
    const started = startLogin({ clientId: 'cli-exact', redirectUri: `http://localhost:${port}/vmpro/back` });
    const url = await started.authorizationUrl;
    expect(url.searchParams.get('redirect_uri')).toBe(`http://localhost:${port}/vmpro/back`);
    register(url, 'cli-exact');
    const location = await submitLoginForm(url, { username: 'demo', password: 'demo', login: 'Sign In' });
    expect(location.startsWith(`http://localhost:${port}/vmpro/back?`)).toBe(true);
    await (await fetch(location.replace('//localhost:', '//127.0.0.1:'))).text();
    expect(await started.done).toBe(0);
  });

  it('refuses a --redirect-uri that is not loopback http (usage error, exit 2)', async () => {
    const started = startLogin({ clientId: 'x', redirectUri: 'https://example.com/callback' });
    expect(await started.done).toBe(2);
    expect(started.err()).toContain('--redirect-uri must be a loopback http:// URL');
  });

  it('without a client id explains where it comes from, or to use --password (exit 2)', async () => {
    const started = startLogin({});
    expect(await started.done).toBe(2);
    expect(started.err()).toContain('VMPRO_CLIENT_ID');
    expect(started.err()).toContain('--password');
  });

  it('gives up after --timeout seconds with a hint about the redirect URI', async () => {
    const started = startLogin({ clientId: 'cli-timeout', timeout: 1 });
    expect(await started.done).toBe(1);
    expect(started.err()).toContain('No sign-in came back within 1 s');
    expect(started.err()).toContain('redirect URI');
  });

  it('stops waiting when cancelled (Ctrl-C)', async () => {
    const stop = new AbortController();
    const started = startLogin({ clientId: 'cli-ctrl-c' }, {}, { signal: stop.signal });
    await started.authorizationUrl;
    stop.abort();
    expect(await started.done).toBe(1);
    expect(started.err()).toContain('Sign-in cancelled');
  });

  it('opens the browser only with --open', async () => {
    const opened: string[] = [];
    const started = startLogin(
      { clientId: 'cli-open', open: true },
      {},
      { openUrl: async (u) => void opened.push(u) },
    );
    const url = await started.authorizationUrl;
    register(url, 'cli-open');
    expect(opened).toEqual([url.href]);
    const location = await submitLoginForm(url, { username: 'demo', password: 'demo', login: 'Sign In' });
    await (await fetch(location)).text();
    expect(await started.done).toBe(0);
    await expect(readFile(credentialsPath({ VMPRO_HOME: home }), 'utf8')).resolves.toContain('cli-open');
  });
});
