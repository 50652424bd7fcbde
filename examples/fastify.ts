// A Fastify 5 app with the same routes as examples/express.ts.
import Fastify from 'fastify';
import { vmproFastify } from 'vmpro-connect/fastify';
import { createVmproAuth } from 'vmpro-connect/http';

const vmpro = vmproFastify(
  createVmproAuth({
    clientId: process.env.VMPRO_CLIENT_ID ?? 'vmpro-demo',
    clientSecret: process.env.VMPRO_CLIENT_SECRET,
    apiBase: process.env.VMPRO_API_BASE,
    redirectUri: 'http://localhost:3000/auth/callback',
    session: { secrets: process.env.VMPRO_SESSION_SECRET ?? '' },
  }),
);

const app = Fastify();
await app.register(vmpro.plugin);
app.setErrorHandler(vmpro.errorHandler());
app.get('/', { preHandler: vmpro.requireLogin() }, async (request) => ({
  user: await request.vmpro.user(),
  vms: await request.vmpro.api.vms.list(),
}));
await app.listen({ port: 3000, host: '127.0.0.1' });
