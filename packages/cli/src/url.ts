/**
 * Which hosts the CLI and the demo accept over plain `http://`: the same rule as the library's
 * (which checks again whatever it is given), so that the CLI's own messages can name the flag or
 * the environment variable at fault.
 */

const IPV4_OCTET = /^\d{1,3}$/;

/**
 * True for loopback host names: `localhost`, 127.0.0.0/8 (four decimal octets, each ≤ 255) and
 * `::1`, with or without the brackets a URL's `hostname` keeps around IPv6 addresses.
 *
 * @example
 * ```ts
 * isLoopbackHost(new URL('http://[::1]:3000/').hostname); // true
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
