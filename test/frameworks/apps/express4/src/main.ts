// An Express 4 app, mounted under /portal, built as a user builds one: the packed vmpro-connect
// from its tarball, @types/express 4, compiled by its own tsc (the build is the type test:
// `req.vmpro` is typed from the package's augmentation, no casts).
import express from 'express';
import { isVmproError, VmproError } from 'vmpro-connect';
import { vmproExpress } from 'vmpro-connect/express';
import { createVmproAuth } from 'vmpro-connect/http';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// The configured routes are full paths (what the browser sees), so they include the mount point.
const vmpro = vmproExpress(
  createVmproAuth({
    clientId: env('VMPRO_CLIENT_ID'),
    clientSecret: env('VMPRO_CLIENT_SECRET'),
    apiBase: env('VMPRO_API_BASE'),
    issuer: env('VMPRO_ISSUER'),
    redirectUri: env('VMPRO_REDIRECT_URI'), // …/portal/auth/callback
    routes: {
      login: '/portal/auth/login',
      logout: '/portal/auth/logout',
      backchannelLogout: '/portal/auth/backchannel-logout',
    },
    session: {
      secrets: env('VMPRO_SESSION_SECRET'),
      refreshMarginSec: Number(process.env.VMPRO_REFRESH_MARGIN_SEC ?? 30),
    },
  }),
);

const portal = express.Router();
portal.use(vmpro.router());

portal.get('/healthz', (_req, res) => {
  res.type('text/plain').send('ok');
});

portal.get(
  '/',
  vmpro.handler(async (req, res) => {
    const user = await req.vmpro.user();
    res.type('html').send(
      user
        ? `<p>Signed in as <span id="user-name">${escape(user.name ?? user.sub)}</span>. <a href="/portal/videos">Videos</a></p>`
        : '<p id="signed-out">Not signed in. <a id="sign-in" href="/portal/auth/login?returnTo=/portal/videos">Sign in</a></p>',
    );
  }),
);

portal.get(
  '/videos',
  vmpro.requireLogin(),
  vmpro.handler(async (req, res) => {
    const session = await req.vmpro.requireSession();
    const vms = await req.vmpro.api.vms.list();
    res.type('html').send(
      `<h1>Videos</h1><p>Signed in as <span id="user-name">${escape(session.user.name ?? session.user.sub)}</span></p>` +
        `<ul id="vms">${vms.map((vm) => `<li>${escape(vm.name)}</li>`).join('')}</ul>` +
        '<form method="post" action="/portal/auth/logout"><button id="sign-out" type="submit">Sign out</button></form>',
    );
  }),
);

portal.get(
  '/api/vms',
  vmpro.requireLogin(),
  vmpro.handler(async (req, res) => {
    res.json(await req.vmpro.api.vms.list());
  }),
);

// An async route that throws after an await: on Express 4 an unwrapped rejection would be an
// unhandled rejection (the process ends); vmpro.handler() hands it to errorHandler() instead.
portal.get(
  '/boom',
  vmpro.handler(async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    throw new VmproError('VMPRO_UPSTREAM_UNAVAILABLE', 'The video service is down for maintenance.', {
      retryAfter: 30,
    });
  }),
);

// An API error from the VideoManager Pro API (a video that does not exist): its 404 stays a 404.
portal.get(
  '/missing-video',
  vmpro.requireLogin(),
  vmpro.handler(async (req) => {
    const [vm] = await req.vmpro.api.vms.list();
    await req.vmpro.api.videos.get(vm?.id ?? 0, 'no-such-video');
  }),
);

portal.use(vmpro.errorHandler());

const app = express();
app.use('/portal', portal);
// The login server's post-logout redirect lands on the origin.
app.get('/', (_req, res) => res.redirect('/portal/'));

process.on('unhandledRejection', (reason) => {
  console.error('unhandled rejection', isVmproError(reason) ? reason.code : reason);
  process.exit(70);
});

const port = Number(env('PORT'));
app.listen(port, '127.0.0.1', () => console.log(`express4 app on http://127.0.0.1:${port}/portal/`));

// The build is the type test: `req.vmpro` is a VmproContext (the package's augmentation of
// @types/express 4), not `any`, or this directive would itself be the error.
// @ts-expect-error -- a VmproContext has no such member
export const typed = (req: express.Request) => req.vmpro.noSuchMember;
