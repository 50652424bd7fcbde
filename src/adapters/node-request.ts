import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { RequestLike } from '../http/index.js';

/**
 * Builds a Web `Request` from a Node request for the auth handlers. The URL's origin comes from
 * configuration (`appOrigin`), never from `Host` or `X-Forwarded-*`. `parsedBody` is what a body
 * parser already read (an object from `express.urlencoded()`, a string, or a Buffer); without it
 * the raw stream is read, at most `limit` bytes.
 */
export async function toWebRequest(
  req: IncomingMessage,
  appOrigin: string,
  path: string,
  options: { readBody: boolean; parsedBody?: unknown; limit?: number },
): Promise<Request> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  const method = (req.method ?? 'GET').toUpperCase();
  const init: RequestInit = { method, headers };
  if (options.readBody && method !== 'GET' && method !== 'HEAD') {
    init.body = await bodyOf(req, options.parsedBody, options.limit ?? 64 * 1024);
    headers.delete('content-length');
    headers.delete('transfer-encoding');
  }
  return new Request(new URL(path, appOrigin), init);
}

async function bodyOf(req: IncomingMessage, parsed: unknown, limit: number): Promise<string> {
  if (typeof parsed === 'string') return parsed;
  if (parsed instanceof Uint8Array) return Buffer.from(parsed).toString('utf8');
  if (parsed && typeof parsed === 'object' && Object.keys(parsed).length > 0) {
    // A body parser got here first: re-encode its fields (form bodies are all this layer reads).
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
      for (const item of Array.isArray(v) ? v : [v]) params.append(k, String(item));
    }
    return params.toString();
  }
  if (req.readableEnded) return '';
  const chunks: Buffer[] = [];
  // Read at most limit + one chunk.
  let size = 0;
  for await (const chunk of req) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    chunks.push(buf);
    // Past the limit: stop reading; the handler sees an over-long body and refuses it.
    if (size > limit) break;
  }
  // Form bodies are URL-encoded ASCII; the auth routes read nothing else.
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A {@link RequestLike} over a Node header map: what session lookups read, without building a Web
 * `Request` or `Headers` (this runs on every request, so it is one small object).
 */
class NodeRequestLike implements RequestLike {
  readonly url: string;
  readonly method: string;
  readonly #headers: IncomingHttpHeaders;

  constructor(url: string, method: string, headers: IncomingHttpHeaders) {
    this.url = url;
    this.method = method;
    this.#headers = headers;
  }

  get headers(): { get(name: string): string | null } {
    return this;
  }

  get(name: string): string | null {
    return nodeHeader(this.#headers, name);
  }
}

/** One header of a Node header map as `Headers.get` would give it (repeated values joined). */
export function nodeHeader(headers: IncomingHttpHeaders, name: string): string | null {
  const value = headers[name.toLowerCase()];
  return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
}

export function nodeRequestLike(url: string, method: string, headers: IncomingHttpHeaders): RequestLike {
  return new NodeRequestLike(url, method, headers);
}
