import type { CookieAttributes, CookieJar } from '../session/index.js';

/** Parses a `Cookie` request header. Malformed pairs are skipped; the first of duplicated names wins. */
export function parseCookieHeader(header: string | null | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (!header) return cookies;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!name || cookies.has(name)) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    cookies.set(name, value);
  }
  return cookies;
}

/**
 * The value of one cookie in a `Cookie` request header, exactly as `parseCookieHeader(header).get(name)`
 * would give it, without building the map (the session lookup on every request needs one name).
 */
export function findCookie(header: string | null | undefined, name: string): string | undefined {
  if (!header || !name) return undefined;
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end < 0) end = header.length;
    const eq = header.indexOf('=', start);
    if (eq > start && eq < end && header.slice(start, eq).trim() === name) {
      const value = header.slice(eq + 1, end).trim();
      return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
    }
    start = end + 1;
  }
  return undefined;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VALUE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;

/** Serialises one `Set-Cookie` header value. Names and values are checked, never escaped silently. */
export function serializeSetCookie(name: string, value: string, attributes: CookieAttributes): string {
  if (!TOKEN.test(name))
    throw new TypeError(`cookie name ${JSON.stringify(name)} has characters a cookie name cannot hold`);
  if (!VALUE.test(value))
    throw new TypeError(`the value of cookie ${name} has characters a cookie value cannot hold`);
  const parts = [`${name}=${value}`, `Path=${attributes.path}`];
  if (attributes.maxAge !== undefined) {
    parts.push(`Max-Age=${Math.max(0, Math.floor(attributes.maxAge))}`);
    if (attributes.maxAge <= 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  }
  if (attributes.httpOnly) parts.push('HttpOnly');
  if (attributes.secure) parts.push('Secure');
  parts.push(`SameSite=${attributes.sameSite}`);
  return parts.join('; ');
}

/**
 * A cookie jar over one request: reads the request's cookies and hands every change, as a
 * `Set-Cookie` value, to `sink` at once (so adapters can put it on a response that is still
 * being built). Reads see the request's cookies with this request's own changes applied.
 */
export function createCookieJar(
  cookieHeader: string | null | undefined,
  sink: (setCookie: string) => void,
): CookieJar {
  return new RequestCookieJar(cookieHeader, sink);
}

/** One object per request (this runs on every request): the header is parsed on first read. */
class RequestCookieJar implements CookieJar {
  #header: string | null | undefined;
  #current: Map<string, string> | undefined;
  readonly #sink: (setCookie: string) => void;

  constructor(cookieHeader: string | null | undefined, sink: (setCookie: string) => void) {
    this.#header = cookieHeader;
    this.#sink = sink;
  }

  #cookies(): Map<string, string> {
    this.#current ??= parseCookieHeader(this.#header);
    this.#header = undefined;
    return this.#current;
  }

  get(name: string): string | undefined {
    // Until something changes or lists the cookies, read straight from the header.
    if (this.#current === undefined) return findCookie(this.#header, name);
    return this.#current.get(name);
  }

  names(): string[] {
    return [...this.#cookies().keys()];
  }

  set(name: string, value: string, attributes: CookieAttributes): void {
    this.#sink(serializeSetCookie(name, value, attributes));
    this.#cookies().set(name, value);
  }

  delete(name: string, attributes: CookieAttributes): void {
    this.#sink(serializeSetCookie(name, '', { ...attributes, maxAge: 0 }));
    this.#cookies().delete(name);
  }
}
