// A route handler for API calls: 401 JSON without a session, vmpro-connect errors as clear statuses.
import { vmpro } from '@/lib/vmpro';

export const GET = vmpro.route(
  async (_request, session) => Response.json(await session!.api.vms.list()),
  { requireLogin: true },
);
