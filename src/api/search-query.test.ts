/**
 * The search-query builder: exact texts for the common cases, and property tests that run what it
 * emits through the emulator's query-string parser (an independent reader of the same syntax):
 * every value reads back unchanged, and no value can change the query's structure.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSearchQuery, type QueryNode } from '../emulator/api/query-string.js';
import { isVmproError } from '../errors.js';
import { escapeSearchValue, type SearchQuery, searchQuery } from './search-query.js';

const RESERVED = [
  '+',
  '-',
  '=',
  '&&',
  '||',
  '&',
  '|',
  '>',
  '<',
  '!',
  '(',
  ')',
  '{',
  '}',
  '[',
  ']',
  '^',
  '"',
  '~',
  '*',
  '?',
  ':',
  '\\',
  '/',
];

/** Strings made to hurt: reserved characters, operator words, spaces and quotes, plus any Unicode. */
const nastyString = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({
    unit: fc.constantFrom(...RESERVED, ' ', '\t', 'a', 'Z', '9', 'AND', 'OR', 'NOT', 'TO', 'é', '\n'),
    maxLength: 12,
  }),
  fc.constantFrom('AND', 'or', 'NOT', '', ' ', '*', '\\', '"', 'title:x', 'a OR b', '(x)', '-1', 'C++'),
);
const value = fc.oneof(
  nastyString,
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
);

/** What a term with this value reads back as (numbers and booleans as their text). */
function text(v: string | number | boolean): string {
  return typeof v === 'string' ? v : String(v);
}

function term(field: string, v: string | number | boolean) {
  return { type: 'term', field, value: text(v), wildcard: null };
}

/** The parse tree without the `phrase` flag (how a value is written is the builder's choice). */
function structure(node: QueryNode): unknown {
  switch (node.type) {
    case 'term':
      return { type: 'term', field: node.field, value: node.value, wildcard: node.wildcard };
    case 'and':
    case 'or':
      return { type: node.type, children: node.children.map(structure) };
    case 'not':
      return { type: 'not', child: structure(node.child) };
    case 'all':
      return node;
  }
}

function parsed(query: SearchQuery): unknown {
  return structure(parseSearchQuery(query.toString()));
}

describe('searchQuery() texts', () => {
  it('writes the PHP client’s form: title:foo AND channels:1,2 AND published:true', () => {
    const query = searchQuery().field('title', 'foo').and().channels([1, 2]).and().published(true);
    expect(query.toString()).toBe('title:foo AND channels:1,2 AND published:true');
  });

  it('backslash-escapes reserved characters in a one-word value', () => {
    expect(searchQuery().field('title', 'C++/Q&A:(1)').toString()).toBe('title:C\\+\\+\\/Q\\&A\\:\\(1\\)');
  });

  it('quotes a value with spaces, < or >, or an operator word, escaping only " and \\', () => {
    expect(escapeSearchValue('a "b" c\\d')).toBe('"a \\"b\\" c\\\\d"');
    expect(escapeSearchValue('<live>')).toBe('"<live>"');
    expect(escapeSearchValue('OR')).toBe('"OR"');
    expect(escapeSearchValue('')).toBe('""');
  });

  it('escapes the sign of a negative number', () => {
    expect(searchQuery().field('duration', -1).toString()).toBe('duration:\\-1');
  });

  it('writes NOT, OR and groups', () => {
    const query = searchQuery()
      .not()
      .published(false)
      .and()
      .group((q) => q.phrase('title', 'product launch').or().id('abc'));
    expect(query.toString()).toBe('NOT published:false AND (title:"product launch" OR id:abc)');
  });

  it('is immutable: adding to a query leaves the original as it was', () => {
    const base = searchQuery().published(true);
    base.and().field('title', 'x');
    expect(base.toString()).toBe('published:true');
  });

  it('an empty query is the empty text, which matches everything', () => {
    expect(searchQuery().toString()).toBe('');
    expect(searchQuery().isEmpty).toBe(true);
  });
});

describe('searchQuery() refuses queries that would not mean what they say', () => {
  const refusals: [string, () => unknown][] = [
    ['two terms without an operator', () => searchQuery().field('title', 'a').field('title', 'b')],
    ['an operator first', () => searchQuery().and()],
    ['an operator after an operator', () => searchQuery().published(true).and().or()],
    ['a query ending in an operator', () => searchQuery().published(true).and().toString()],
    ['a query ending in NOT', () => searchQuery().not().toString()],
    ['NOT right after a term', () => searchQuery().published(true).not()],
    ['a field name with a colon', () => searchQuery().field('title:x', 'a')],
    ['a field name with a space', () => searchQuery().field('my field', 'a')],
    ['an infinite number', () => searchQuery().field('duration', Number.POSITIVE_INFINITY)],
    ['an empty channel list', () => searchQuery().channels([])],
    ['a fractional channel ID', () => searchQuery().channels([1.5])],
  ];
  it.each(refusals)('%s → VMPRO_CONFIG_INVALID', (_name, build) => {
    let error: unknown;
    try {
      build();
    } catch (caught) {
      error = caught;
    }
    expect(isVmproError(error, 'VMPRO_CONFIG_INVALID')).toBe(true);
  });
});

describe('searchQuery() properties (read back by the emulator’s parser)', () => {
  it('any value round-trips: field(name, v) parses to exactly one term with value v', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(parsed(searchQuery().field('title', v))).toEqual(term('title', v));
      }),
      { numRuns: 500 },
    );
  });

  it('any phrase text round-trips', () => {
    fc.assert(
      fc.property(nastyString, (v) => {
        expect(parsed(searchQuery().phrase('description', v))).toEqual(term('description', v));
      }),
      { numRuns: 300 },
    );
  });

  it('values never change the structure of a query', () => {
    fc.assert(
      fc.property(value, value, value, nastyString, (a, b, c, d) => {
        const query = searchQuery()
          .field('title', a)
          .and()
          .group((q) => q.field('keywords', b).or().not().field('customMetadata.language', c))
          .or()
          .phrase('description', d);
        expect(parsed(query)).toEqual({
          type: 'or',
          children: [
            {
              type: 'and',
              children: [
                term('title', a),
                {
                  type: 'or',
                  children: [term('keywords', b), { type: 'not', child: term('customMetadata.language', c) }],
                },
              ],
            },
            term('description', d),
          ],
        });
      }),
      { numRuns: 300 },
    );
  });

  it('channel lists read back as the same IDs', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 10_000_000 }), { minLength: 1, maxLength: 6 }), (ids) => {
        expect(parsed(searchQuery().channels(ids))).toEqual(term('channels', ids.join(',')));
      }),
    );
  });
});
