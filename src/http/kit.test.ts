import { describe, expect, it } from 'vitest';
import { isVmproError } from '../errors.js';
import { checkSameOrigin, pathOf, readForm } from './kit.js';

const APP = 'https://portal.example.com';
const post = (headers: Record<string, string>, body?: string) =>
  new Request(`${APP}/auth/logout`, { method: 'POST', headers, ...(body !== undefined && { body }) });

describe('checkSameOrigin', () => {
  it.each([
    [{ 'sec-fetch-site': 'same-origin' }],
    [{ 'sec-fetch-site': 'none' }],
    [{ origin: APP }],
    [{ referer: `${APP}/videos` }],
  ])('accepts %o', (headers) => {
    expect(() => checkSameOrigin(post(headers), APP)).not.toThrow();
  });

  it.each([
    [{ 'sec-fetch-site': 'cross-site', origin: APP }],
    [{ 'sec-fetch-site': 'same-site' }],
    [{ origin: 'https://evil.example' }],
    [{ origin: 'null' }],
    [{ referer: 'https://evil.example/' }],
    [{ referer: 'not a url' }],
    [{}],
  ])('refuses %o as VMPRO_CROSS_SITE_REQUEST', (headers) => {
    let error: unknown;
    try {
      checkSameOrigin(post(headers), APP);
    } catch (e) {
      error = e;
    }
    expect(isVmproError(error, 'VMPRO_CROSS_SITE_REQUEST')).toBe(true);
  });
});

describe('readForm', () => {
  it('reads a form', async () => {
    const form = await readForm(
      post({ 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, 'a=1&b=2'),
    );
    expect(form.get('b')).toBe('2');
  });

  it.each([
    ['another content type', { 'content-type': 'application/json' }, '{}'],
    ['a body over 64 KB', { 'content-type': 'application/x-www-form-urlencoded' }, `a=${'x'.repeat(70_000)}`],
    [
      'a Content-Length over 64 KB',
      { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '100000' },
      'a=1',
    ],
  ])('refuses %s as VMPRO_CALLBACK_INVALID', async (_what, headers, body) => {
    const error = await readForm(post(headers, body)).catch((e: unknown) => e);
    expect(isVmproError(error, 'VMPRO_CALLBACK_INVALID')).toBe(true);
  });
});

describe('pathOf', () => {
  it.each([
    ['http://127.0.0.1:3000/auth/login?returnTo=/x', '/auth/login'],
    ['https://a.example/auth/callback#frag', '/auth/callback'],
    ['https://a.example', '/'],
    ['https://a.example/?q', '/'],
  ])('%s → %s', (url, path) => {
    expect(pathOf(url)).toBe(path);
  });
});
