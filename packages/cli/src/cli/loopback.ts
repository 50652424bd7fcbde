/**
 * The loopback HTTP server `vmpro login` waits on for the login server's redirect (RFC 8252 §7.3):
 * it listens on a loopback address only, answers one callback, and closes.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { escapeHtml } from '../html.js';

/** The browser's request to the callback path, and a way to answer it once the login is done. */
export interface ReceivedCallback {
  /** The full callback URL as the browser sent it (`http://127.0.0.1:PORT/callback?code=…`). */
  url: URL;
  /** Answers the browser with a small page and closes the server. */
  respond(result: { ok: true } | { ok: false; lines: string[] }): Promise<void>;
}

export interface LoopbackServer {
  /** The redirect URI to register and to send: `http://127.0.0.1:PORT/callback` unless given. */
  redirectUri: string;
  /** Resolves with the first request to the callback path. */
  callback: Promise<ReceivedCallback>;
  close(): Promise<void>;
}

function page(title: string, lines: string[]): string {
  const body = lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}</style>
</head><body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>
`;
}

function send(res: ServerResponse, status: number, html: string): Promise<void> {
  return new Promise((resolve) => {
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
      connection: 'close',
    });
    res.end(html, () => resolve());
  });
}

/** The address to listen on for a loopback redirect URI's host. */
function listenHost(hostname: string): string {
  if (hostname === '[::1]') return '::1';
  // Browsers try 127.0.0.1 for `localhost` when ::1 refuses; 127.0.0.1 is the safe choice.
  if (hostname === 'localhost') return '127.0.0.1';
  return hostname;
}

/**
 * Starts listening. `redirectUri` must be a loopback `http://` URL (checked by the caller); its
 * port `0` (or none given with `port`) picks a free port.
 */
export async function startLoopback(options: {
  redirectUri?: string;
  port?: number;
}): Promise<LoopbackServer> {
  const target = new URL(options.redirectUri ?? `http://127.0.0.1:${options.port ?? 0}/callback`);
  let resolveCallback!: (value: ReceivedCallback) => void;
  const callback = new Promise<ReceivedCallback>((resolve) => {
    resolveCallback = resolve;
  });
  let answered = false;

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? target.host}`);
    if (req.method !== 'GET' || url.pathname !== target.pathname) {
      void send(
        res,
        404,
        page('Not found', ['This is the sign-in callback of the vmpro command; nothing else lives here.']),
      );
      return;
    }
    if (answered) {
      void send(
        res,
        409,
        page('Already used', ['This sign-in has already finished. Look at your terminal.']),
      );
      return;
    }
    answered = true;
    // Keep the original redirect URI's host so the callback URL matches what was sent.
    const received = new URL(`${url.pathname}${url.search}`, target);
    resolveCallback({
      url: received,
      respond: async (result) => {
        if (result.ok) {
          await send(res, 200, page('You are signed in', ['You are signed in; you can close this tab.']));
        } else {
          await send(
            res,
            400,
            page('Sign-in failed', [...result.lines, 'Look at your terminal for details.']),
          );
        }
      },
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(target.port || 80), listenHost(target.hostname), () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  if (target.port === '0' || target.port === '') target.port = String(port);

  return {
    redirectUri: target.href,
    callback,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
