// Runs on the Edge runtime: it only checks that the session cookie is there (the page checks the
// session itself). Next.js 16 also accepts this as proxy.ts with `export const proxy`.
import { vmproMiddleware } from 'vmpro-connect/next/middleware';

export const middleware = vmproMiddleware({ protect: ['/videos/:path*'] });

export const config = { matcher: ['/((?!_next/|favicon.ico|auth/).*)'] };
