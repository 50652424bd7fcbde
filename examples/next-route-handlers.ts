// Next.js (App Router) route handlers. Put the auth instance in a module of its own, e.g. lib/vmpro.ts,
// and re-export these from app/auth/[...route]/route.ts and app/api/vms/route.ts.
import { createVmproAuth } from 'vmpro-connect/http';
import { vmproWeb } from 'vmpro-connect/web';

export const vmpro = vmproWeb(
  createVmproAuth({
    clientId: process.env.VMPRO_CLIENT_ID ?? 'vmpro-demo',
    clientSecret: process.env.VMPRO_CLIENT_SECRET,
    redirectUri: 'https://portal.example.com/auth/callback',
    session: { secrets: process.env.VMPRO_SESSION_SECRET ?? '' },
  }),
);

/** app/auth/[...route]/route.ts: `export { authRoute as GET, authRoute as POST }` */
export async function authRoute(request: Request): Promise<Response> {
  return (await vmpro.handle(request)) ?? new Response('Not found', { status: 404 });
}

/** app/api/vms/route.ts: `export { listVideoManagers as GET }` */
export const listVideoManagers = vmpro.requireLogin(async (_request, ctx) =>
  Response.json(await ctx.api.vms.list()),
);
