// The one place the auth instance is configured. Next.js may evaluate this module once per
// layer (route handlers, server components); vmproNext keeps a single instance per process, and
// builds it on the first request, so `next build` runs without any of these variables.
import { vmproNext } from 'vmpro-connect/next';
import { cookieStore, memoryStore } from 'vmpro-connect/session';

export const vmpro = vmproNext(() => ({
  clientId: process.env.VMPRO_CLIENT_ID!,
  clientSecret: process.env.VMPRO_CLIENT_SECRET,
  apiBase: process.env.VMPRO_API_BASE,
  issuer: process.env.VMPRO_ISSUER,
  redirectUri: process.env.VMPRO_REDIRECT_URI!,
  session: {
    secrets: process.env.VMPRO_SESSION_SECRET!,
    store: process.env.VMPRO_SESSION_STORE === 'cookie' ? cookieStore() : memoryStore(),
  },
}));
