// A Koa app built as a user builds one: the packed vmpro-connect from its tarball, compiled by
// its own tsc (the build is the type test: `ctx.vmpro` is typed from the package's augmentation
// of Koa's context, no casts). apps/koa2/src/main.ts is the same file, run on Koa 2.
import Koa from 'koa';
import { vmproKoa } from 'vmpro-connect/koa';
import { createVmproAuth } from 'vmpro-connect/http';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const vmpro = vmproKoa(
  createVmproAuth({
    clientId: env('VMPRO_CLIENT_ID'),
    clientSecret: env('VMPRO_CLIENT_SECRET'),
    apiBase: env('VMPRO_API_BASE'),
    issuer: env('VMPRO_ISSUER'),
    redirectUri: env('VMPRO_REDIRECT_URI'),
    session: {
      secrets: env('VMPRO_SESSION_SECRET'),
      refreshMarginSec: Number(process.env.VMPRO_REFRESH_MARGIN_SEC ?? 30),
    },
  }),
);

const app = new Koa();
app.use(vmpro.errorHandler());
app.use(vmpro.middleware());

// Open to everyone (ctx.vmpro is set; there may be no session).
app.use(async (ctx, next) => {
  if (ctx.path === '/healthz') {
    ctx.body = 'ok';
  } else if (ctx.path === '/') {
    const user = await ctx.vmpro.user();
    ctx.type = 'html';
    ctx.body = user
      ? `<p>Signed in as <span id="user-name">${escape(user.name ?? user.sub)}</span>. <a href="/videos">Videos</a></p>`
      : '<p id="signed-out">Not signed in. <a id="sign-in" href="/auth/login?returnTo=/videos">Sign in</a></p>';
  } else {
    await next();
  }
});

// Everything below needs a session.
app.use(vmpro.requireLogin());
app.use(async (ctx) => {
  if (ctx.path === '/videos') {
    const session = await ctx.vmpro.requireSession();
    const vms = await ctx.vmpro.api.vms.list();
    ctx.type = 'html';
    ctx.body =
      `<h1>Videos</h1><p>Signed in as <span id="user-name">${escape(session.user.name ?? session.user.sub)}</span></p>` +
      `<ul id="vms">${vms.map((vm) => `<li>${escape(vm.name)}</li>`).join('')}</ul>` +
      '<form method="post" action="/auth/logout"><button id="sign-out" type="submit">Sign out</button></form>';
  } else if (ctx.path === '/api/vms') {
    ctx.body = await ctx.vmpro.api.vms.list();
  } else if (ctx.path === '/missing-video') {
    // The API's 404 for a video that does not exist: errorHandler() keeps it a 404.
    const [vm] = await ctx.vmpro.api.vms.list();
    ctx.body = await ctx.vmpro.api.videos.get(vm?.id ?? 0, 'no-such-video');
  } else {
    ctx.throw(404, 'No such page.');
  }
});

const port = Number(env('PORT'));
app.listen(port, '127.0.0.1', () => console.log(`koa app on http://127.0.0.1:${port}/`));

// The build is the type test: `ctx.vmpro` is a VmproContext (the package's augmentation of
// Koa's context), not `any`, or this directive would itself be the error.
// @ts-expect-error -- a VmproContext has no such member
export const typed = (ctx: Koa.Context) => ctx.vmpro.noSuchMember;
