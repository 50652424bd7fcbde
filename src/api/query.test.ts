import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isVmproError } from '../errors.js';
import { type QueryScalar, type QueryValue, toQuery, toSnakeCase } from './query.js';

/** camelCase identifiers like the API's filters: a lowercase word, then capitalised words. */
const camelKey = fc
  .tuple(
    fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/),
    fc.array(fc.stringMatching(/^[A-Z][a-z0-9]{1,6}$/), { maxLength: 3 }),
  )
  .map(([head, tail]) => head + tail.join(''));

const scalar: fc.Arbitrary<QueryScalar> = fc.oneof(
  fc.string({ unit: 'grapheme' }),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.bigInt(),
);
const value: fc.Arbitrary<QueryValue> = fc.oneof(
  scalar,
  fc.array(fc.oneof(scalar, fc.constant(undefined), fc.constant(null)), { maxLength: 5 }),
  fc.constant(undefined),
  fc.constant(null),
);
/** Records whose keys never collide after snake_casing. */
const params = fc
  .dictionary(camelKey, value, { maxKeys: 8 })
  .filter((record) => new Set(Object.keys(record).map(toSnakeCase)).size === Object.keys(record).length);

function expected(v: QueryScalar): string {
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return String(v);
}

describe('toQuery', () => {
  it('round-trips: URLSearchParams reads back every value, arrays in order', () => {
    fc.assert(
      fc.property(params, (input) => {
        const parsed = new URLSearchParams(toQuery(input));
        for (const [key, v] of Object.entries(input)) {
          const values = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
          const kept = (values as (QueryScalar | null | undefined)[]).filter(
            (x): x is QueryScalar => x !== undefined && x !== null,
          );
          expect(parsed.getAll(toSnakeCase(key))).toEqual(kept.map(expected));
        }
      }),
    );
  });

  it('sends only snake_case keys', () => {
    fc.assert(
      fc.property(params, (input) => {
        for (const key of new URLSearchParams(toQuery(input)).keys()) expect(key).toMatch(/^[a-z0-9_]+$/);
      }),
    );
  });

  it('sends booleans only as "true" or "false"', () => {
    fc.assert(
      fc.property(fc.dictionary(camelKey, fc.boolean(), { maxKeys: 6 }), (input) => {
        for (const v of new URLSearchParams(toQuery(input)).values()) expect(['true', 'false']).toContain(v);
      }),
    );
  });

  it('never sends a scalar key twice, nor a key for undefined or null', () => {
    fc.assert(
      fc.property(params, (input) => {
        const parsed = new URLSearchParams(toQuery(input));
        for (const [key, v] of Object.entries(input)) {
          const count = parsed.getAll(toSnakeCase(key)).length;
          if (v === undefined || v === null) expect(count).toBe(0);
          else if (!Array.isArray(v)) expect(count).toBe(1);
        }
      }),
    );
  });

  it('serialises the API filters as documented', () => {
    expect(
      toQuery({
        channelId: [1, 2],
        includeSubChannels: true,
        audioOnly: false,
        searchTerm: undefined,
        orderProperty: 'created_date',
        customMetadataField: ['a b', 'c&d'],
      }),
    ).toBe(
      'channel_id=1&channel_id=2&include_sub_channels=true&audio_only=false&order_property=created_date&custom_metadata_field=a+b&custom_metadata_field=c%26d',
    );
  });

  it('sends the names in wireNames verbatim', () => {
    expect(toQuery({ archivedState: 'ALL', metadataSetId: 3 }, { archivedState: 'archivedState' })).toBe(
      'archivedState=ALL&metadata_set_id=3',
    );
  });

  it('refuses two keys that would send the same name', () => {
    let caught: unknown;
    try {
      toQuery({ channelId: 1, channel_id: 2 });
    } catch (error) {
      caught = error;
    }
    expect(isVmproError(caught, 'VMPRO_CONFIG_INVALID')).toBe(true);
  });

  it('refuses NaN and Infinity, naming the parameter', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => toQuery({ limit: bad })).toThrow(/"limit"/);
    }
  });

  it('returns an empty string when there is nothing to send', () => {
    expect(toQuery({ a: undefined, b: null, c: [] })).toBe('');
  });
});
