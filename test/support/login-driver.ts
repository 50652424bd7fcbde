/**
 * Drives a login page over HTTP the way a browser would, without a browser: follows redirects by
 * hand, keeps cookies in a tiny jar, fills and submits the page's form (user name and password
 * fields, hidden fields, the first submit button), and stops at the redirect to `redirectUri`
 * without following it.
 */

export interface Credentials {
  username: string;
  password: string;
}

/** name → value; the host is always the same in these tests, so Domain and Path are ignored. */
export class CookieJar {
  readonly cookies = new Map<string, string>();

  store(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair, ...attributes] = header.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (!pair || eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [k, v] = a.trim().split('=');
        if (k?.toLowerCase() === 'max-age') return Number(v) <= 0;
        if (k?.toLowerCase() === 'expires') return Date.parse(v ?? '') < Date.now();
        return false;
      });
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

function decodeEntities(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#x2F;|&#47;/g, '/')
    .replace(/&amp;/g, '&');
}

function attributes(tag: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const m of tag.matchAll(/([a-zA-Z_:][\w:.-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
    const name = m[1]?.toLowerCase();
    if (!name || name === 'input' || name === 'form' || name === 'button') continue;
    result[name] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return result;
}

/** The first form of an HTML page, filled in like a user would. */
export function fillForm(
  html: string,
  base: string,
  credentials: Credentials,
): { action: URL; method: string; body: URLSearchParams } {
  const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) throw new Error(`no form on the page:\n${html.slice(0, 500)}`);
  const formAttributes = attributes(form[1] ?? '');
  const body = new URLSearchParams();
  for (const m of (form[2] ?? '').matchAll(/<input\b([^>]*)>/gi)) {
    const a = attributes(m[1] ?? '');
    if (!a.name) continue;
    const type = (a.type ?? 'text').toLowerCase();
    if (type === 'password') body.append(a.name, credentials.password);
    else if (type === 'hidden') body.append(a.name, a.value ?? '');
    else if (['username', 'login', 'email'].includes(a.name)) body.append(a.name, credentials.username);
    else if (type === 'text' || type === 'email') body.append(a.name, a.value ?? '');
  }
  // The first named submit button inside the form, or one outside that names the form by id.
  const inside = [...(form[2] ?? '').matchAll(/<button\b([^>]*)>/gi)].map((m) => attributes(m[1] ?? ''));
  const outside = [...html.matchAll(/<button\b([^>]*)>/gi)]
    .map((m) => attributes(m[1] ?? ''))
    .filter((a) => formAttributes.id !== undefined && a.form === formAttributes.id);
  const button = [...inside, ...outside].find((a) => (a.type ?? 'submit') === 'submit' && a.name);
  if (button?.name) body.append(button.name, button.value ?? '');
  return {
    action: new URL(formAttributes.action ?? base, base),
    method: (formAttributes.method ?? 'get').toUpperCase(),
    body,
  };
}

/**
 * From the authorization URL to the callback URL the login server redirects the browser to.
 * Throws with the page's text when the login does not get there in 20 steps.
 */
export async function driveLogin(
  authorizationUrl: URL,
  redirectUri: string,
  credentials: Credentials,
  jar = new CookieJar(),
): Promise<URL> {
  let url = new URL(authorizationUrl);
  let method = 'GET';
  let body: URLSearchParams | undefined;
  for (let step = 0; step < 20; step++) {
    const headers: Record<string, string> = { accept: 'text/html' };
    const cookie = jar.header();
    if (cookie) headers.cookie = cookie;
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(url, { method, headers, redirect: 'manual', ...(body && { body }) });
    jar.store(response);
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      const location = new URL(response.headers.get('location') ?? '', url);
      if (location.href.startsWith(redirectUri)) return location;
      url = location;
      method = 'GET';
      body = undefined;
      continue;
    }
    const text = await response.text();
    if (response.status !== 200)
      throw new Error(`login page answered ${response.status}: ${text.slice(0, 500)}`);
    const form = fillForm(text, url.href, credentials);
    url = form.action;
    method = form.method;
    body = method === 'POST' ? form.body : undefined;
    if (method === 'GET') for (const [k, v] of form.body) url.searchParams.append(k, v);
  }
  throw new Error('the login did not reach the redirect URI in 20 steps');
}
