// A backend job with no browser: movingimage's "anonymous" scenario (password grant).
import { createOidcClient, createServiceAccount } from 'vmpro-connect';
import { createVmproApiClient } from 'vmpro-connect/api';

const anonymous = await createOidcClient({ clientId: 'anonymous', apiBase: process.env.VMPRO_API_BASE });
const account = createServiceAccount({
  client: anonymous,
  username: process.env.VMPRO_USERNAME ?? 'demo',
  password: process.env.VMPRO_PASSWORD ?? 'demo',
});
const api = createVmproApiClient({ baseUrl: process.env.VMPRO_API_BASE, tokenSource: account });

for (const vm of await api.vms.list()) {
  let count = 0;
  for await (const _video of api.videos.iterate(vm.id)) count++;
  console.log(`${vm.name}: ${count} videos`);
}
await account.logout();
