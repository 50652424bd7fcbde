import { describe, expect, test } from 'vitest';
import { DEFAULT_API_BASE, isLoopbackHost, isSecureOrLoopback } from './url.js';

describe('isLoopbackHost', () => {
  test.each(['localhost', 'LOCALHOST', '127.0.0.1', '127.10.20.30', '127.255.255.254', '::1', '[::1]'])(
    '%s is loopback',
    (host) => {
      expect(isLoopbackHost(host)).toBe(true);
    },
  );

  test.each([
    '128.0.0.1',
    '127.0.0',
    '127.0.0.1.5',
    '127.0.0.256',
    '127.0.0.1a',
    '127.0.0.-1',
    'localhost.example.com',
    '10.0.0.1',
    '::2',
    '[::2]',
    '[localhost]',
    '[127.0.0.1]',
    'example.com',
    '',
  ])('%s is not loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });

  test.each([
    ['http://localhost:3000/', true],
    ['http://127.0.0.1:3000/', true],
    ['http://[::1]:3000/', true],
    ['http://[0:0:0:0:0:0:0:1]/', true],
    ['http://[::ffff:127.0.0.1]/', false],
    ['http://app.example/', false],
  ])('agrees with the hostname a URL gives for %s', (href, loopback) => {
    expect(isLoopbackHost(new URL(href).hostname)).toBe(loopback);
  });
});

describe('isSecureOrLoopback', () => {
  test.each([
    ['https://login.example.com/', true],
    ['http://127.0.0.1:8080/', true],
    ['http://[::1]:8080/', true],
    ['http://login.example.com/', false],
    ['ftp://127.0.0.1/', false],
  ])('%s → %s', (href, allowed) => {
    expect(isSecureOrLoopback(new URL(href))).toBe(allowed);
  });
});

test('the default API base is the movingimage API origin', () => {
  expect(DEFAULT_API_BASE).toBe('https://api.video-cdn.net');
  expect(new URL(DEFAULT_API_BASE).origin).toBe(DEFAULT_API_BASE);
});
