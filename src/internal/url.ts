/**
 * URL rules every client-side layer applies alike: which hosts may be spoken to over plain
 * `http://`, and the default API origin.
 */

/** The VideoManager Pro API origin used when none is configured; discovery starts here. */
export const DEFAULT_API_BASE = 'https://api.video-cdn.net';

const IPV4_OCTET = /^\d{1,3}$/;

/**
 * True for loopback host names: `localhost`, 127.0.0.0/8 (four decimal octets, each ≤ 255) and
 * `::1`, with or without the brackets a URL's `hostname` keeps around IPv6 addresses.
 *
 * @example
 * ```ts
 * isLoopbackHost(new URL('http://[::1]:3000/').hostname); // true ('[::1]')
 * isLoopbackHost('127.0.0.1'); // true
 * isLoopbackHost('localhost.example.com'); // false
 * ```
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost' || host === '::1' || host === '[::1]') return true;
  const octets = host.split('.');
  if (octets.length !== 4 || octets[0] !== '127') return false;
  return octets.every((octet) => IPV4_OCTET.test(octet) && Number(octet) <= 255);
}

/**
 * True when `url` may carry tokens: `https:`, or `http:` to a loopback host (a local emulator or
 * a CLI's loopback redirect).
 *
 * @example
 * ```ts
 * isSecureOrLoopback(new URL('http://127.0.0.1:8080/auth')); // true
 * isSecureOrLoopback(new URL('http://login.example.com/')); // false
 * ```
 */
export function isSecureOrLoopback(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && isLoopbackHost(url.hostname);
}
