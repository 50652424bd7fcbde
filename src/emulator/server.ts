/**
 * A thin `node:http` wrapper around a fetch-style handler: `IncomingMessage` → Web `Request`,
 * Web `Response` → `ServerResponse`. A handler signals "drop the connection" by throwing
 * {@link EmulatorConnectionReset} (or answering `Response.error()`); the socket is then destroyed
 * so the client sees a connection reset.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EmulatorConnectionReset } from './api/errors.js';

/** A fetch-style request handler. */
export type FetchHandler = (request: Request) => Promise<Response>;

/** Where to listen. */
export interface ServeOptions {
  /** Default `127.0.0.1`. */
  host?: string | undefined;
  /** Default `0` (any free port). */
  port?: number | undefined;
}

/** A handler listening on a socket. */
export interface ServedHandler {
  readonly server: Server;
  /** The port actually bound. */
  readonly port: number;
  /** `http://HOST:PORT` (loopback when listening on every interface). */
  readonly url: string;
  /** Stops listening and closes every connection, idle keep-alive ones included. */
  close(): Promise<void>;
}

/** True for the signals that mean "drop the connection without an answer". */
export function isConnectionReset(error: unknown): boolean {
  return (
    error instanceof EmulatorConnectionReset ||
    (error instanceof Error && error.name === 'EmulatorConnectionReset')
  );
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/** Turns a node request into a Web `Request` below `origin` (the Host header is not trusted). */
async function toWebRequest(req: IncomingMessage, origin: string, signal: AbortSignal): Promise<Request> {
  const raw = req.url ?? '/';
  let pathAndQuery = raw;
  if (!raw.startsWith('/')) {
    // absolute-form (`GET http://host/path`): keep only the path and query.
    const parsed = URL.canParse(raw) ? new URL(raw) : null;
    pathAndQuery = parsed ? `${parsed.pathname}${parsed.search}` : '/';
  }
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    if (name.startsWith(':')) continue;
    try {
      headers.append(name, req.rawHeaders[i + 1]!);
    } catch {
      // A header value the Fetch API refuses is dropped rather than failing the request.
    }
  }
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const body = hasBody ? await readBody(req) : undefined;
  return new Request(new URL(pathAndQuery, origin), {
    method,
    headers,
    signal,
    ...(body && body.length > 0 ? { body: new Uint8Array(body) } : {}),
  });
}

async function writeWebResponse(res: ServerResponse, response: Response, isHead: boolean): Promise<void> {
  res.statusCode = response.status;
  if (response.statusText) res.statusMessage = response.statusText;
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie') res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  if (!response.body || isHead) {
    await response.body?.cancel().catch(() => undefined);
    res.end();
    return;
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) return;
      if (!res.write(value)) await once(res, 'drain');
    }
    res.end();
  } finally {
    reader.releaseLock();
  }
}

function internalError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
  res.statusCode = 500;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ error: 'server_error', message: `The emulator failed: ${message}` }));
}

/**
 * Serves `handle` over HTTP/1.1.
 *
 * @param origin the public origin requests are addressed to (`http://127.0.0.1:PORT`); read per request.
 *   When absent, `http://HOST:PORT` of the bound socket is used.
 * @example
 * ```ts
 * const served = await serveFetchHandler(async () => new Response('hi'), { port: 0 });
 * console.log(served.url);
 * await served.close();
 * ```
 */
export async function serveFetchHandler(
  handle: FetchHandler,
  options: ServeOptions = {},
  origin?: () => string,
): Promise<ServedHandler> {
  const host = options.host ?? '127.0.0.1';
  let boundUrl = '';
  const originOf = origin ?? (() => boundUrl);

  const server = createServer((req, res) => {
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    void (async () => {
      let response: Response;
      try {
        response = await handle(await toWebRequest(req, originOf(), controller.signal));
      } catch (error) {
        if (isConnectionReset(error) || controller.signal.aborted) {
          req.socket.destroy();
          return;
        }
        internalError(res, error);
        return;
      }
      if (response.type === 'error') {
        req.socket.destroy();
        return;
      }
      try {
        await writeWebResponse(res, response, req.method === 'HEAD');
      } catch {
        res.destroy();
      }
    })();
  });

  server.listen(options.port ?? 0, host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const shownHost =
    host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  boundUrl = `http://${shownHost}:${port}`;

  return {
    server,
    port,
    url: boundUrl,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
