/**
 * `vmpro-connect/next/errors`: for a Next.js `error.tsx` (a client component). Safe in the
 * browser: it imports nothing.
 *
 * In production Next.js hides the message of every error thrown in a server component and passes
 * only its `digest` to the error boundary. vmpro-connect's `auth()`, `requireLogin()` and the API
 * client they hand out stamp their errors with a digest that carries the error's code, HTTP status
 * and message (never a token, code or secret), and {@link vmproErrorInfo} reads it back.
 *
 * @example
 * ```tsx
 * // app/error.tsx
 * 'use client';
 * import { vmproErrorInfo } from 'vmpro-connect/next/errors';
 *
 * export default function ErrorPage({ error }: { error: Error & { digest?: string } }) {
 *   const info = vmproErrorInfo(error);
 *   if (!info) return <h1>Something went wrong</h1>;
 *   return (
 *     <main>
 *       <h1>{info.title}</h1>
 *       <p>{info.message}</p>
 *       <p><small>Error code: <code>{info.code}</code></small></p>
 *       {info.signIn && <a href="/auth/login">Sign in again</a>}
 *     </main>
 *   );
 * }
 * ```
 */
import { decodeDigest, type VmproErrorDigest } from './next-shared.js';

export type { VmproErrorDigest } from './next-shared.js';

/** {@link VmproErrorDigest} plus what a page should say about it. */
export interface VmproErrorInfo extends VmproErrorDigest {
  /** A short title for the page ("The video service is not reachable right now"…). */
  title: string;
  /** True when signing in again is the way out (the sign-in has ended). */
  signIn: boolean;
}

function titleFor(status: number): string {
  if (status === 401) return 'Your sign-in has ended';
  if (status === 403) return 'Not allowed';
  if (status === 502 || status === 503 || status === 504)
    return 'VideoManager Pro or the sign-in service is not reachable right now';
  if (status >= 400 && status < 500) return 'The request could not be completed';
  return 'Something went wrong in the app';
}

/**
 * What a vmpro-connect error thrown in a server component was, from the error an `error.tsx`
 * receives (or its `digest`); `null` for any other error.
 *
 * @example
 * ```ts
 * const info = vmproErrorInfo(error);
 * if (info?.status === 503) console.log(`try again in ${info.retryAfter ?? 5} s`);
 * ```
 */
export function vmproErrorInfo(
  error: { digest?: string | undefined } | string | null | undefined,
): VmproErrorInfo | null {
  const digest = typeof error === 'string' ? error : error?.digest;
  const decoded = decodeDigest(digest);
  if (!decoded) return null;
  return { ...decoded, title: titleFor(decoded.status), signIn: decoded.status === 401 };
}
