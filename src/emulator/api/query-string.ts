/**
 * The subset of Elasticsearch's query-string language the emulated search endpoint
 * (`POST /v1/vms/search`) understands: `field:value`, bare values, quoted phrases (also
 * `field:"…"`), backslash escapes, `*`/`?` wildcards, `AND`, `OR`, `NOT`, parentheses, and
 * comma lists on number fields (`channels:1,2`, as PHP-CLIENT sends). Terms side by side are
 * joined with OR, Elasticsearch's default operator. Anything else (ranges, boosts, fuzziness,
 * regular expressions, `+`/`-` prefixes, `&&`/`||`) is a `400`, so a test never passes on syntax
 * the emulator silently misread.
 */
import { badRequest } from './errors.js';

/**
 * One `field:value`, bare value or phrase of a parsed query.
 *
 * @example
 * ```ts
 * const node = parseSearchQuery('title:foo') as TermNode // { type: 'term', field: 'title', value: 'foo', … }
 * ```
 */
export interface TermNode {
  type: 'term';
  /** `null` for a bare value (searched in the document's default fields). */
  field: string | null;
  /** The value with escapes removed. */
  value: string;
  phrase: boolean;
  /** Set when the value has unescaped `*` or `?`: matches whole words (case-insensitive). */
  wildcard: RegExp | null;
}

/**
 * A parsed query.
 *
 * @example
 * ```ts
 * const tree: QueryNode = parseSearchQuery('a AND NOT b')
 * ```
 */
export type QueryNode =
  | TermNode
  | { type: 'and' | 'or'; children: QueryNode[] }
  | { type: 'not'; child: QueryNode }
  | { type: 'all' };

type Token =
  | { kind: '(' | ')' | 'AND' | 'OR' | 'NOT'; at: number }
  | { kind: 'term'; at: number; term: TermNode };

/** Reserved characters that must be escaped to be literal and that this subset does not interpret. */
const UNSUPPORTED = new Set(['!', '{', '}', '[', ']', '^', '~', '/', '<', '>', '=', '&', '|']);
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;

function fail(query: string, at: number, problem: string): never {
  throw badRequest(
    `The search query is malformed at character ${at + 1}: ${problem}. ` +
      `Query: ${JSON.stringify(query.length > 80 ? `${query.slice(0, 77)}...` : query)}`,
  );
}

function escapeRegex(char: string): string {
  return /[.*+?^${}()|[\]\\]/.test(char) ? `\\${char}` : char;
}

/** Reads `"…"` starting at the quote at `start`; returns the text and the index after the closing quote. */
function readPhrase(query: string, start: number): { text: string; end: number } {
  let text = '';
  let i = start + 1;
  while (i < query.length) {
    const char = query[i]!;
    if (char === '\\') {
      if (i + 1 >= query.length) fail(query, i, 'the phrase ends in a backslash');
      text += query[i + 1];
      i += 2;
    } else if (char === '"') {
      return { text, end: i + 1 };
    } else {
      text += char;
      i += 1;
    }
  }
  fail(query, start, 'a quoted phrase is not closed');
}

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const char = query[i]!;
    if (/\s/.test(char)) {
      i += 1;
      continue;
    }
    if (char === '(' || char === ')') {
      tokens.push({ kind: char, at: i });
      i += 1;
      continue;
    }
    if (char === '"') {
      const { text, end } = readPhrase(query, i);
      tokens.push({
        kind: 'term',
        at: i,
        term: { type: 'term', field: null, value: text, phrase: true, wildcard: null },
      });
      i = end;
      continue;
    }
    const start = i;
    let field: string | null = null;
    let value = '';
    let pattern = '';
    let wildcard = false;
    let escaped = false;
    let phrase: string | null = null;
    while (i < query.length) {
      const c = query[i]!;
      if (/\s/.test(c) || c === '(' || c === ')') break;
      if (c === '\\') {
        if (i + 1 >= query.length) fail(query, i, 'the query ends in a backslash');
        const next = query[i + 1]!;
        value += next;
        pattern += escapeRegex(next);
        escaped = true;
        i += 2;
        continue;
      }
      if (c === ':') {
        if (field !== null) fail(query, i, 'a second ":" in one term (escape it as \\:)');
        if (escaped || !FIELD_NAME.test(value)) fail(query, start, `"${value}" is not a field name`);
        field = value;
        value = '';
        pattern = '';
        i += 1;
        if (query[i] === '"') {
          const read = readPhrase(query, i);
          phrase = read.text;
          i = read.end;
          break;
        }
        if (i >= query.length || /\s/.test(query[i]!) || query[i] === ')')
          fail(query, i, `field "${field}" has no value`);
        if (query[i] === '(')
          fail(query, i, 'field groups such as title:(a OR b) are not supported; write (title:a OR title:b)');
        continue;
      }
      if (c === '"') fail(query, i, 'a quote inside a term (escape it as \\")');
      if (c === '*' || c === '?') {
        wildcard = true;
        value += c;
        pattern += c === '*' ? '.*' : '.';
        i += 1;
        continue;
      }
      if ((c === '+' || c === '-') && value === '' && field === null) {
        fail(query, i, `the "${c}" prefix is not supported; use AND / NOT (or escape it as \\${c})`);
      }
      if (UNSUPPORTED.has(c))
        fail(query, i, `"${c}" has a special meaning this emulator does not support (escape it as \\${c})`);
      value += c;
      pattern += escapeRegex(c);
      i += 1;
    }
    if (phrase !== null) {
      tokens.push({
        kind: 'term',
        at: start,
        term: { type: 'term', field, value: phrase, phrase: true, wildcard: null },
      });
      continue;
    }
    if (field === null && !escaped && (value === 'AND' || value === 'OR' || value === 'NOT')) {
      tokens.push({ kind: value, at: start });
      continue;
    }
    tokens.push({
      kind: 'term',
      at: start,
      term: {
        type: 'term',
        field,
        value,
        phrase: false,
        wildcard: wildcard ? new RegExp(`^${pattern}$`, 'is') : null,
      },
    });
  }
  return tokens;
}

/**
 * Parses a query; an empty query (or `*`) matches everything. Throws a `400` `ApiError` that says
 * where the query is malformed.
 *
 * @example
 * ```ts
 * parseSearchQuery('channels:1,2 AND published:true AND title:foo')
 * // { type: 'and', children: [ {type:'term', field:'channels', value:'1,2', …}, … ] }
 * ```
 */
export function parseSearchQuery(query: string): QueryNode {
  const tokens = tokenize(query);
  let position = 0;
  const peek = () => tokens[position];
  const at = () => peek()?.at ?? query.length;

  function parseOr(): QueryNode {
    const children = [parseAnd()];
    for (;;) {
      const next = peek();
      if (next === undefined || next.kind === ')') break;
      if (next.kind === 'OR') position += 1;
      else if (next.kind === 'AND') fail(query, next.at, 'unexpected AND');
      children.push(parseAnd());
    }
    return children.length === 1 ? children[0]! : { type: 'or', children };
  }

  function parseAnd(): QueryNode {
    const children = [parseUnary()];
    while (peek()?.kind === 'AND') {
      position += 1;
      children.push(parseUnary());
    }
    return children.length === 1 ? children[0]! : { type: 'and', children };
  }

  function parseUnary(): QueryNode {
    const next = peek();
    if (next?.kind === 'NOT') {
      position += 1;
      return { type: 'not', child: parseUnary() };
    }
    return parsePrimary();
  }

  function parsePrimary(): QueryNode {
    const next = peek();
    if (next === undefined) fail(query, query.length, 'the query ends where a term was expected');
    if (next.kind === '(') {
      position += 1;
      if (peek()?.kind === ')') fail(query, at(), 'empty parentheses');
      const inner = parseOr();
      if (peek()?.kind !== ')') fail(query, at(), 'a "(" is not closed');
      position += 1;
      return inner;
    }
    if (next.kind === 'term') {
      position += 1;
      const { term } = next;
      if (term.field === null && !term.phrase && term.value === '*') return { type: 'all' };
      return term;
    }
    fail(query, next.at, `unexpected ${next.kind === ')' ? '")"' : next.kind}`);
  }

  if (tokens.length === 0) return { type: 'all' };
  const root = parseOr();
  if (position < tokens.length) fail(query, at(), 'unexpected ")"');
  return root;
}

/**
 * How a document field is searched.
 *
 * @example
 * ```ts
 * const kind: FieldKind = 'numbers' // channels:1,2
 * ```
 */
export type FieldKind = 'text' | 'keyword' | 'boolean' | 'number' | 'numbers';

/**
 * The searchable fields of one document type: name → kind and value.
 *
 * @example
 * ```ts
 * const schema: SearchSchema<{ title: string }> = {
 *   fields: { title: { kind: 'text', get: (doc) => doc.title } },
 *   defaults: ['title'],
 *   customMetadata: () => undefined,
 * }
 * ```
 */
export interface SearchSchema<D> {
  fields: Record<string, { kind: FieldKind; get: (doc: D) => unknown }>;
  /** Fields a bare value is searched in. */
  defaults: string[];
  /** Values of `customMetadata.<key>`. */
  customMetadata: (doc: D, key: string) => unknown;
}

function texts(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value.flatMap(texts);
  return [String(value)];
}

function matchText(values: string[], term: TermNode): boolean {
  if (term.wildcard) {
    const pattern = term.wildcard;
    return values.some((text) => pattern.test(text) || text.split(/\s+/).some((word) => pattern.test(word)));
  }
  const needle = term.value.toLowerCase();
  return values.some((text) => text.toLowerCase().includes(needle));
}

function numbersOf(term: TermNode, query: string, list: boolean): number[] {
  const parts = list ? term.value.split(',') : [term.value];
  return parts.map((part) => {
    const text = part.trim();
    if (!/^-?\d{1,15}$/.test(text)) {
      throw badRequest(
        `The search query compares the number field "${term.field}" with "${term.value}", which is not ${list ? 'a comma-separated list of whole numbers' : 'a whole number'}. Query: ${JSON.stringify(query)}`,
      );
    }
    return Number(text);
  });
}

/**
 * Whether `doc` matches the parsed query. Text fields match case-insensitively when they contain
 * the value (a wildcard value must match a whole word); keyword fields (`id`) match exactly;
 * number fields need whole numbers (a `400` otherwise); unknown fields match nothing, as in
 * Elasticsearch.
 *
 * @example
 * ```ts
 * const hits = docs.filter((doc) => matches(parseSearchQuery(query), doc, schema, query))
 * ```
 */
export function matches<D>(node: QueryNode, doc: D, schema: SearchSchema<D>, query: string): boolean {
  switch (node.type) {
    case 'all':
      return true;
    case 'and':
      return node.children.every((child) => matches(child, doc, schema, query));
    case 'or':
      return node.children.some((child) => matches(child, doc, schema, query));
    case 'not':
      return !matches(node.child, doc, schema, query);
    case 'term': {
      if (node.field === null) {
        return (
          node.value === '' ||
          schema.defaults.some((name) => matchText(texts(schema.fields[name]!.get(doc)), node))
        );
      }
      if (node.field.startsWith('customMetadata.')) {
        return matchText(texts(schema.customMetadata(doc, node.field.slice('customMetadata.'.length))), node);
      }
      const field = schema.fields[node.field];
      if (!field) return false;
      const value = field.get(doc);
      switch (field.kind) {
        case 'text':
          return matchText(texts(value), node);
        case 'keyword':
          return node.wildcard ? node.wildcard.test(String(value)) : String(value) === node.value;
        case 'boolean':
          return String(value) === node.value.toLowerCase();
        case 'number':
          return numbersOf(node, query, false).includes(Number(value));
        case 'numbers': {
          const wanted = numbersOf(node, query, true);
          return Array.isArray(value) && value.some((each) => wanted.includes(Number(each)));
        }
      }
    }
  }
}
