'use client';
import { vmproErrorInfo } from 'vmpro-connect/next/errors';

export default function ErrorPage({ error }: { error: Error & { digest?: string } }) {
  const info = vmproErrorInfo(error);
  if (!info) return <h1 id="error-title">Something went wrong</h1>;
  return (
    <main>
      <h1 id="error-title">{info.title}</h1>
      <p id="error-message">{info.message}</p>
      <p>
        Error code: <code id="error-code">{info.code}</code> (HTTP {info.status})
      </p>
      {info.signIn && <a href="/auth/login">Sign in again</a>}
    </main>
  );
}
