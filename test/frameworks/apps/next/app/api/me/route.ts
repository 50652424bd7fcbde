// A plain route handler using auth() (next/headers): the same session as the pages see.
import { vmpro } from '@/lib/vmpro';

export async function GET() {
  const session = await vmpro.auth();
  if (!session) return Response.json({ error: 'VMPRO_NOT_AUTHENTICATED' }, { status: 401 });
  return Response.json({ sub: session.user.sub, name: session.user.name ?? null });
}
