import { vmpro } from '@/lib/vmpro';

export default async function Home() {
  const session = await vmpro.auth();
  if (!session) {
    return (
      <main>
        <h1>Welcome</h1>
        <a id="sign-in" href="/auth/login?returnTo=/videos">
          Sign in with VideoManager Pro
        </a>
      </main>
    );
  }
  return (
    <main>
      <h1>Welcome, {session.user.name ?? session.user.sub}</h1>
      <a href="/videos">Your VideoManagers</a>
      <form method="post" action="/auth/logout">
        <button id="sign-out" type="submit">
          Sign out
        </button>
      </form>
    </main>
  );
}
