/**
 * A type test, compiled by tsc (the repository's `npm run typecheck` against the sources, and
 * test/package/pack.test.ts against the installed package): `req.vmpro` (Express), `request.vmpro`
 * (Fastify) and `ctx.vmpro` (Koa) are typed by the adapters' module augmentation, without casts.
 * Each `@ts-expect-error` proves the property is a `VmproContext`, not `any` (with `any` the
 * directive itself would be the error). Express 4's types are checked by the Express 4 app's own
 * build (test/frameworks/apps/express4, @types/express 4).
 */
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import type { VmproApiClient } from 'vmpro-connect/api';
import { vmproExpress } from 'vmpro-connect/express';
import { vmproFastify } from 'vmpro-connect/fastify';
import type { createVmproAuth, VmproContext } from 'vmpro-connect/http';
import { vmproKoa } from 'vmpro-connect/koa';

declare const auth: ReturnType<typeof createVmproAuth>;

const expressApp = express();
const onExpress = vmproExpress(auth);
expressApp.get('/e', onExpress.requireLogin(), async (req, res) => {
  const context: VmproContext = req.vmpro;
  const api: VmproApiClient = req.vmpro.api;
  // @ts-expect-error -- typed: a VmproContext has no such member
  req.vmpro.noSuchMember;
  res.json({ user: await context.user(), vms: await api.vms.list() });
});
expressApp.get(
  '/e/:id',
  onExpress.handler(async (req, res) => {
    const id = req.params.id;
    res.json({ id, user: await req.vmpro.user() });
  }),
);

const fastifyApp = Fastify();
const onFastify = vmproFastify(auth);
fastifyApp.get('/f', { preHandler: onFastify.requireLogin() }, async (request) => {
  const context: VmproContext = request.vmpro;
  // @ts-expect-error -- typed: a VmproContext has no such member
  request.vmpro.noSuchMember;
  return context.user();
});

const koaApp = new Koa();
const onKoa = vmproKoa(auth);
koaApp.use(onKoa.errorHandler());
koaApp.use(onKoa.middleware());
koaApp.use(onKoa.requireLogin());
koaApp.use(async (ctx) => {
  const context: VmproContext = ctx.vmpro;
  // @ts-expect-error -- typed: a VmproContext has no such member
  ctx.vmpro.noSuchMember;
  ctx.body = await context.api.vms.list();
});

// A Koa app with its own state and context types keeps `ctx.vmpro` typed.
const typedKoa = new Koa<{ requestId: string }, { tenant: string }>();
typedKoa.use(async (ctx) => {
  const context: VmproContext = ctx.vmpro;
  ctx.body = { tenant: ctx.tenant, id: ctx.state.requestId, user: await context.user() };
});
