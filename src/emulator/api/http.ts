/**
 * Small HTTP helpers for the emulated API: answers, strict query parsing (movingimage's
 * conventions: snake_case keys, booleans as the strings `true`/`false`, repeated keys for
 * several values) and JSON bodies that never turn into a 500.
 */
import { ApiError, badRequest } from './errors.js';

/** A JSON answer. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/** An answer without a body (`204`, or the `200`/`201` answers movingimage sends empty). */
export function empty(status: number, headers: Record<string, string> = {}): Response {
  return new Response(null, { status, headers });
}

/** The JSON error answer for an `ApiError`. */
export function errorResponse(error: ApiError): Response {
  const body: { message: string; code?: number | string } = { message: error.message };
  if (error.code !== undefined) body.code = error.code;
  return json(error.status, body, error.headers);
}

/** Query parameters, read the strict way the real API documents them. */
export class Query {
  readonly #params: URLSearchParams;
  constructor(params: URLSearchParams) {
    this.#params = params;
  }

  /** The single value of `name`; `400` when the key repeats. */
  string(name: string): string | undefined {
    const values = this.#params.getAll(name);
    if (values.length > 1) {
      throw badRequest(`Query parameter "${name}" was given ${values.length} times; give it once.`);
    }
    return values[0];
  }

  /** Every value of a repeatable key (`channel_id=1&channel_id=2`). */
  strings(name: string): string[] {
    return this.#params.getAll(name);
  }

  /** A boolean sent as the string `true` or `false`; anything else is a `400`. */
  boolean(name: string, fallback: boolean): boolean {
    const value = this.string(name);
    if (value === undefined) return fallback;
    if (value === 'true') return true;
    if (value === 'false') return false;
    throw badRequest(
      `Query parameter "${name}" must be the string "true" or "false" (got "${clip(value)}"). ` +
        'VideoManager Pro reads booleans only in that form.',
    );
  }

  /** A whole number within `[min, max]`; `400` otherwise. */
  integer(name: string, options: { min?: number; max?: number } = {}): number | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    return parseInteger(value, `Query parameter "${name}"`, options);
  }

  /** Every value of a repeatable whole-number key. */
  integers(name: string, options: { min?: number } = {}): number[] {
    return this.strings(name).map((value) => parseInteger(value, `Query parameter "${name}"`, options));
  }

  /** One of `allowed` (compared case-insensitively), or `fallback` when absent. */
  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.string(name);
    if (value === undefined) return fallback;
    const found = allowed.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
    if (found === undefined) {
      throw badRequest(
        `Query parameter "${name}" must be one of ${allowed.join(', ')} (got "${clip(value)}").`,
      );
    }
    return found;
  }
}

/** Parses a whole decimal number (no sign, no exponent, no spaces). */
export function parseInteger(
  value: string,
  what: string,
  options: { min?: number; max?: number } = {},
): number {
  const number = /^-?\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number))
    throw badRequest(`${what} must be a whole number (got "${clip(value)}").`);
  if (options.min !== undefined && number < options.min) {
    throw badRequest(`${what} must be at least ${options.min} (got ${number}).`);
  }
  if (options.max !== undefined && number > options.max) {
    throw badRequest(`${what} must be at most ${options.max} (got ${number}).`);
  }
  return number;
}

const MAX_JSON_BYTES = 1024 * 1024;

/**
 * Reads a JSON object body. `400` for a missing or wrong `Content-Type`, an empty or malformed
 * body, or JSON that is not an object; `413` above 1 MiB.
 */
export async function readJsonObject(request: Request): Promise<Record<string, unknown>> {
  const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) {
    throw badRequest(
      `This endpoint takes a JSON body: send "Content-Type: application/json" (got ${type ? `"${clip(type)}"` : 'none'}).`,
    );
  }
  const text = new TextDecoder().decode(await readBytes(request, MAX_JSON_BYTES));
  if (text.trim() === '') throw badRequest('The request body is empty; this endpoint takes a JSON object.');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest('The request body is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('The request body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}

/** The body's bytes, `413` beyond `limit`. */
async function readBytes(request: Request, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  await forEachChunk(request, limit, (chunk) => {
    chunks.push(chunk);
    size += chunk.byteLength;
  });
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** Counts the body's bytes without keeping them; `413` beyond `limit`. */
export async function countBytes(request: Request, limit: number): Promise<number> {
  let size = 0;
  await forEachChunk(request, limit, (chunk) => {
    size += chunk.byteLength;
  });
  return size;
}

async function forEachChunk(request: Request, limit: number, onChunk: (chunk: Uint8Array) => void) {
  if (request.body === null) return;
  const reader = request.body.getReader();
  let size = 0;
  for (;;) {
    let result: ReadableStreamReadResult<Uint8Array>;
    try {
      result = await reader.read();
    } catch {
      throw badRequest('The request body could not be read to the end.');
    }
    if (result.done) return;
    size += result.value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new ApiError(413, `The request body is larger than ${limit} bytes.`);
    }
    onChunk(result.value);
  }
}

/** The fields of a JSON body, read with their types checked; messages name the field. */
export class Body {
  readonly #value: Record<string, unknown>;
  constructor(value: Record<string, unknown>) {
    this.#value = value;
  }

  has(name: string): boolean {
    return Object.hasOwn(this.#value, name);
  }

  keys(): string[] {
    return Object.keys(this.#value);
  }

  raw(name: string): unknown {
    return this.#value[name];
  }

  /** Rejects fields outside `known` so typos do not pass silently. */
  onlyKeys(known: readonly string[]): void {
    const unknown = this.keys().filter((key) => !known.includes(key));
    if (unknown.length > 0) {
      throw badRequest(
        `Unknown field(s) in the request body: ${unknown.join(', ')}. Known: ${known.join(', ')}.`,
      );
    }
  }

  string(name: string, options: { required?: boolean; nonEmpty?: boolean } = {}): string | undefined {
    const value = this.#value[name];
    if (value === undefined) {
      if (options.required) throw badRequest(`Field "${name}" is required.`);
      return undefined;
    }
    if (typeof value !== 'string') throw badRequest(`Field "${name}" must be a string.`);
    if (options.nonEmpty && value.trim() === '') throw badRequest(`Field "${name}" must not be empty.`);
    return value;
  }

  /** A string or `null` (which clears the value). */
  nullableString(name: string): string | null | undefined {
    return this.#value[name] === null ? null : this.string(name);
  }

  boolean(name: string): boolean | undefined {
    const value = this.#value[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') throw badRequest(`Field "${name}" must be true or false.`);
    return value;
  }

  integer(name: string, options: { required?: boolean; min?: number } = {}): number | undefined {
    const value = this.#value[name];
    if (value === undefined || value === null) {
      if (options.required) throw badRequest(`Field "${name}" is required.`);
      return undefined;
    }
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      throw badRequest(`Field "${name}" must be a whole number.`);
    }
    if (options.min !== undefined && value < options.min) {
      throw badRequest(`Field "${name}" must be at least ${options.min}.`);
    }
    return value;
  }

  strings(name: string): string[] | undefined {
    const value = this.#value[name];
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
      throw badRequest(`Field "${name}" must be an array of strings.`);
    }
    return value as string[];
  }
}

/** Keeps echoed input short in messages. */
export function clip(value: string): string {
  return value.length > 60 ? `${value.slice(0, 57)}...` : value;
}
