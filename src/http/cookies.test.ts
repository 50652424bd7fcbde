import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCookieJar, findCookie, parseCookieHeader, serializeSetCookie } from './cookies.js';

const attrs = { httpOnly: true, secure: true, sameSite: 'Lax' as const, path: '/' };

describe('cookies', () => {
  it('parses a Cookie header, first duplicate wins, malformed pairs skipped', () => {
    const c = parseCookieHeader('a=1; b="2"; junk; a=3; =x; c=');
    expect([...c]).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['c', ''],
    ]);
  });

  it('findCookie reads one cookie exactly as the full parse does', () => {
    expect(findCookie('a=1; b="2"; junk; a=3; =x; c=', 'a')).toBe('1');
    expect(findCookie('a=1; b="2"', 'b')).toBe('2');
    expect(findCookie(' =x; x=1', 'x')).toBe('1');
    expect(findCookie('xa=1; a =2', 'a')).toBe('2');
    expect(findCookie('a=1', 'b')).toBeUndefined();
    expect(findCookie(undefined, 'a')).toBeUndefined();
    // Any header, any name: the same answer as parseCookieHeader(header).get(name).
    const piece = fc.constantFrom('a', 'b', 'vmpro', ' ', '=', ';', '"', '\t', '\u00a0', 'x y', '');
    const header = fc.array(piece, { maxLength: 24 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(header, fc.constantFrom('a', 'b', 'vmpro', 'x y', ' a'), (h, name) => {
        expect(findCookie(h, name)).toBe(parseCookieHeader(h).get(name));
      }),
      { numRuns: 5000 },
    );
  });

  it('serialises HttpOnly, Secure, SameSite and Path', () => {
    expect(serializeSetCookie('__Host-vmpro', 'abc', { ...attrs, maxAge: 60 })).toBe(
      '__Host-vmpro=abc; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Lax',
    );
  });

  it('refuses a value that would break the header', () => {
    expect(() => serializeSetCookie('a', 'x; Domain=evil', attrs)).toThrow(TypeError);
    expect(() => serializeSetCookie('a b', 'x', attrs)).toThrow(TypeError);
  });

  it('a jar sends every change to its sink and sees its own changes', () => {
    const out: string[] = [];
    const jar = createCookieJar('a=1; b=2', (c) => out.push(c));
    jar.set('c', '3', attrs);
    jar.delete('a', attrs);
    expect(jar.get('c')).toBe('3');
    expect(jar.get('a')).toBeUndefined();
    expect(jar.names().sort()).toEqual(['b', 'c']);
    expect(out[0]).toMatch(/^c=3;/);
    expect(out[1]).toMatch(/^a=; Path=\/; Max-Age=0; Expires=Thu, 01 Jan 1970/);
  });
});
