// Next.js (App Router) with vmpro-connect/next. Split across the files named in the comments;
// docs/frameworks.md ("Next.js") has the whole setup, test/frameworks/apps/next a working app.

// lib/vmpro.ts — the one place the configuration lives. The function runs on the first request,
// not at import (so `next build` needs no secrets), and every copy of this module that Next.js
// evaluates (route handlers, server components) shares one instance.
import { vmproNext } from 'vmpro-connect/next';

export const vmpro = vmproNext(() => ({
  clientId: process.env.VMPRO_CLIENT_ID ?? 'vmpro-demo',
  clientSecret: process.env.VMPRO_CLIENT_SECRET,
  redirectUri: 'https://portal.example.com/auth/callback',
  session: { secrets: process.env.VMPRO_SESSION_SECRET ?? '' },
}));

// app/auth/[...vmpro]/route.ts — ONE catch-all: login and callback (GET), logout and
// back-channel logout (POST), and the refresh route for cookie-store sessions.
export const { GET, POST } = vmpro.handlers;

// app/api/vms/route.ts — `export const GET = vmpro.route(...)`: 401 JSON without a session,
// vmpro-connect errors as 502/503/504 with a clear message.
export const listVideoManagers = vmpro.route(
  async (_request, session) => Response.json(await session!.api.vms.list()),
  { requireLogin: true },
);

// app/videos/page.tsx — in a server component: redirects to login without a session.
export async function videoManagerNames(): Promise<string[]> {
  const { api } = await vmpro.requireLogin({ returnTo: '/videos' });
  return (await api.vms.list()).map((vm) => vm.name);
}
