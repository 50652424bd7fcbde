// A Hono app on Node (the same code runs on Bun or Deno with their own server).
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createVmproAuth, type VmproContext } from 'vmpro-connect/http';
import { vmproWeb } from 'vmpro-connect/web';

const vmpro = vmproWeb(
  createVmproAuth({
    clientId: process.env.VMPRO_CLIENT_ID ?? 'vmpro-demo',
    clientSecret: process.env.VMPRO_CLIENT_SECRET,
    apiBase: process.env.VMPRO_API_BASE,
    redirectUri: 'http://localhost:3000/auth/callback',
    session: { secrets: process.env.VMPRO_SESSION_SECRET ?? '' },
  }),
);

const app = new Hono<{ Variables: { vmpro: VmproContext } }>();
app.use(vmpro.hono());
app.onError(vmpro.honoErrorHandler());
app.get('/', vmpro.honoRequireLogin(), async (c) => c.json(await c.get('vmpro').api.vms.list()));
serve({ fetch: app.fetch, port: 3000, hostname: '127.0.0.1' });
