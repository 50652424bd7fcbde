/**
 * A builder for the Elasticsearch query-string language that the legacy search endpoint
 * (`POST /v1/vms/search`, facts 3.2) takes in its `query` field, so that no value can change a
 * query's structure: every value is escaped, and the builder refuses a query whose operators do
 * not alternate with terms.
 */
import { VmproError } from '../errors.js';

/** Characters with a meaning in query-string syntax; `&` and `|` only doubled, escaped always. */
const RESERVED = new Set([
  '+',
  '-',
  '=',
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
]);
/** Field names: letters, digits, `_` and dots (`customMetadata.language`). */
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const KEYWORD = /^(?:AND|OR|NOT|TO)$/i;

/**
 * A value a field can be compared with.
 *
 * @example
 * ```ts
 * const value: SearchValue = 'launch'
 * searchQuery().field('title', value)
 * ```
 */
export type SearchValue = string | number | boolean;

function invalid(message: string): VmproError {
  return new VmproError('VMPRO_CONFIG_INVALID', message, { field: 'query' });
}

/**
 * Escapes one value for query-string syntax. A value that cannot be one bare term — empty, with
 * white space or a control character, with `<` or `>` (which Elasticsearch cannot escape), or
 * an operator word such as `AND` — becomes a quoted phrase with `"` and `\` escaped; any other
 * value is a bare term with every reserved character (`+ - = & | > < ! ( ) { } [ ] ^ " ~ * ? : \ /`)
 * backslash-escaped. Either way the search reads back exactly `value`, with no wildcard or
 * operator in it.
 *
 * @example
 * ```ts
 * escapeSearchValue('C++')        // 'C\\+\\+'
 * escapeSearchValue('Q&A <live>') // '"Q&A <live>"'
 * escapeSearchValue('OR')         // '"OR"'
 * ```
 */
export function escapeSearchValue(value: SearchValue): string {
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw invalid(`A search value must be a finite number, got ${String(value)}.`);
    return escapeSearchValue(String(value));
  }
  if (typeof value !== 'string') {
    throw invalid(`A search value must be a string, number or boolean, got ${typeof value}.`);
  }
  if (value === '' || /[\s<>\p{Cc}]/u.test(value) || KEYWORD.test(value)) {
    return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  }
  let out = '';
  for (const char of value) out += RESERVED.has(char) ? `\\${char}` : char;
  return out;
}

function checkField(name: string): string {
  if (typeof name !== 'string' || !FIELD_NAME.test(name)) {
    throw invalid(
      `A search field name must be letters, digits and "_", dot-separated (e.g. title, customMetadata.language), got ${JSON.stringify(String(name))}.`,
    );
  }
  return name;
}

type Token = { kind: 'term'; text: string } | { kind: 'op'; text: 'AND' | 'OR' } | { kind: 'not' };

/**
 * An immutable query in Elasticsearch query-string syntax. Each method returns a new query;
 * terms and groups must be joined with `and()` or `or()` (Elasticsearch would otherwise join
 * them with its default operator, OR, which is rarely what was meant). `toString()` gives the
 * text for the `query` field.
 *
 * @example
 * ```ts
 * const q = searchQuery().field('title', 'Q&A: C++').and().channels([1, 2]).and().published(true)
 * String(q) // 'title:Q\\&A\\:\\ C\\+\\+ …' — see escapeSearchValue for the exact escaping
 * await api.search.videos(vmId, { query: q })
 * ```
 */
export class SearchQuery {
  readonly #tokens: readonly Token[];

  /** Use `searchQuery()`. */
  constructor(tokens: readonly Token[] = []) {
    this.#tokens = tokens;
  }

  #push(token: Token): SearchQuery {
    const last = this.#tokens.at(-1);
    if (token.kind === 'term' && last?.kind === 'term') {
      throw invalid(
        `Join search terms with and() or or(): "${last.text}" is followed directly by "${token.text}".`,
      );
    }
    if (token.kind === 'op' && (last === undefined || last.kind !== 'term')) {
      throw invalid(`${token.text} needs a term before it.`);
    }
    if (token.kind === 'not' && last?.kind === 'term') {
      throw invalid('not() must follow and(), or() or the start of the query.');
    }
    return new SearchQuery([...this.#tokens, token]);
  }

  /**
   * `name:value`, with `value` escaped: a term (or phrase, see `escapeSearchValue`) that the
   * field must contain.
   *
   * @example
   * ```ts
   * searchQuery().field('customMetadata.language', 'fr')
   * ```
   */
  field(name: string, value: SearchValue): SearchQuery {
    return this.#push({ kind: 'term', text: `${checkField(name)}:${escapeSearchValue(value)}` });
  }

  /**
   * `name:"text"`: the words of `text` in this order (always quoted).
   *
   * @example
   * ```ts
   * searchQuery().phrase('title', 'product launch')
   * ```
   */
  phrase(name: string, text: string): SearchQuery {
    if (typeof text !== 'string') throw invalid(`phrase() needs a string, got ${typeof text}.`);
    return this.#push({
      kind: 'term',
      text: `${checkField(name)}:"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`,
    });
  }

  /**
   * `channels:1,2`: in any of these channels (the form PHP-CLIENT sends).
   *
   * @example
   * ```ts
   * searchQuery().channels([12, 13])
   * ```
   */
  channels(ids: readonly number[]): SearchQuery {
    if (!Array.isArray(ids) || ids.length === 0 || ids.some((id) => !Number.isSafeInteger(id) || id < 0)) {
      throw invalid('channels() needs a non-empty list of channel IDs (whole numbers ≥ 0).');
    }
    return this.#push({ kind: 'term', text: `channels:${ids.join(',')}` });
  }

  /**
   * `published:true` or `published:false`.
   *
   * @example
   * ```ts
   * searchQuery().published(true)
   * ```
   */
  published(value: boolean): SearchQuery {
    if (typeof value !== 'boolean') throw invalid('published() needs true or false.');
    return this.field('published', value);
  }

  /**
   * `id:…`: the video (or channel) with this ID.
   *
   * @example
   * ```ts
   * searchQuery().id('1wGJbtN7QPwkAkd8_VcgKH')
   * ```
   */
  id(value: string | number): SearchQuery {
    return this.field('id', value);
  }

  /**
   * `( … )`: another query as one term.
   *
   * @example
   * ```ts
   * searchQuery().published(true).and().group(searchQuery().field('title', 'a').or().field('title', 'b'))
   * ```
   */
  group(inner: SearchQuery | ((q: SearchQuery) => SearchQuery)): SearchQuery {
    const query = typeof inner === 'function' ? inner(new SearchQuery()) : inner;
    if (!(query instanceof SearchQuery))
      throw invalid('group() needs a SearchQuery or a function returning one.');
    return this.#push({ kind: 'term', text: `(${query.toString()})` });
  }

  /** `AND`: both sides must match. */
  and(): SearchQuery {
    return this.#push({ kind: 'op', text: 'AND' });
  }

  /** `OR`: either side may match. */
  or(): SearchQuery {
    return this.#push({ kind: 'op', text: 'OR' });
  }

  /** `NOT`: the next term must not match. */
  not(): SearchQuery {
    return this.#push({ kind: 'not' });
  }

  /** True when nothing has been added (an empty query matches every document). */
  get isEmpty(): boolean {
    return this.#tokens.length === 0;
  }

  /**
   * The query text. Throws `VMPRO_CONFIG_INVALID` when it ends in an operator.
   *
   * @example
   * ```ts
   * searchQuery().field('title', 'foo').and().published(true).toString() // 'title:foo AND published:true'
   * ```
   */
  toString(): string {
    const last = this.#tokens.at(-1);
    if (last !== undefined && last.kind !== 'term') {
      throw invalid(
        `The search query ends in ${last.kind === 'not' ? 'NOT' : last.text}; add a term after it.`,
      );
    }
    return this.#tokens.map((token) => (token.kind === 'not' ? 'NOT' : token.text)).join(' ');
  }
}

/**
 * Starts a search query (see `SearchQuery`).
 *
 * @example
 * ```ts
 * const query = searchQuery().field('title', 'foo').and().channels([1, 2]).and().published(true)
 * const { total, result } = await api.search.videos(vmId, { query })
 * ```
 */
export function searchQuery(): SearchQuery {
  return new SearchQuery();
}
