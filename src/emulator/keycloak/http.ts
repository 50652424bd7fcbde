/** Small Web `Request`/`Response` helpers for the emulator's login server. */

/** Headers Keycloak sends with token-bearing or error answers of the OAuth endpoints. */
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const;

/** Security headers for every HTML page (no framing, no scripts, no referrer leaks of codes). */
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store, must-revalidate, max-age=0',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

/** A JSON answer. */
export function json(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  const h = new Headers(headers);
  h.set('content-type', 'application/json');
  return new Response(JSON.stringify(body), { status, headers: h });
}

/** A JSON answer that must not be cached (token responses). */
export function jsonNoStore(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  const h = new Headers(headers);
  for (const [k, v] of Object.entries(NO_STORE)) h.set(k, v);
  return json(body, status, h);
}

/** An OAuth 2.0 error answer `{error, error_description}`. */
export function oauthError(
  error: string,
  description: string,
  status = 400,
  headers: HeadersInit = {},
): Response {
  return jsonNoStore({ error, error_description: description }, status, headers);
}

/** An HTML page with the emulator's security headers. */
export function html(body: string, status = 200, headers: HeadersInit = {}): Response {
  const h = new Headers(PAGE_HEADERS);
  const extra = new Headers(headers);
  for (const [k, v] of extra) if (k !== 'set-cookie') h.set(k, v);
  for (const cookie of extra.getSetCookie()) h.append('set-cookie', cookie);
  return new Response(body, { status, headers: h });
}

/** A `302 Found` redirect, optionally setting cookies. */
export function redirect(location: string, cookies: string[] = []): Response {
  const h = new Headers({ location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
  for (const cookie of cookies) h.append('set-cookie', cookie);
  return new Response(null, { status: 302, headers: h });
}

/** True when the request body is declared as `application/x-www-form-urlencoded`. */
export function isFormEncoded(request: Request): boolean {
  const type = request.headers.get('content-type') ?? '';
  return type.split(';')[0]!.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

/** Reads a JSON body; `undefined` when it is absent or not JSON. */
export async function readJson(request: Request): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The cookies of a request, by name (the first occurrence wins). */
export function parseCookies(request: Request): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (request.headers.get('cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name && !cookies.has(name)) cookies.set(name, part.slice(eq + 1).trim());
  }
  return cookies;
}

/** The bearer token of an `Authorization` header (scheme compared case-insensitively). */
export function bearerToken(request: Request): string | null {
  const header = request.headers.get('authorization');
  const match = header ? /^bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match ? match[1]! : null;
}

/** Decodes one `application/x-www-form-urlencoded` component (`+` is a space); `null` when malformed. */
export function formDecode(value: string): string | null {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/** Client credentials from an HTTP Basic header, form-decoded as RFC 6749 §2.3.1 asks. */
export type BasicCredentials = { id: string; secret: string } | 'malformed' | null;

/** Parses `Authorization: Basic …`; `null` when there is none, `'malformed'` when it cannot be read. */
export function basicCredentials(request: Request): BasicCredentials {
  const header = request.headers.get('authorization');
  if (!header || !/^basic\s/i.test(header)) return null;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  const id = formDecode(decoded.slice(0, colon));
  const secret = formDecode(decoded.slice(colon + 1));
  if (id === null || secret === null || id === '') return 'malformed';
  return { id, secret };
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
