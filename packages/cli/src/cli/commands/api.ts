/** `vmpro api <method> <path>`: one VideoManager Pro API call with the stored login. */
import { readFile } from 'node:fs/promises';
import { createVmproApiClient } from 'vmpro-connect/api';
import { type CliContext, say } from '../context.js';
import { guard, UsageError } from '../errors.js';
import { CliSession } from '../session.js';

export interface ApiOptions {
  /** `key=value` pairs, sent as given (a key may repeat: `channel_id=1 channel_id=2`). */
  query?: string[];
  /** A JSON body, or `@file` to read it from a file. */
  data?: string;
}

const METHOD = /^[A-Za-z]+$/;

/** Parses `--query k=v …` into URL search parameters, keeping repeated keys. */
export function parseQuery(pairs: readonly string[]): URLSearchParams {
  const params = new URLSearchParams();
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--query "${pair}" is not of the form key=value`, 'api');
    params.append(pair.slice(0, at), pair.slice(at + 1));
  }
  return params;
}

/** Reads `--data`: inline JSON or `@file`. */
export async function parseData(data: string): Promise<unknown> {
  let text = data;
  if (data.startsWith('@')) {
    const file = data.slice(1);
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new UsageError(
        `--data ${data}: cannot read ${file} (${(error as NodeJS.ErrnoException).code})`,
        'api',
      );
    }
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--data is not valid JSON (${(error as Error).message})`, 'api');
  }
}

const looksLikePath = (value: string) => value.startsWith('/') || /^https?:/i.test(value);

/** `/v1/vms` for `/v1/vms` or `https://api.video-cdn.net/v1/vms` (the path is below the API base). */
function pathOf(value: string): string {
  if (value.startsWith('/')) return value;
  try {
    const url = new URL(value);
    return `${url.pathname}${url.search}`;
  } catch {
    return '/v1/vms';
  }
}

/**
 * Checks `<method> <path>` and returns the path. A path in the method's place (`vmpro api
 * /v1/vms`, the way curl is used) gets the command line it probably meant.
 */
function checkArguments(method: string, path: string | undefined): string {
  if (looksLikePath(method)) {
    const meant = path !== undefined && METHOD.test(path) ? path.toUpperCase() : 'GET';
    throw new UsageError(
      `the method comes first, then the path; did you mean: vmpro api ${meant} ${pathOf(method)}`,
      'api',
    );
  }
  if (!METHOD.test(method))
    throw new UsageError(`"${method}" is not an HTTP method (GET, POST, PATCH, …)`, 'api');
  if (path === undefined) {
    throw new UsageError(
      `missing the path after the method, relative to the API base; e.g. vmpro api ${method.toUpperCase()} /v1/vms`,
      'api',
    );
  }
  if (!path.startsWith('/')) {
    throw new UsageError(
      `the path must start with "/", relative to the API base (e.g. /v1/vms), got "${path}"${
        looksLikePath(path) ? `; did you mean: vmpro api ${method.toUpperCase()} ${pathOf(path)}` : ''
      }`,
      'api',
    );
  }
  return path;
}

const STATUS_TEXT: Record<number, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content' };

/**
 * Calls the API with the stored login (refreshing as needed) and prints the JSON answer, or the
 * status and `Location` for answers without a body. Returns the exit code.
 *
 * @example
 * ```ts
 * await api('GET', '/v1/vms', {}, { env: process.env, stdout: process.stdout, stderr: process.stderr });
 * ```
 */
export function api(
  method: string,
  path: string | undefined,
  options: ApiOptions,
  ctx: CliContext,
): Promise<number> {
  return guard(ctx, async () => {
    path = checkArguments(method, path);
    const query = parseQuery(options.query ?? []);
    const json = options.data === undefined ? undefined : await parseData(options.data);

    const session = await CliSession.load(ctx);
    const client = createVmproApiClient({
      baseUrl: session.login.apiBase,
      tokenSource: session.tokenSource(),
      userAgent: 'vmpro-cli',
      ...(ctx.fetch !== undefined && { fetch: ctx.fetch }),
    });
    const response = await client.send<unknown>(method.toUpperCase(), path, {
      ...(query.size > 0 && { query }),
      ...(json !== undefined && { json }),
      ...(ctx.signal !== undefined && { signal: ctx.signal }),
    });
    const location = response.headers.get('location');
    if (response.data === undefined || response.status === 201 || response.status === 204) {
      say(ctx.stdout, `${response.status} ${STATUS_TEXT[response.status] ?? ''}`.trimEnd());
      if (location) say(ctx.stdout, `Location: ${location}`);
      if (response.data !== undefined) say(ctx.stdout, format(response.data));
      return 0;
    }
    say(ctx.stdout, format(response.data));
    return 0;
  });
}

function format(data: unknown): string {
  return typeof data === 'string' ? data : JSON.stringify(data, null, 2);
}
