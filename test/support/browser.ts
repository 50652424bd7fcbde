/**
 * A tiny scripted "browser" for integration tests: fetch with a cookie jar per origin, manual
 * redirects, and a helper that fills in the emulator's login form. It talks HTTP over real
 * sockets; nothing is mocked.
 */

export interface Hop {
  url: string;
  status: number;
  location: string | null;
}

export class TestBrowser {
  /** origin → cookie name → value */
  readonly cookies = new Map<string, Map<string, string>>();
  readonly hops: Hop[] = [];

  cookieHeader(url: string): string {
    const jar = this.cookies.get(new URL(url).origin);
    return jar ? [...jar].map(([k, v]) => `${k}=${v}`).join('; ') : '';
  }

  cookie(url: string, name: string): string | undefined {
    return this.cookies.get(new URL(url).origin)?.get(name);
  }

  private store(url: string, response: Response): void {
    const origin = new URL(url).origin;
    const jar = this.cookies.get(origin) ?? new Map<string, string>();
    this.cookies.set(origin, jar);
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  }

  /** One request, no redirect following; cookies sent and stored. */
  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = this.cookieHeader(url);
    if (cookie) headers.set('cookie', cookie);
    if (!headers.has('accept')) headers.set('accept', 'text/html');
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.store(url, response);
    this.hops.push({ url, status: response.status, location: response.headers.get('location') });
    return response;
  }

  /** Follows redirects (GET) until a non-redirect, or until `stopAt(url)` says stop before requesting it. */
  async follow(
    url: string,
    init: RequestInit = {},
    stopAt?: (url: string) => boolean,
  ): Promise<{ url: string; response: Response | null }> {
    let current = url;
    let response = await this.request(current, init);
    for (let i = 0; i < 20; i++) {
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) return { url: current, response };
      await response.body?.cancel();
      current = new URL(location, current).href;
      if (stopAt?.(current)) return { url: current, response: null };
      response = await this.request(current);
    }
    throw new Error('too many redirects');
  }

  /** POSTs a form as a same-origin page of `pageUrl` would. */
  postForm(url: string, fields: Record<string, string>, pageUrl = url): Promise<Response> {
    return this.request(url, {
      method: 'POST',
      body: new URLSearchParams(fields),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: new URL(pageUrl).origin,
        'sec-fetch-site': new URL(pageUrl).origin === new URL(url).origin ? 'same-origin' : 'cross-site',
      },
    });
  }
}

/** The login form's action URL and hidden fields, from the emulator's (or any simple) login page. */
export function parseLoginForm(
  html: string,
  pageUrl: string,
): { action: string; hidden: Record<string, string> } {
  const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) throw new Error(`no login form on ${pageUrl}`);
  const hidden: Record<string, string> = {};
  for (const m of (form[2] ?? '').matchAll(/<input[^>]*>/gi)) {
    const tag = m[0];
    if (!/type="hidden"/i.test(tag)) continue;
    const name = /name="([^"]*)"/.exec(tag)?.[1];
    const value = /value="([^"]*)"/.exec(tag)?.[1] ?? '';
    if (name) hidden[name] = decodeEntities(value);
  }
  return { action: new URL(decodeEntities(form[1] ?? ''), pageUrl).href, hidden };
}

function decodeEntities(s: string): string {
  return s
    .replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCharCode(Number.parseInt(n, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/**
 * Signs in through an app's `/auth/login` and the emulator's login form, like a person would,
 * and returns where the app finally sent the browser.
 */
export async function signIn(
  browser: TestBrowser,
  appOrigin: string,
  credentials: { username: string; password: string } = { username: 'demo', password: 'demo' },
  returnTo = '/me',
): Promise<{ finalUrl: string; response: Response | null }> {
  const start = `${appOrigin}/auth/login?returnTo=${encodeURIComponent(returnTo)}`;
  const toLoginPage = await browser.follow(start);
  if (toLoginPage.response?.status !== 200) {
    throw new Error(`expected the login page, got ${toLoginPage.response?.status} at ${toLoginPage.url}`);
  }
  const { action, hidden } = parseLoginForm(await toLoginPage.response.text(), toLoginPage.url);
  const posted = await browser.postForm(action, { ...hidden, ...credentials }, toLoginPage.url);
  const location = posted.headers.get('location');
  if (!location) throw new Error(`the login form answered ${posted.status} without a redirect`);
  const done = await browser.follow(new URL(location, action).href);
  return { finalUrl: done.url, response: done.response };
}
