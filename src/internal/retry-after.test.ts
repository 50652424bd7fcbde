import { describe, expect, test } from 'vitest';
import { parseRetryAfter } from './retry-after.js';

const NOW = Date.parse('2025-01-01T00:00:00Z');

describe('parseRetryAfter', () => {
  test('reads delay-seconds as milliseconds', () => {
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter(' 120 ', NOW)).toBe(120_000);
  });

  test('reads an HTTP date as the milliseconds until then', () => {
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', NOW)).toBe(30_000);
  });

  test('gives 0 for a date in the past', () => {
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', NOW)).toBe(0);
  });

  test.each([null, undefined, '', '  ', '-5', '1.5', '+3', '12abc', 'soon'])('refuses %j', (value) => {
    expect(parseRetryAfter(value, NOW)).toBeUndefined();
  });
});
