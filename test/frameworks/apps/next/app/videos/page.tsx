import { vmpro } from '@/lib/vmpro';
import { countVideoManagers } from './actions';

export default async function Videos({ searchParams }: { searchParams: Promise<{ counted?: string }> }) {
  const { user, api, accessTokenExpiresAt } = await vmpro.requireLogin({ returnTo: '/videos' });
  const vms = await api.vms.list();
  const { counted } = await searchParams;
  return (
    <main>
      <h1 id="user">{user.name}</h1>
      <ul id="vms">
        {vms.map((vm) => (
          <li key={vm.id}>{vm.name}</li>
        ))}
      </ul>
      <p>
        Access token until <time id="access-expires">{accessTokenExpiresAt?.toISOString()}</time>
      </p>
      <form action={countVideoManagers}>
        <button id="count" type="submit">
          Count them in a server action
        </button>
      </form>
      {counted && <p id="counted">The server action counted {counted} VideoManagers.</p>}
      <form method="post" action="/auth/logout">
        <button id="sign-out" type="submit">
          Sign out
        </button>
      </form>
    </main>
  );
}
