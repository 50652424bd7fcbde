/** The node:http ↔ fetch bridge the emulator listens with. */
import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { EmulatorConnectionReset } from './api/errors.js';
import { type FetchHandler, type ServedHandler, serveFetchHandler } from './server.js';

let served: ServedHandler | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

async function serve(handler: FetchHandler, origin?: () => string): Promise<ServedHandler> {
  served = await serveFetchHandler(handler, { port: 0 }, origin);
  return served;
}

describe('serveFetchHandler', () => {
  it('listens on 127.0.0.1 by default', async () => {
    const s = await serve(async () => new Response('ok'));
    expect(s.url).toBe(`http://127.0.0.1:${s.port}`);
  });

  it('passes method, path, query, headers and body to the handler', async () => {
    let seen: { method: string; url: string; header: string | null; body: string } | undefined;
    const s = await serve(async (req) => {
      seen = { method: req.method, url: req.url, header: req.headers.get('x-test'), body: await req.text() };
      return new Response('done', { status: 201 });
    });
    const res = await fetch(`${s.url}/a/b?c=1`, {
      method: 'POST',
      headers: { 'x-test': 'yes' },
      body: 'hello',
    });
    expect(res.status).toBe(201);
    expect(await res.text()).toBe('done');
    expect(seen).toEqual({ method: 'POST', url: `${s.url}/a/b?c=1`, header: 'yes', body: 'hello' });
  });

  it('builds request URLs on the given origin, not on the Host header', async () => {
    let url = '';
    const s = await serve(
      async (req) => {
        url = req.url;
        return new Response(null, { status: 204 });
      },
      () => 'http://public.example:8080',
    );
    await fetch(`${s.url}/x`, { headers: { host: 'attacker.example' } });
    expect(url).toBe('http://public.example:8080/x');
  });

  it('writes every Set-Cookie header separately', async () => {
    const s = await serve(async () => {
      const headers = new Headers();
      headers.append('set-cookie', 'a=1; Path=/');
      headers.append('set-cookie', 'b=2; Path=/; HttpOnly');
      return new Response('ok', { headers });
    });
    const res = await fetch(s.url);
    expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; Path=/; HttpOnly']);
  });

  it('drops the connection when the handler throws EmulatorConnectionReset', async () => {
    const s = await serve(async () => {
      throw new EmulatorConnectionReset();
    });
    await expect(fetch(s.url)).rejects.toThrow();
  });

  it('drops the connection when the handler answers Response.error()', async () => {
    const s = await serve(async () => Response.error());
    await expect(fetch(s.url)).rejects.toThrow();
  });

  it('answers 500 JSON when the handler fails', async () => {
    const s = await serve(async () => {
      throw new Error('boom');
    });
    const res = await fetch(s.url);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: 'server_error' });
  });

  it('sends no body for HEAD', async () => {
    const s = await serve(async () => new Response('body', { headers: { 'content-length': '4' } }));
    const res = await fetch(s.url, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });

  it('close() also closes idle keep-alive connections', async () => {
    const s = await serve(async () => new Response('ok'));
    // A keep-alive connection that stays open after the answer.
    const agentResponse = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${s.url}/`, { headers: { connection: 'keep-alive' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
    expect(agentResponse).toBe(200);
    const openConnections = () =>
      new Promise<number>((resolve) => s.server.getConnections((_error, count) => resolve(count)));
    expect(await openConnections()).toBe(1);
    await s.close();
    served = undefined;
    expect(await openConnections()).toBe(0);
  });
});
