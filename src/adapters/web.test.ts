import { Hono } from 'hono';
import { afterAll, describe, expect, it } from 'vitest';
import { VmproError } from '../errors.js';
import { createVmproAuth } from '../http/index.js';
import { vmproWeb } from './web.js';

const auth = createVmproAuth({
  issuer: 'http://127.0.0.1:9/auth/realms/platform',
  clientId: 'app',
  clientSecret: 'app-secret',
  redirectUri: 'http://127.0.0.1:3000/auth/callback',
  session: { secrets: ['web-adapter-test-secret-0123456789abcdef'] },
});
afterAll(() => auth.close());

describe('web adapter: honoHandler', () => {
  const vmpro = vmproWeb(auth);
  const app = new Hono();
  app.get(
    '/sync',
    vmpro.honoHandler(() => new Response('sync')),
  );
  app.get(
    '/async',
    vmpro.honoHandler(async (_c, ctx) => Response.json({ session: await ctx.session() })),
  );
  app.get(
    '/throws',
    vmpro.honoHandler(() => {
      throw new VmproError('VMPRO_NOT_AUTHENTICATED', 'Not signed in.');
    }),
  );
  app.get(
    '/rejects',
    vmpro.honoHandler(async () => {
      throw new VmproError('VMPRO_NOT_AUTHENTICATED', 'Not signed in.');
    }),
  );

  it('answers a synchronous handler synchronously', () => {
    const answer = app.fetch(new Request('http://127.0.0.1:3000/sync'));
    expect(answer).toBeInstanceOf(Response);
    expect((answer as Response).status).toBe(200);
  });

  it('waits for an async handler and gives it the vmpro context', async () => {
    const r = await app.fetch(new Request('http://127.0.0.1:3000/async'));
    expect(await r.json()).toEqual({ session: null });
  });

  it('turns thrown and rejected vmpro errors into their status and message', async () => {
    for (const path of ['/throws', '/rejects']) {
      const r = await app.fetch(
        new Request(`http://127.0.0.1:3000${path}`, {
          headers: { accept: 'application/json' },
        }),
      );
      expect(r.status).toBe(401);
      expect(await r.json()).toMatchObject({ error: 'VMPRO_NOT_AUTHENTICATED' });
    }
  });
});
