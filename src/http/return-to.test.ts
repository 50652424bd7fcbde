import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { safeReturnTo } from './return-to.js';

describe('safeReturnTo', () => {
  it.each([
    ['/', '/'],
    ['/videos', '/videos'],
    ['/videos?page=2&q=a+b', '/videos?page=2&q=a+b'],
    ['/a/b#section', '/a/b#section'],
    ['/caf%C3%A9', '/caf%C3%A9'],
  ])('keeps the same-origin path %s', (input, expected) => {
    expect(safeReturnTo(input)).toBe(expected);
  });

  it.each([
    ['//evil.example/x'],
    ['/\\evil.example'],
    ['\\\\evil.example'],
    ['https://evil.example/'],
    ['javascript:alert(1)'],
    ['evil.example'],
    ['/%2F%2Fevil.example'],
    ['/%2fevil.example'],
    ['/%5Cevil.example'],
    ['/%252F%252Fevil.example'],
    ['/ok\r\nSet-Cookie: x=1'],
    ['/tab\there'],
    ['/%0d%0aheader'],
    ['/\u0000'],
    [''],
    ['/' + 'a'.repeat(3000)],
  ])('refuses %j', (input) => {
    expect(safeReturnTo(input)).toBe('/');
  });

  it('refuses values that are not strings', () => {
    expect(safeReturnTo(undefined)).toBe('/');
    expect(safeReturnTo(null)).toBe('/');
    expect(safeReturnTo(['/a'])).toBe('/');
  });

  it('uses the given fallback', () => {
    expect(safeReturnTo('//x', '/home')).toBe('/home');
  });

  it('never returns anything that leaves the origin, whatever the input', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme-ascii', maxLength: 60 }),
        fc.string({ maxLength: 20 }),
        (a, b) => {
          for (const candidate of [a, `/${a}`, `/${b}${a}`, `//${a}`, `/\\${a}`, `/%2F${a}`]) {
            const out = safeReturnTo(candidate);
            const resolved = new URL(out, 'https://app.example');
            expect(resolved.origin).toBe('https://app.example');
            expect(out.startsWith('/')).toBe(true);
            expect(out.startsWith('//')).toBe(false);
            expect(out).not.toMatch(/[\\\r\n\t\u0000]/);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('keeps every plain path of letters, digits and slashes unchanged', () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z0-9_-]{1,8}$/), { minLength: 1, maxLength: 5 }),
        (segments) => {
          const path = `/${segments.join('/')}`;
          expect(safeReturnTo(path)).toBe(path);
        },
      ),
    );
  });
});
