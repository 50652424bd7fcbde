/**
 * The child side of the harness: announce readiness as one JSON line on stdout, and stop on
 * SIGTERM, SIGINT or when stdin closes (the parent died or is done).
 */
import { parseLoginForm, TestBrowser } from '../../test/support/browser.js';

export function announceReady(info: Record<string, unknown>, close: () => Promise<void>): void {
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    setTimeout(() => process.exit(0), 3000).unref();
    close()
      .catch((error: unknown) => console.error('close failed:', error))
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify({ ready: true, ...info })}\n`);
}

/** Runs `main`; on failure prints the error on stderr (the parent shows it) and exits 1. */
export function runChild(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

/** Env variable or a clear failure. */
export function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (the benchmark harness sets it)`);
  return value;
}

/** Registers a client at an emulator over its control endpoint. */
export async function registerClient(
  emulatorUrl: string,
  client: {
    clientId: string;
    clientSecret: string;
    redirectUris: string[];
    postLogoutRedirectUris: string[];
  },
): Promise<void> {
  const response = await fetch(`${emulatorUrl}/_emulator/clients`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(client),
  });
  if (response.status !== 201)
    throw new Error(`registering ${client.clientId} failed: ${response.status} ${await response.text()}`);
}

/**
 * Logs in like a browser: `startUrl` must lead (through redirects) to the emulator's login form;
 * the form is posted with demo/demo and the redirects followed back to the app. Returns the
 * browser, whose jar then holds the app's session cookie(s).
 */
export async function browserLogin(
  startUrl: string,
  credentials = { username: 'demo', password: 'demo' },
): Promise<TestBrowser> {
  const browser = new TestBrowser();
  const toForm = await browser.follow(startUrl);
  if (toForm.response?.status !== 200) {
    throw new Error(`expected the login form, got ${toForm.response?.status} at ${toForm.url}`);
  }
  const { action, hidden } = parseLoginForm(await toForm.response.text(), toForm.url);
  const posted = await browser.postForm(action, { ...hidden, ...credentials }, toForm.url);
  const location = posted.headers.get('location');
  if (!location) throw new Error(`the login form answered ${posted.status} without a redirect`);
  const done = await browser.follow(new URL(location, action).href);
  await done.response?.body?.cancel();
  return browser;
}

/** Checks that `GET url` with `cookie` answers 200 JSON, so that a benchmark never measures a 401. */
export async function assertAuthenticated(url: string, cookie: string): Promise<unknown> {
  const response = await fetch(url, { headers: { cookie, accept: 'application/json' } });
  const body = await response.text();
  if (response.status !== 200)
    throw new Error(`GET ${url} with the session cookie answered ${response.status}: ${body.slice(0, 300)}`);
  return JSON.parse(body) as unknown;
}
