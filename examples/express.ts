// An Express 5 app that signs users in with VideoManager Pro and lists their videos.
// Run against the emulator: `npx vmpro emulator --port 4000`, then
// VMPRO_API_BASE=http://127.0.0.1:4000 VMPRO_CLIENT_ID=vmpro-demo VMPRO_CLIENT_SECRET=vmpro-demo-secret \
//   VMPRO_SESSION_SECRET=$(openssl rand -base64 32) npx tsx examples/express.ts
import express from 'express';
import { vmproExpress } from 'vmpro-connect/express';
import { createVmproAuth } from 'vmpro-connect/http';

const vmpro = vmproExpress(
  createVmproAuth({
    clientId: process.env.VMPRO_CLIENT_ID ?? 'vmpro-demo',
    clientSecret: process.env.VMPRO_CLIENT_SECRET,
    apiBase: process.env.VMPRO_API_BASE,
    redirectUri: 'http://localhost:3000/auth/callback',
    session: { secrets: process.env.VMPRO_SESSION_SECRET ?? '' },
  }),
);

const app = express();
app.use(vmpro.router());
app.get('/', vmpro.requireLogin(), async (req, res) => {
  const user = await req.vmpro.user();
  const vms = await req.vmpro.api.vms.list();
  const first = vms[0];
  const videos = first ? await req.vmpro.api.videos.list(first.id, { limit: 10 }) : { total: 0, videos: [] };
  res.json({ user, vms, videos: videos.videos.map((v) => v.title) });
});
app.use(vmpro.errorHandler());
app.listen(3000, '127.0.0.1');
