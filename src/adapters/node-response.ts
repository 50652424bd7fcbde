import type { ServerResponse } from 'node:http';

/** Writes a Web `Response` to a Node response (status, every header incl. several Set-Cookie, body). */
export async function sendWebResponse(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status;
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie') continue;
    res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) appendSetCookie(res, cookies);
  const body = response.body ? Buffer.from(await response.arrayBuffer()) : undefined;
  res.end(body);
}

/** Appends Set-Cookie values to a Node response without dropping ones already there. */
export function appendSetCookie(res: ServerResponse, cookies: string[]): void {
  const existing = res.getHeader('set-cookie');
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
  res.setHeader('set-cookie', [...list, ...cookies]);
}
