import { VmproError } from '../errors.js';

/** A value `toQuery` can serialise: scalars, arrays of scalars, or nothing (skipped). */
export type QueryScalar = string | number | boolean | bigint;
export type QueryValue = QueryScalar | readonly (QueryScalar | null | undefined)[] | null | undefined;

/** Query parameters in TypeScript form: camelCase keys, typed values. */
export type QueryInput = { readonly [key: string]: QueryValue };

/**
 * Turns a camelCase name into the API's snake_case (`includeSubChannels` →
 * `include_sub_channels`). Names that are already snake_case or lowercase stay as they are.
 */
export function toSnakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

function scalar(key: string, value: QueryScalar): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'number':
      if (!Number.isFinite(value)) {
        throw new VmproError(
          'VMPRO_CONFIG_INVALID',
          `The query parameter "${key}" is ${String(value)}; it must be a finite number.`,
        );
      }
      // -0 would print as "0" anyway; String() keeps integers free of exponents up to 1e21.
      return String(value);
    default:
      throw new VmproError(
        'VMPRO_CONFIG_INVALID',
        `The query parameter "${key}" has a value of type ${typeof value}; use a string, number, boolean or an array of them.`,
      );
  }
}

/**
 * Serialises query parameters the way the VideoManager Pro API expects them: keys in
 * snake_case, booleans as `"true"`/`"false"`, arrays as the same key repeated in order,
 * `undefined` and `null` skipped. Returns the query without the leading `?` (empty when there
 * is nothing to send).
 *
 * A few API parameters are camelCase on the wire (`archivedState`, `embedType`, `channelId` on
 * embed codes, `searchstring`); name them in `wireNames` to send them verbatim.
 *
 * @example
 * ```ts
 * toQuery({ channelId: [1, 2], includeSubChannels: true, searchTerm: undefined })
 * // 'channel_id=1&channel_id=2&include_sub_channels=true'
 * toQuery({ archivedState: 'ALL' }, { archivedState: 'archivedState' })
 * // 'archivedState=ALL'
 * ```
 */
export function toQuery(params: QueryInput, wireNames: Readonly<Record<string, string>> = {}): string {
  const search = new URLSearchParams();
  const seen = new Map<string, string>();
  for (const key of Object.keys(params)) {
    const value = params[key];
    if (value === undefined || value === null) continue;
    const name = Object.hasOwn(wireNames, key) ? (wireNames[key] as string) : toSnakeCase(key);
    const other = seen.get(name);
    if (other !== undefined) {
      // `channelId` and `channel_id` side by side would send the key twice.
      throw new VmproError(
        'VMPRO_CONFIG_INVALID',
        `The query parameters "${other}" and "${key}" are both sent as "${name}"; pass only one of them.`,
      );
    }
    seen.set(name, key);
    if (Array.isArray(value)) {
      for (const item of value as readonly (QueryScalar | null | undefined)[]) {
        if (item === undefined || item === null) continue;
        search.append(name, scalar(key, item));
      }
    } else {
      search.append(name, scalar(key, value as QueryScalar));
    }
  }
  return search.toString();
}
